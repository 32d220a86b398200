"""The checks of a healthy appliance: one pytest test per check, run by ``expandctl verify``.

Each test gets testinfra's ``host`` (the appliance, over ``ssh://`` with pinned host keys,
or ``local://``) and names in its failure what is wrong, in one line. Checks that do not
apply to this host (a cluster check on a single box, Asterisk on the node without the
virtual IP, a tunnel that the answers switch off) are skipped with the reason.
Services are looked for as processes, so the checks also hold on boxes without systemd.
"""

from __future__ import annotations

import json
import re
from ipaddress import IPv4Address
from typing import Any

import pytest

from appliance.answers import Answers
from appliance.ip_addr import ipv4_addresses
from verify.plugin import read_answers, target

EXPAND_TREES = ("/etc/expand", "/var/lib/expand")
TUNNEL_STATE = "/run/expand/tunnel.json"
SSHD_CONFIG = "/etc/ssh/sshd_config"
# A world-readable file with such a name, or holding a private key, is a leaked secret.
SECRET_NAME = re.compile(r"(key|secret|passw|join-code|token|credential)", re.IGNORECASE)
SHOWN = 5


def running(host: Any, comm: str, args_part: str = "") -> bool:
    found = host.process.filter(comm=comm)
    return any(args_part in p.args for p in found)


def addresses(host: Any) -> set[IPv4Address]:
    return ipv4_addresses(host.check_output("ip -o -4 addr show"))


def test_sshd_running(host: Any) -> None:
    assert running(host, "sshd"), "sshd is not running"


def test_sshd_config(host: Any, expand_root: str) -> None:
    path = target(expand_root, SSHD_CONFIG)
    assert host.file(path).is_file, f"{path}: missing"
    result = host.run("sshd -T -f %s -C user=support,host=check,addr=127.0.0.1", path)
    assert result.rc == 0, f"{path}: sshd refuses it: {result.stderr.strip()[:200]}"
    settings = dict(line.partition(" ")[::2] for line in result.stdout.splitlines())
    # VERBOSE is what logs each login's key fingerprint (the engineers' audit trail).
    assert settings.get("loglevel") == "VERBOSE", \
        f"{path}: LogLevel is {settings.get('loglevel')}, not VERBOSE: logins are not audited"


def test_postfix_running(host: Any) -> None:
    assert running(host, "master", "postfix"), "postfix (its master process) is not running"


def test_postfix_relay(host: Any, answers: Answers, expand_root: str) -> None:
    folder = target(expand_root, "/etc/postfix")
    result = host.run("postconf -c %s -h relayhost", folder)
    assert result.rc == 0, f"postconf: {result.stderr.strip()[:200]}"
    wanted = answers.smtp.relayhost
    assert result.stdout.strip() == wanted, \
        f"{folder}/main.cf: relayhost is {result.stdout.strip()!r}, the answers say {wanted!r}"


def test_addresses(host: Any, answers: Answers, clustered: bool) -> None:
    have = addresses(host)
    wanted = [("LAN", answers.lan_ip)]
    if clustered:
        wanted.append(("interconnect", answers.interconnect_ip))
    missing = [f"{what} {ip}" for what, ip in wanted if ip not in have]
    assert not missing, f"not on any interface: {', '.join(missing)} (from the answers)"


def test_cluster_services(host: Any, clustered: bool) -> None:
    if not clustered:
        pytest.skip("not a cluster check run (--cluster)")
    stopped = [d for d in ("corosync", "pacemakerd") if not running(host, d)]
    assert not stopped, f"not running: {', '.join(stopped)}"


def test_fencing_configured(host: Any, answers: Answers, clustered: bool) -> None:
    if not clustered:
        pytest.skip("not a cluster check run (--cluster)")
    assert answers.fencing.mode != "none", \
        "fencing.mode is none: a dead node is never fenced and may keep the VIP"
    enabled = host.run("crm_attribute --type crm_config --name stonith-enabled --query "
                       "--quiet")
    assert enabled.stdout.strip() in ("", "true"), "stonith-enabled is not true in the CIB"
    devices = host.run("stonith_admin --list-registered")
    assert devices.rc == 0 and devices.stdout.strip() and "0 fence devices" not in \
        devices.stdout, "no fence device registered with pacemaker"


def test_asterisk_answering(host: Any, answers: Answers, clustered: bool) -> None:
    if clustered and answers.network.virtual_ip not in addresses(host):
        pytest.skip(f"the virtual IP {answers.network.virtual_ip} is on the other node")
    result = host.run("asterisk -rx %s", "core show version")
    assert result.rc == 0 and result.stdout.startswith("Asterisk"), \
        f"Asterisk does not answer: {(result.stderr or result.stdout).strip()[:200]}"


def test_tunnel_connected(host: Any, answers: Answers, expand_root: str) -> None:
    if not answers.support.enabled:
        pytest.skip("support.enabled is false: no tunnel wanted")
    path = target(expand_root, TUNNEL_STATE)
    file = host.file(path)
    assert file.is_file, f"{path}: missing (the tunnel daemon is not running)"
    try:
        state = json.loads(file.content_string)
    except (ValueError, UnicodeDecodeError):
        pytest.fail(f"{path}: not JSON")
    assert isinstance(state, dict), f"{path}: not a JSON object"
    if state.get("state") == "window-closed":
        pytest.skip("the support window is closed (the customer's choice): no tunnel")
    assert state.get("state") == "connected", \
        f"tunnel is {state.get('state')!r}: {state.get('last_error') or 'no error recorded'}"


def test_no_world_readable_secret(host: Any, expand_root: str) -> None:
    trees = " ".join(target(expand_root, t) for t in EXPAND_TREES)
    listed = host.run(f"find {trees} -xdev -type f -perm -0004 -print 2>/dev/null").stdout
    leaked = []
    for path in listed.splitlines():
        name = path.rsplit("/", 1)[-1]
        if name.endswith(".pub"):
            continue
        if SECRET_NAME.search(name) or host.file(path).contains("PRIVATE KEY"):
            leaked.append(path)
    assert not leaked, (f"world-readable secret: {', '.join(leaked[:SHOWN])}"
                        + (f" and {len(leaked) - SHOWN} more" if len(leaked) > SHOWN else ""))


def test_vip_on_exactly_one_node(all_hosts: list[Any], expand_root: str,
                                 clustered: bool) -> None:
    if not clustered:
        pytest.skip("not a cluster check run (--cluster)")
    vip = read_answers(all_hosts[0], expand_root).network.virtual_ip
    holders = [h.backend.get_pytest_id() for h in all_hosts if vip in addresses(h)]
    assert len(holders) == 1, \
        f"the virtual IP {vip} is on {len(holders)} nodes: {', '.join(holders) or 'none'}"
