"""What first boot needs to know about the machine it configures: its NICs and hardware.

Gathered from the running system, or loaded from a saved JSON file (``--host-facts``) so a
dry run or a test gives the same result on any machine.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from appliance.errors import ExpandError
from appliance.readers import load_json
from appliance.runner import Runner
from hardware_profiles.snapshot import HostFacts as HardwareFacts
from hardware_profiles.snapshot import facts_from_dict, facts_to_dict

log = logging.getLogger("expand.firstboot")

# Link kinds that are never the appliance's LAN or interconnect (a veth is: inside a
# container it is the NIC). Names catch the host side of containers and VMs.
VIRTUAL_KINDS = {"bridge", "bond", "team", "dummy", "ifb", "vxlan", "tun", "wireguard",
                 "macvtap", "ipvlan", "vlan", "gre", "gretap", "ipip", "sit", "nlmon"}
VIRTUAL_PREFIXES = ("veth", "docker", "virbr", "br-", "vnet", "tap", "cni", "flannel", "kube")


@dataclass(frozen=True)
class Host:
    nics: tuple[str, ...]                 # Ethernet NICs; the one with the default route first
    hardware: HardwareFacts | None = None  # None: not gathered (the hardware step says so)

    def with_nic_overrides(self, lan: str | None, interconnect: str | None) -> Host:
        """Put the NICs the user named first, in LAN, interconnect order."""
        chosen = [n for n in (lan, interconnect) if n]
        return replace(self, nics=(*chosen, *(n for n in self.nics if n not in chosen)))

    def as_dict(self) -> dict[str, Any]:
        return {"nics": list(self.nics),
                "hardware": facts_to_dict(self.hardware) if self.hardware else None}


def ethernet_nics(links_json: str) -> list[str]:
    """Ethernet NICs from ``ip -j -d link`` output (netlink: right inside containers too,
    where /sys may show the host's devices)."""
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


def gather(runner: Runner | None = None, *, with_hardware: bool = True) -> Host:
    """Facts of the running machine (the one first boot configures); reads only."""
    runner = runner or Runner()
    hardware = None
    if with_hardware:
        try:
            from hardware_profiles.facts import gather_facts
            hardware = gather_facts(Path("/"), runner)
        except (ImportError, OSError, ExpandError) as exc:  # the hardware step warns
            log.warning("hardware facts not gathered: %s", exc)
    return Host(detect_nics(runner), hardware)


def load_host(path: Path) -> Host:
    data = load_json(path, what="host facts")  # ExpandError naming the file
    nics = data.get("nics") if isinstance(data, dict) else None
    if not isinstance(nics, list) or not all(isinstance(n, str) for n in nics):
        raise ExpandError(f"{path}: nics: expected a list of interface names")
    hardware = data.get("hardware")
    return Host(tuple(nics), facts_from_dict(hardware, f"{path}: hardware") if hardware else None)
