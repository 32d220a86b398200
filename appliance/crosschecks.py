"""Checks that involve several fields (subnets, duplicates, dependent settings).

Each report names the field the user should change, so the wizard can send them back to it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any

from appliance import validators as v
from appliance.reports import Report

Problem = tuple[str, str]  # (key, message)
Rule = Callable[[Mapping[str, Any]], Iterator[Problem]]


def _lan(values: Mapping[str, Any]) -> IPv4Network | None:
    ip, mask = values.get("network.primary-ip"), values.get("network.netmask")
    if not isinstance(ip, IPv4Address) or not isinstance(mask, IPv4Address):
        return None
    return IPv4Interface(f"{ip}/{mask}").network


def _host_problem(addr: IPv4Address, net: IPv4Network, what: str) -> str | None:
    if addr not in net:
        return f"{addr} is outside the {what} {net}"
    if addr in (net.network_address, net.broadcast_address):
        kind = "network" if addr == net.network_address else "broadcast"
        return f"{addr} is the {kind} address of {net}"
    return None


def lan_addresses(values: Mapping[str, Any]) -> Iterator[Problem]:
    lan = _lan(values)
    if lan is None:
        return
    ip = values["network.primary-ip"]
    if ip in (lan.network_address, lan.broadcast_address):
        yield "network.primary-ip", f"{ip} is the network or broadcast address of {lan}"
    for key in ("network.gateway", "network.secondary-ip", "network.virtual-ip"):
        addr = values.get(key)
        if isinstance(addr, IPv4Address):
            problem = _host_problem(addr, lan, "LAN")
            if problem:
                yield key, problem


def distinct_addresses(values: Mapping[str, Any]) -> Iterator[Problem]:
    order = ("network.primary-ip", "network.secondary-ip", "network.gateway", "network.virtual-ip")
    seen: dict[IPv4Address, str] = {}
    for key in order:
        addr = values.get(key)
        if not isinstance(addr, IPv4Address):
            continue
        if addr in seen:
            yield key, f"{addr} is already used by {seen[addr]}"
        else:
            seen[addr] = key


def interconnect(values: Mapping[str, Any]) -> Iterator[Problem]:
    first = values.get("interconnect.primary-address")
    second = values.get("interconnect.secondary-address")
    prefix = values.get("interconnect.prefix")
    if not isinstance(first, IPv4Address) or not isinstance(prefix, int):
        return
    net = IPv4Interface(f"{first}/{prefix}").network
    problem = _host_problem(first, net, "interconnect network")
    if problem:
        yield "interconnect.primary-address", problem
    if isinstance(second, IPv4Address):
        if second == first:
            yield "interconnect.secondary-address", f"{second} is the primary's address too"
        else:
            problem = _host_problem(second, net, "interconnect network")
            if problem:
                yield "interconnect.secondary-address", problem
    lan = _lan(values)
    if lan is not None and net.overlaps(lan):
        yield "interconnect.primary-address", f"interconnect network {net} overlaps the LAN {lan}"


def smtp_login(values: Mapping[str, Any]) -> Iterator[Problem]:
    if values.get("smtp.username") and not values.get("smtp.password"):
        yield "smtp.password", "is required when smtp.username is given"
    if values.get("smtp.password") and not values.get("smtp.username"):
        yield "smtp.username", "is required when smtp.password is given"


def hostnames(values: Mapping[str, Any]) -> Iterator[Problem]:
    first, second = values.get("nodes.primary-hostname"), values.get("nodes.secondary-hostname")
    if first and first == second:
        yield "nodes.secondary-hostname", f"{second} is the primary's host name too"


def storage(values: Mapping[str, Any]) -> Iterator[Problem]:
    mode = values.get("storage.mode")
    device = values.get("storage.device")
    if mode in ("san", "drbd") and not device:
        yield "storage.device", f"is required when storage.mode is {mode}"
    if mode == "none" and device:
        yield "storage.device", "is given but storage.mode is none"


# What a fencing target must be in each mode: it becomes fence_ipmilan's ip, fence_vmware_soap's
# plug or fence_sbd's devices.
_TARGET_KINDS: dict[str, tuple[v.Check, str]] = {
    "ipmi": (v.host_or_ipv4, "the BMC's IPv4 address or host name"),
    "vmware": (v.vm_name, "the VM's name in vSphere"),
    "sbd": (v.device_path, "a shared disk under /dev/"),
}


def fencing(values: Mapping[str, Any]) -> Iterator[Problem]:
    mode = values.get("fencing.mode")
    if mode in (None, "none"):
        return
    for key in ("fencing.primary-target", "fencing.secondary-target"):
        if not values.get(key):
            yield key, f"is required when fencing.mode is {mode}"
    if mode in ("ipmi", "vmware"):
        for key in ("fencing.username", "fencing.password"):
            if not values.get(key):
                yield key, f"is required when fencing.mode is {mode}"
    if mode == "vmware" and not values.get("fencing.host"):
        yield "fencing.host", "is required when fencing.mode is vmware"
    kind = _TARGET_KINDS.get(str(mode))
    if kind is not None:
        check, what = kind
        for key in ("fencing.primary-target", "fencing.secondary-target"):
            target = values.get(key)
            if target:
                _, problem = check(target)
                if problem:
                    yield key, f"{problem} (fencing.mode {mode} needs {what})"


def cluster(values: Mapping[str, Any]) -> Iterator[Problem]:
    code, mode = values.get("cluster.join-code"), values.get("mode")
    if mode == "secondary" and not code:
        yield ("cluster.join-code", "is required when mode is secondary: type the join code "
               "shown in the primary's first-boot report (expandctl ha join-code on the primary)")
    if mode == "primary" and code:
        yield "cluster.join-code", "is only for the secondary: the primary makes the join code"


RULES: tuple[Rule, ...] = (
    lan_addresses, distinct_addresses, interconnect, smtp_login, hostnames, storage, fencing,
    cluster,
)


def cross_check(values: Mapping[str, Any], source: str, skip: Collection[str] = ()) -> list[Report]:
    """All cross-field problems, leaving out keys that already failed on their own."""
    reports: list[Report] = []
    for rule in RULES:
        for key, message in rule(values):
            if key not in skip:
                reports.append(Report(source, key, message))
    return reports
