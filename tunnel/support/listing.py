"""Which appliances are connected now: a listener on the hub's localhost:PORT of a site.

One read of /proc/net/tcp{,6} gives every listener; the session holding it (its socket
inode among the sshd processes' fds, root only) gives since when: that session's start.
For 100 sites it is a few hundred small /proc reads (bench/support_list.py measures it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from tunnel.support.hub_proc import loopback_listeners, socket_holders, sshd_processes
from tunnel.support.registry import Registry


@dataclass(frozen=True)
class SiteState:
    site: str
    port: int
    connected: bool
    since: float | None  # epoch seconds the holding session started; None: not known
    pid: int | None
    uid: int | None

    def as_json(self) -> dict[str, Any]:
        return {"site": self.site, "port": self.port, "connected": self.connected,
                "since": _iso(self.since), "session_pid": self.pid}


@dataclass(frozen=True)
class Listing:
    sites: tuple[SiteState, ...]
    sessions_known: bool  # False: the sshd fds were unreadable (not root), no "since"
    # Ports of the registry's range held on loopback by no registered site: a removed
    # site's session still open, or a forward set up by hand.
    unregistered: tuple[int, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"sites": [s.as_json() for s in self.sites],
                "connected": sum(s.connected for s in self.sites),
                "registered": len(self.sites), "sessions_known": self.sessions_known,
                "unregistered_ports": list(self.unregistered)}


def list_sites(registry: Registry) -> Listing:
    listeners = loopback_listeners()
    wanted = {site.port for site in registry.sites.values()}
    inodes = {lst.inode for port in wanted for lst in listeners.get(port, [])}
    holders = socket_holders(inodes, sshd_processes()) if inodes else {}
    states = []
    for name in sorted(registry.sites, key=lambda n: registry.sites[n].port):
        site = registry.sites[name]
        held = listeners.get(site.port, [])
        session = next((holders[lst.inode] for lst in held
                        if holders and lst.inode in holders), None)
        states.append(SiteState(name, site.port, bool(held),
                                session.started if session else None,
                                session.pid if session else None,
                                held[0].uid if held else None))
    strays = tuple(sorted(port for port in listeners if port not in wanted
                          and registry.first_port <= port <= registry.last_port))
    return Listing(tuple(states), holders is not None, strays)


def _iso(when: float | None) -> str | None:
    return None if when is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def table(listing: Listing, now: float | None = None) -> str:
    now = time.time() if now is None else now
    rows = [("SITE", "PORT", "STATE", "SINCE", "FOR")]
    for s in listing.sites:
        since = _iso(s.since) or ("?" if s.connected else "-")
        rows.append((s.site, str(s.port), "connected" if s.connected else "down", since,
                     _duration(now - s.since) if s.since else "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    connected = sum(s.connected for s in listing.sites)
    lines.append(f"{connected} of {len(listing.sites)} sites connected")
    if listing.unregistered:
        lines.append("held by no registered site: " + ", ".join(map(str, listing.unregistered))
                     + " (a removed site still connected? expandctl support claim PORT)")
    if not listing.sessions_known and connected:
        lines.append("(SINCE needs root: the sshd sessions' fds are readable by root only)")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s"
