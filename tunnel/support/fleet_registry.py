"""The support registry as the fleet commands see it: site → hub port and pinned host key.

A view of ``tunnel.support.registry`` (the hub's file, written by ``support hub-add``): the
fleet needs only each site's port and the appliance sshd's host key, which becomes the
engineers' known_hosts line ``[localhost]:PORT KEY`` (through the hub every appliance is
localhost, so ssh can tell them apart by port only).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ExpandError
from appliance.readers import show_path
from tunnel.support.registry import load_registry

KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
             "ecdsa-sha2-nistp521", "ssh-rsa")


@dataclass(frozen=True)
class Site:
    site: str
    port: int
    fingerprint: str  # of the appliance's tunnel key
    host_key: str     # "TYPE BASE64" of the appliance's sshd, or "" when not registered

    @property
    def known_hosts_name(self) -> str:
        return f"[localhost]:{self.port}"


def load_sites(path: Path) -> list[Site]:
    """The registry's sites, sorted by name; a host-key that is not a key is named."""
    registry = load_registry(path, missing_ok=False)
    sites = []
    for name in sorted(registry.sites):
        entry = registry.sites[name]
        host_key = entry.host_key or ""
        if host_key:
            host_key = checked_key(host_key, f"{show_path(path)}: sites.{name}.host-key")
        sites.append(Site(name, entry.port, entry.fingerprint, host_key))
    return sites


def checked_key(line: str, where: str) -> str:
    parts = line.split()
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        raise ExpandError(f"{where}: not a public key ('ssh-ed25519 AAAA...')")
    try:
        base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise ExpandError(f"{where}: the key is not base64") from None
    return f"{parts[0]} {parts[1]}"


def find(sites: Iterable[Site], name: str) -> Site:
    for site in sites:
        if site.site == name:
            return site
    raise ExpandError(f"site {name[:64]!r} is not in the support registry")


def known_hosts(sites: Iterable[Site]) -> str:
    """The engineers' known_hosts: one ``[localhost]:PORT KEY`` line per pinned site."""
    return "".join(f"{s.known_hosts_name} {s.host_key}\n" for s in sites if s.host_key)
