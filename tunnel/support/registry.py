"""The hub's registry: which site has which port and key (a TOML file, no secrets).

```toml
version = 1

[ports]
first = 20000
last = 29999

[sites.acme]
port = 20000
fingerprint = "SHA256:..."            # of the appliance's tunnel key, as ssh-keygen -l shows
key = "ssh-ed25519 AAAA..."           # that key, so the authorized_keys line can be rebuilt
host-key = "ssh-ed25519 AAAA..."      # optional: the appliance sshd's host key (known_hosts)
added = "2026-12-01T13:57:00Z"
```

A site keeps its port for as long as it is registered: re-adding it changes nothing, and a
new site gets the lowest free port of the range. Engineers' known_hosts entries are
``[localhost]:PORT``, so a port is a site's identity on the hub.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from appliance.errors import ExpandError
from appliance.readers import ReadError, load_toml, shown
from tunnel.support.hub_keys import SITE_PATTERN, PublicKey, parse_public_key

DEFAULT_REGISTRY = Path("/etc/expand/support/registry.toml")
DEFAULT_FIRST_PORT = 20000
DEFAULT_LAST_PORT = 29999
VERSION = 1
MAX_BYTES = 4 * 1024 * 1024  # ~10,000 sites
HEADER = ("# eXpand support hub registry: site -> tunnel port and key.\n"
          "# Written by 'expandctl support hub-add' and 'hub-remove'.\n")

Bad = Callable[[str, str], ExpandError]
_SITE_KEYS = {"port", "fingerprint", "key", "host-key", "added"}


@dataclass(frozen=True)
class Site:
    name: str
    port: int
    key: PublicKey
    added: str
    host_key: str | None = None

    @property
    def fingerprint(self) -> str:
        return self.key.fingerprint


@dataclass(frozen=True)
class Registry:
    first_port: int = DEFAULT_FIRST_PORT
    last_port: int = DEFAULT_LAST_PORT
    sites: dict[str, Site] = field(default_factory=dict)

    def by_port(self) -> dict[int, Site]:
        return {site.port: site for site in self.sites.values()}

    def by_fingerprint(self, fingerprint: str) -> Site | None:
        return next((s for s in self.sites.values() if s.fingerprint == fingerprint), None)

    def free_port(self) -> int:
        """The lowest port of the range no site holds."""
        taken = self.by_port()
        for port in range(self.first_port, self.last_port + 1):
            if port not in taken:
                return port
        raise ExpandError(f"no free port left in {self.first_port}-{self.last_port} "
                          f"({len(self.sites)} sites): widen [ports] in the registry")

    def with_site(self, site: Site) -> Registry:
        return dataclasses.replace(self, sites={**self.sites, site.name: site})

    def without(self, name: str) -> Registry:
        return dataclasses.replace(
            self, sites={k: v for k, v in self.sites.items() if k != name})


def load_registry(path: Path, *, missing_ok: bool) -> Registry:
    """The registry at ``path``; an empty one when it does not exist and ``missing_ok``."""
    try:
        data = load_toml(path, what="registry", max_bytes=MAX_BYTES)
    except ReadError as exc:
        if exc.missing and missing_ok:
            return Registry()
        raise
    return parse_registry(data, str(path))


def parse_registry(data: dict[str, Any], source: str) -> Registry:
    def bad(where: str, why: str) -> ExpandError:
        return ExpandError(f"{source}: {where}: {why}")

    unknown = set(data) - {"version", "ports", "sites"}
    if unknown:
        raise bad(sorted(unknown)[0], "unknown key (known: version, ports, sites)")
    if data.get("version") != VERSION:
        raise bad("version", f"{shown(data.get('version'))} is not {VERSION}")
    ports = _table(data, "ports", bad)
    if set(ports) - {"first", "last"}:
        raise bad("ports", "only first and last may be set")
    first = _port(ports.get("first", DEFAULT_FIRST_PORT), "ports.first", bad)
    last = _port(ports.get("last", DEFAULT_LAST_PORT), "ports.last", bad)
    if first > last:
        raise bad("ports", f"first {first} is above last {last}")
    registry = Registry(first, last)
    for name, entry in _table(data, "sites", bad).items():
        site = _site(name, entry, f"sites.{name}" if SITE_PATTERN.fullmatch(name)
                     else f"sites.{shown(name)}", bad, source)
        if not first <= site.port <= last:
            raise bad(f"sites.{name}.port", f"{site.port} is outside ports {first}-{last}")
        if site.port in registry.by_port():
            raise bad(f"sites.{name}.port",
                      f"{site.port} is also the port of {registry.by_port()[site.port].name}")
        other = registry.by_fingerprint(site.fingerprint)
        if other:
            raise bad(f"sites.{name}.key", f"the same key as site {other.name}")
        registry = registry.with_site(site)
    return registry


def _table(data: dict[str, Any], key: str, bad: Bad) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise bad(key, "must be a table")
    return value


def _port(value: Any, where: str, bad: Bad) -> int:
    if type(value) is not int or not 1024 < value < 65536:
        raise bad(where, f"{shown(value)} is not a port number above 1024")
    return value


def _site(name: str, entry: Any, where: str, bad: Bad, source: str) -> Site:
    if not SITE_PATTERN.fullmatch(name):
        raise bad(where, "not a site name (a-z, 0-9 and '-')")
    if not isinstance(entry, dict):
        raise bad(where, "must be a table")
    unknown = set(entry) - _SITE_KEYS
    if unknown:
        raise bad(f"{where}.{sorted(unknown)[0]}", "unknown key")
    for required in ("port", "fingerprint", "key", "added"):
        if required not in entry:
            raise bad(f"{where}.{required}", "missing")
    for text in ("fingerprint", "key", "added", "host-key"):
        if text in entry and not isinstance(entry[text], str):
            raise bad(f"{where}.{text}", f"{shown(entry[text])} is not a string")
    port = _port(entry["port"], f"{where}.port", bad)
    key = parse_public_key(entry["key"], f"{source}: {where}.key")
    if key.fingerprint != entry["fingerprint"]:
        raise bad(f"{where}.fingerprint", f"{shown(entry['fingerprint'])} is not the "
                  f"fingerprint of the key ({key.fingerprint})")
    return Site(name, port, key, entry["added"], entry.get("host-key"))


def known_hosts_text(registry: Registry) -> str:
    """The engineers' known_hosts for the tunnels: through the hub every appliance is
    ``[localhost]:PORT``, so its pinned host key comes from its registry entry (sites
    registered without --host-key have none: connecting to them is refused)."""
    return "".join(f"[localhost]:{site.port} {site.host_key}\n"
                   for site in sorted(registry.sites.values(), key=lambda s: s.port)
                   if site.host_key)


def render_registry(registry: Registry) -> str:
    sites: dict[str, Any] = {}
    for name in sorted(registry.sites):
        site = registry.sites[name]
        entry: dict[str, Any] = {"port": site.port, "fingerprint": site.fingerprint,
                                 "key": site.key.text}
        if site.host_key:
            entry["host-key"] = site.host_key
        entry["added"] = site.added
        sites[name] = entry
    doc = {"version": VERSION,
           "ports": {"first": registry.first_port, "last": registry.last_port},
           "sites": sites}
    return HEADER + "\n" + tomli_w.dumps(doc)
