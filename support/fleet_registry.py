"""The support registry as the fleet commands read it: site → hub port and keys.

A stand-in until T2's ``support/registry.py`` lands: the same TOML shape, read through
``load_sites`` only, so the merge replaces this one function. The file::

    [[sites]]
    site = "acme"
    port = 20017
    fingerprint = "SHA256:..."            # the appliance's tunnel key
    host-key = "ssh-ed25519 AAAA..."      # the appliance's sshd host key (pinned)

``host-key`` is what the engineers' known_hosts is made of: through the hub every
appliance is ``[localhost]:PORT``, so ssh cannot tell two of them apart by name.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ExpandError
from appliance.readers import ReadError, load_toml, show_path

SITE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
             "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")


@dataclass(frozen=True)
class Site:
    site: str
    port: int
    fingerprint: str
    host_key: str  # "TYPE BASE64", or "" when the registry has none for the site

    @property
    def known_hosts_name(self) -> str:
        return f"[localhost]:{self.port}"


def load_sites(path: Path) -> list[Site]:
    try:
        data = load_toml(path, what="support registry")
    except ReadError as exc:
        raise ExpandError(str(exc)) from exc
    source = show_path(path)
    entries = data.get("sites", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ExpandError(f"{source}: sites: not a list of [[sites]] tables")
    unknown = sorted(set(data) - {"sites"})
    if unknown:
        raise ExpandError(f"{source}: unknown key {unknown[0]!r}")
    sites = [_site(entry, f"{source}: sites[{n}]") for n, entry in enumerate(entries)]
    for attr in ("site", "port"):
        seen: set[object] = set()
        for site in sites:
            value = getattr(site, attr)
            if value in seen:
                raise ExpandError(f"{source}: {attr} {value!r} is listed twice")
            seen.add(value)
    return sites


def _site(entry: dict[str, object], where: str) -> Site:
    unknown = sorted(set(entry) - {"site", "port", "fingerprint", "host-key"})
    if unknown:
        raise ExpandError(f"{where}: unknown key {unknown[0][:40]!r}")
    name, port = entry.get("site"), entry.get("port")
    if not isinstance(name, str) or not SITE_NAME.match(name):
        raise ExpandError(f"{where}: site: want a name of a-z, 0-9 and -, got {str(name)[:40]!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 1024 < port < 65536:
        raise ExpandError(f"{where}: port: want 1025-65535, got {str(port)[:20]!r}")
    fingerprint = entry.get("fingerprint", "")
    host_key = entry.get("host-key", "")
    if not isinstance(fingerprint, str) or not isinstance(host_key, str):
        raise ExpandError(f"{where}: fingerprint and host-key are strings")
    if host_key:
        _check_key(host_key, f"{where}: host-key")
    return Site(name, port, fingerprint, " ".join(host_key.split()[:2]))


def _check_key(line: str, where: str) -> None:
    parts = line.split()
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        raise ExpandError(f"{where}: not a public key ('ssh-ed25519 AAAA...')")
    try:
        base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise ExpandError(f"{where}: the key is not base64") from None


def find(sites: Iterable[Site], name: str) -> Site:
    for site in sites:
        if site.site == name:
            return site
    raise ExpandError(f"site {name[:64]!r} is not in the support registry")


def known_hosts(sites: Iterable[Site]) -> str:
    """The engineers' known_hosts: one ``[localhost]:PORT KEY`` line per pinned site."""
    return "".join(f"{s.known_hosts_name} {s.host_key}\n" for s in sites if s.host_key)
