"""What the sshd lock-down writes, as text (pure): sshd drop-in, engineers' keys, firewall.

Who may log in: the ``support`` user with a key from the appliance's keys folder (one file
per engineer, ``NAME.pub``; the key's comment becomes NAME), publickey only, and only while
the support window is open: sshd reads the window's keys file (tunnel.window writes it from
the engineers' list: empty when closed, ``expiry-time`` when opened for a time). Each login is
journaled with its key fingerprint: ``LogLevel VERBOSE`` makes sshd log "Accepted publickey
for support ... ED25519 SHA256:...".

From where: the LAN, the support network (answers ``tunnel.support.network``) and the tunnel
(loopback: the reverse forward ends on the appliance's own sshd). Debian: an nftables table
of our own that drops every other connection to port 22. RHEL family: firewalld's public
zone without its blanket ssh service, with one rich rule per allowed network (firewalld
always accepts loopback).
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ET
from ipaddress import IPv4Network

from appliance.errors import ExpandError

SUPPORT_USER = "support"
SSH_PORT = 22
NFT_TABLE = "expand_sshd"
ENGINEER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# The types the support window (tunnel.window) copies into the keys file sshd reads.
KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
             "ecdsa-sha2-nistp521", "ssh-rsa")
MARK = "# Written by expandctl firstboot (sshd step): edits are replaced."


def engineer_key(name: str, text: str, source: str) -> str:
    """The engineers' list line of one key file: ``TYPE BASE64 NAME`` (no options: what an
    engineer may do is the sshd Match block's, the same for all)."""
    if not ENGINEER_NAME.match(name):
        raise ExpandError(f"{source}: the file name must be the engineer's name "
                          "(letters, digits, . _ -; NAME.pub)")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if len(lines) != 1:
        raise ExpandError(f"{source}: want exactly one public key, found {len(lines)}")
    parts = lines[0].split()
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        raise ExpandError(f"{source}: not a public key line ('ssh-ed25519 AAAA... NAME'); "
                          "options such as command= are not taken from key files")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise ExpandError(f"{source}: the key is not base64") from None
    if not blob.startswith(len(parts[0]).to_bytes(4, "big") + parts[0].encode()):
        raise ExpandError(f"{source}: the key's data does not match its type {parts[0]}")
    return f"{parts[0]} {parts[1]} {name}"


def engineers_list(lines: list[str]) -> str:
    return "\n".join([MARK, *lines]) + "\n"


def sshd_dropin(keys_file: str) -> str:
    return f"""{MARK}
# Logs each login with its key's fingerprint (the engineers' audit trail in the journal).
LogLevel VERBOSE

Match User {SUPPORT_USER}
    AuthenticationMethods publickey
    PubkeyAuthentication yes
    PasswordAuthentication no
    KbdInteractiveAuthentication no
    # The support window's copy of the engineers' list (expandctl tunnel enable/disable):
    # empty while the window is closed, each key with expiry-time when opened for a time.
    AuthorizedKeysFile {keys_file}
    AuthorizedKeysCommand none
    PermitTTY yes
    X11Forwarding no
    AllowAgentForwarding no
    AllowStreamLocalForwarding no
    PermitTunnel no
"""


def allowed_networks(lan: IPv4Network, support: IPv4Network) -> list[IPv4Network]:
    return sorted({lan, support})


def nftables_rules(lan: IPv4Network, support: IPv4Network, port: int = SSH_PORT) -> str:
    """A table of its own (reloadable without touching other rules): port 22 is reached
    from loopback and the allowed networks only. A drop in any base chain is final, so
    another table's accept cannot reopen it."""
    nets = ", ".join(str(n) for n in allowed_networks(lan, support))
    return f"""{MARK}
table inet {NFT_TABLE}
delete table inet {NFT_TABLE}
table inet {NFT_TABLE} {{
    chain input {{
        type filter hook input priority filter - 10; policy accept;
        tcp dport {port} iif "lo" accept
        tcp dport {port} ip saddr {{ {nets} }} accept
        tcp dport {port} counter drop
    }}
}}
"""


DEFAULT_PUBLIC_ZONE = """<?xml version="1.0" encoding="utf-8"?>
<zone>
  <short>Public</short>
  <description>For use in public areas.</description>
  <service name="ssh"/>
  <service name="dhcpv6-client"/>
  <service name="cockpit"/>
  <forward/>
</zone>
"""


def firewalld_public_zone(current: str | None, lan: IPv4Network, support: IPv4Network,
                          source: str) -> str:
    """The public zone as it is, less its ssh service and ssh rules, plus one rich rule per
    allowed network. Other services (the PBX's, say) are kept as they are."""
    try:
        zone = ET.fromstring(current or DEFAULT_PUBLIC_ZONE)
    except ET.ParseError as exc:
        raise ExpandError(f"{source}: not valid XML: {exc}") from None
    if zone.tag != "zone":
        raise ExpandError(f"{source}: not a firewalld zone")
    for child in list(zone):
        service = child if child.tag == "service" else child.find("service")
        if service is not None and service.get("name") == "ssh":
            zone.remove(child)
    for net in allowed_networks(lan, support):
        rule = ET.SubElement(zone, "rule", family="ipv4")
        ET.SubElement(rule, "source", address=str(net))
        ET.SubElement(rule, "service", name="ssh")
        ET.SubElement(rule, "accept")
    ET.indent(zone, "  ")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(zone, "unicode") + "\n"
