"""The lab network, entirely inside network namespaces (nothing on the host side).

A bridge namespace holds two bridges: ``lan`` (198.51.100.0/24; the bridge itself answers
as the gateway .1) and ``ic`` (the 203.0.113.0/30 interconnect). Each node namespace gets
``eth0`` on the LAN and ``eth1`` on the interconnect; the client namespace gets ``eth0``
at .50. Cutting a link is setting the node's port on the bridge down, as pulling a cable
would.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from appliance.ip_addr import ipv4_addresses
from appliance.runner import Runner

PREFIX = "xlab"
BRIDGE_NS = f"{PREFIX}-br"
CLIENT_NS = f"{PREFIX}-client"
CLIENT_IP = IPv4Address("198.51.100.50")
GATEWAY = IPv4Address("198.51.100.1")  # the example answers' gateway: fencing pings it
LAN_PREFIX = 24
IC_PREFIX = 30
LINKS = {"lan": ("eth0", "lan"), "interconnect": ("eth1", "ic")}


@dataclass(frozen=True)
class LabNode:
    name: str
    lan_ip: IPv4Address
    ic_ip: IPv4Address

    @property
    def netns(self) -> str:
        return f"{PREFIX}-{self.name}"

    def port(self, link: str) -> str:
        """The node's port on the bridge, in the bridge namespace."""
        return f"{self.name}-{LINKS[link][1]}"


def default_nodes(count: int = 2) -> tuple[LabNode, ...]:
    return tuple(LabNode(f"expand{i}", IPv4Address(f"198.51.100.{10 + i}"),
                         IPv4Address(f"203.0.113.{i}")) for i in range(1, count + 1))


def existing_netns(runner: Runner) -> set[str]:
    out = runner.run(["ip", "netns", "list"]).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def _ip(runner: Runner, ns: str, *args: str) -> None:
    runner.run(["ip", "-n", ns, *args])


def _veth(runner: Runner, port: str, ns: str, ifname: str) -> None:
    runner.run(["ip", "-n", BRIDGE_NS, "link", "add", port, "type", "veth",
                "peer", "name", ifname, "netns", ns])


def create_network(runner: Runner, nodes: tuple[LabNode, ...]) -> None:
    for ns in (BRIDGE_NS, CLIENT_NS, *(n.netns for n in nodes)):
        runner.run(["ip", "netns", "add", ns])
        _ip(runner, ns, "link", "set", "lo", "up")
    for bridge in ("lan", "ic"):
        _ip(runner, BRIDGE_NS, "link", "add", bridge, "type", "bridge")
        _ip(runner, BRIDGE_NS, "link", "set", bridge, "up")
    _ip(runner, BRIDGE_NS, "addr", "add", f"{GATEWAY}/{LAN_PREFIX}", "dev", "lan")
    _veth(runner, "client-lan", CLIENT_NS, "eth0")
    _ip(runner, BRIDGE_NS, "link", "set", "client-lan", "master", "lan", "up")
    _ip(runner, CLIENT_NS, "addr", "add", f"{CLIENT_IP}/{LAN_PREFIX}", "dev", "eth0")
    _ip(runner, CLIENT_NS, "link", "set", "eth0", "up")
    for node in nodes:
        for link, (ifname, bridge) in LINKS.items():
            _veth(runner, node.port(link), node.netns, ifname)
            _ip(runner, BRIDGE_NS, "link", "set", node.port(link), "master", bridge, "up")
        power_links(runner, node, on=True)


def power_links(runner: Runner, node: LabNode, *, on: bool) -> None:
    """A powered-off node has no address: its NICs go dark and forget the VIP, as a
    real machine's would. Power on restores the node's own addresses and default route."""
    for ifname, address, prefix in (("eth0", node.lan_ip, LAN_PREFIX),
                                    ("eth1", node.ic_ip, IC_PREFIX)):
        if on:
            _ip(runner, node.netns, "addr", "replace", f"{address}/{prefix}", "dev", ifname)
            _ip(runner, node.netns, "link", "set", ifname, "up")
        else:
            _ip(runner, node.netns, "link", "set", ifname, "down")
            _ip(runner, node.netns, "addr", "flush", "dev", ifname)
    if on:  # as a DHCP lease would: an appliance node's first boot finds its LAN by it
        _ip(runner, node.netns, "route", "replace", "default", "via", str(GATEWAY),
            "dev", "eth0")


def set_cable(runner: Runner, node: LabNode, link: str, *, connected: bool) -> None:
    _ip(runner, BRIDGE_NS, "link", "set", node.port(link), "up" if connected else "down")


def set_split(runner: Runner, nodes: tuple[LabNode, ...], *, split: bool) -> None:
    """The nodes lose each other but not the LAN: interconnect cables out, and their LAN
    ports isolated on the switch (isolated ports cannot reach one another; the gateway
    and the client still answer both). The symmetric split the fence delay settles."""
    for node in nodes:
        set_cable(runner, node, "interconnect", connected=not split)
        _ip(runner, BRIDGE_NS, "link", "set", "dev", node.port("lan"), "type", "bridge_slave",
            "isolated", "on" if split else "off")


def addresses(runner: Runner, ns: str) -> set[IPv4Address]:
    return ipv4_addresses(runner.run(["ip", "-n", ns, "-o", "-4", "addr", "show"],
                                     check=False).stdout)


def delete_network(runner: Runner, names: set[str] | None = None) -> None:
    """Delete every lab namespace (veths go with them); ignores the ones already gone."""
    present = existing_netns(runner)
    for ns in sorted(present):
        if ns.startswith(f"{PREFIX}-") and (names is None or ns in names):
            runner.run(["ip", "netns", "delete", ns], check=False)
