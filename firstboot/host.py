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
from appliance.runner import Runner
from hardware_profiles.snapshot import HostFacts as HardwareFacts
from hardware_profiles.snapshot import facts_from_dict, facts_to_dict

log = logging.getLogger("expand.firstboot")

ARPHRD_ETHER = "1"
# Virtual devices that are never the appliance's LAN or interconnect.
VIRTUAL_PREFIXES = ("veth", "ifb", "docker", "virbr", "br-", "vnet", "tap", "tun", "wg",
                    "dummy", "bond", "team", "vxlan", "cni", "flannel", "kube")


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


def default_route_nics(route_table: str) -> list[str]:
    """Interfaces holding an IPv4 default route, from /proc/net/route text."""
    found = []
    for line in route_table.splitlines()[1:]:
        cols = line.split()
        if len(cols) > 2 and cols[1] == "00000000":
            found.append(cols[0])
    return found


def detect_nics(sys_class_net: Path = Path("/sys/class/net"),
                route_file: Path = Path("/proc/net/route")) -> tuple[str, ...]:
    """Ethernet interfaces: the one with the default route (DHCP lease) first, then by name."""
    nics = []
    for dev in sorted(sys_class_net.iterdir()) if sys_class_net.is_dir() else []:
        name = dev.name
        if name == "lo" or name.startswith(VIRTUAL_PREFIXES):
            continue
        if (dev / "bridge").exists() or (dev / "bonding").exists():
            continue
        try:
            if (dev / "type").read_text().strip() != ARPHRD_ETHER:
                continue
        except OSError:
            continue
        nics.append(name)
    try:
        routed = default_route_nics(route_file.read_text())
    except OSError:
        routed = []
    return tuple(sorted(nics, key=lambda n: (n not in routed, n)))


def gather(runner: Runner | None = None, *, with_hardware: bool = True) -> Host:
    """Facts of the running machine (the one first boot configures)."""
    hardware = None
    if with_hardware:
        try:
            from hardware_profiles.facts import gather_facts
            hardware = gather_facts(Path("/"), runner)
        except (ImportError, OSError, ExpandError) as exc:  # the hardware step warns
            log.warning("hardware facts not gathered: %s", exc)
    return Host(detect_nics(), hardware)


def load_host(path: Path) -> Host:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ExpandError(f"{path}: cannot read host facts: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ExpandError(f"{path}: not valid JSON: {exc}") from exc
    nics = data.get("nics") if isinstance(data, dict) else None
    if not isinstance(nics, list) or not all(isinstance(n, str) for n in nics):
        raise ExpandError(f"{path}: nics: expected a list of interface names")
    hardware = data.get("hardware")
    return Host(tuple(nics), facts_from_dict(hardware, f"{path}: hardware") if hardware else None)
