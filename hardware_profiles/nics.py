"""The one NIC detector: which Ethernet interfaces the appliance has, LAN candidate first.

Netlink (``ip -j``) rather than /sys: right inside containers too (a veth is the NIC of a
container and has no device in /sys), and the interface holding the default route (a DHCP
lease) comes first. First boot (with --lan-nic / --interconnect-nic put in front), the
hardware step's warnings and ``expandctl hardware facts`` all take the list from here.
"""

from __future__ import annotations

import json

from appliance.runner import Runner

# Link kinds that are never the appliance's LAN or interconnect (a veth is: inside a
# container it is the NIC). Names catch the host side of containers and VMs.
VIRTUAL_KINDS = {"bridge", "bond", "team", "dummy", "ifb", "vxlan", "tun", "wireguard",
                 "macvtap", "ipvlan", "vlan", "gre", "gretap", "ipip", "sit", "nlmon"}
VIRTUAL_PREFIXES = ("veth", "docker", "virbr", "br-", "vnet", "tap", "cni", "flannel", "kube")


def ethernet_nics(links_json: str) -> list[str]:
    """Ethernet NICs from ``ip -j -d link`` output."""
    found = []
    for link in json.loads(links_json or "[]"):
        name = str(link.get("ifname", ""))
        kind = link.get("linkinfo", {}).get("info_kind")
        if (link.get("link_type") != "ether" or kind in VIRTUAL_KINDS or "master" in link
                or name.startswith(VIRTUAL_PREFIXES)):
            continue
        found.append(name)
    return found


def default_route_nics(routes_json: str) -> list[str]:
    """Interfaces holding an IPv4 default route (a DHCP lease), from ``ip -j route``."""
    return [str(r["dev"]) for r in json.loads(routes_json or "[]") if "dev" in r]


def detect_nics(runner: Runner) -> tuple[str, ...]:
    """Ethernet NICs: the one with the default route (DHCP lease) first, then by name."""
    nics = ethernet_nics(runner.run(["ip", "-j", "-d", "link", "show"]).stdout)
    routed = default_route_nics(runner.run(["ip", "-j", "route", "show", "default"]).stdout)
    return tuple(sorted(nics, key=lambda n: (n not in routed, n)))


def with_overrides(nics: tuple[str, ...], lan: str | None,
                   interconnect: str | None) -> tuple[str, ...]:
    """The NICs the user named first, in LAN, interconnect order, then the others."""
    chosen = [n for n in (lan, interconnect) if n]
    return (*chosen, *(n for n in nics if n not in chosen))
