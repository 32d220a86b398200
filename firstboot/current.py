"""The network as it is right now (usually DHCP-assigned): what pre-fills the wizard's screens.

Read through the Runner (``ip -j addr``, ``ip -j route``) and from resolv.conf text, so a test
can run it inside a network namespace or feed canned JSON. Nothing here writes anything.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from typing import Any

from appliance.errors import ExpandError
from appliance.runner import Runner

log = logging.getLogger("expand.firstboot")

RESOLV_CONF = "/etc/resolv.conf"


@dataclass(frozen=True)
class NetworkFacts:
    """The primary NIC (the one holding the default route) and its current settings."""

    interface: str | None = None
    address: IPv4Address | None = None
    netmask: IPv4Address | None = None
    gateway: IPv4Address | None = None
    dns: tuple[IPv4Address, ...] = ()
    # True when the kernel marks the address dynamic (a lease: DHCP), False when static.
    dhcp: bool = False


def _json(text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text or "[]")
    except json.JSONDecodeError as exc:
        raise ExpandError(f"cannot read the output of 'ip -j': {exc}") from exc
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


def default_route(routes_json: str) -> tuple[str | None, IPv4Address | None]:
    """(interface, gateway) of the IPv4 default route with the lowest metric."""
    best: tuple[int, str | None, IPv4Address | None] | None = None
    for route in _json(routes_json):
        if route.get("dst") != "default":
            continue
        gateway = route.get("gateway")
        metric = int(route.get("metric", 0))
        gw = IPv4Address(gateway) if isinstance(gateway, str) and "." in gateway else None
        if best is None or metric < best[0]:
            best = (metric, route.get("dev"), gw)
    return (best[1], best[2]) if best else (None, None)


def interface_address(
    addrs_json: str, interface: str | None
) -> tuple[str | None, IPv4Interface | None, bool]:
    """First global IPv4 address of ``interface`` (or of the first NIC with one)."""
    for link in _json(addrs_json):
        name = link.get("ifname")
        if interface is not None and name != interface:
            continue
        for info in link.get("addr_info", []):
            if info.get("family") != "inet" or info.get("scope") != "global":
                continue
            iface = IPv4Interface(f"{info['local']}/{info['prefixlen']}")
            return name, iface, bool(info.get("dynamic", False))
    return interface, None, False


def resolv_nameservers(text: str) -> tuple[IPv4Address, ...]:
    """IPv4 name servers of resolv.conf, at most two (what the DNS screen accepts)."""
    found: list[IPv4Address] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            try:
                addr = IPv4Address(parts[1])
            except ValueError:
                continue  # IPv6 servers are not asked for
            if not addr.is_loopback and addr not in found:
                found.append(addr)
    return tuple(found[:2])


def facts_from(addrs_json: str, routes_json: str, resolv_text: str) -> NetworkFacts:
    interface, gateway = default_route(routes_json)
    name, iface, dynamic = interface_address(addrs_json, interface)
    return NetworkFacts(
        interface=name,
        address=iface.ip if iface else None,
        netmask=iface.netmask if iface else None,
        gateway=gateway,
        dns=resolv_nameservers(resolv_text),
        dhcp=dynamic,
    )


def read_facts(runner: Runner, resolv_text: str) -> NetworkFacts:
    """Current facts of this machine; an empty NetworkFacts when ``ip`` cannot tell."""
    try:
        addrs = runner.run(["ip", "-j", "-4", "addr", "show"]).stdout
        routes = runner.run(["ip", "-j", "-4", "route", "show"]).stdout
        return facts_from(addrs, routes, resolv_text)
    except ExpandError as exc:
        # The wizard still works without pre-fill: the technician types the values.
        log.warning("cannot read the current network settings: %s", exc)
        return NetworkFacts()
