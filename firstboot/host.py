"""What first boot needs to know about the machine it configures: its NICs and hardware.

Gathered from the running system, or loaded from a saved JSON file (``--host-facts``) so a
dry run or a test gives the same result on any machine.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from appliance.errors import ExpandError
from appliance.readers import load_json
from appliance.runner import Runner
from hardware_profiles.nics import detect_nics, with_overrides
from hardware_profiles.snapshot import HostFacts as HardwareFacts
from hardware_profiles.snapshot import Nic, facts_from_dict, facts_to_dict

log = logging.getLogger("expand.firstboot")

@dataclass(frozen=True)
class Host:
    """``nics`` is the one list of NICs (hardware_profiles.nics detects it; --lan-nic and
    --interconnect-nic go first): the hardware facts' NICs are always the same ones, so the
    hardware step judges the NICs the network step configures."""

    nics: tuple[str, ...]                 # Ethernet NICs; the one with the default route first
    hardware: HardwareFacts | None = None  # None: not gathered (the hardware step says so)

    def __post_init__(self) -> None:
        if self.hardware is not None:
            object.__setattr__(self, "hardware", nics_aligned(self.hardware, self.nics))

    def with_nic_overrides(self, lan: str | None, interconnect: str | None) -> Host:
        """Put the NICs the user named first, in LAN, interconnect order."""
        return replace(self, nics=with_overrides(self.nics, lan, interconnect))

    def as_dict(self) -> dict[str, Any]:
        return {"nics": list(self.nics),
                "hardware": facts_to_dict(self.hardware) if self.hardware else None}


def nics_aligned(hardware: HardwareFacts, nics: tuple[str, ...]) -> HardwareFacts:
    """The facts with exactly ``nics`` as their NICs, in that order (a NIC the facts did not
    describe, e.g. named with --interconnect-nic, has unknown speed and driver)."""
    described = {n.name: n for n in hardware.nics}
    return replace(hardware, nics=tuple(described.get(n, Nic(n)) for n in nics))


def gather(runner: Runner | None = None, *, with_hardware: bool = True) -> Host:
    """Facts of the running machine (the one first boot configures); reads only."""
    runner = runner or Runner()
    nics = detect_nics(runner)
    hardware = None
    if with_hardware:
        try:
            from hardware_profiles.facts import gather_facts
            hardware = gather_facts(Path("/"), runner, nic_names=nics)
        except (ImportError, OSError, ExpandError) as exc:  # the hardware step warns
            log.warning("hardware facts not gathered: %s", exc)
    return Host(nics, hardware)


def load_host(path: Path) -> Host:
    data = load_json(path, what="host facts")  # ExpandError naming the file
    nics = data.get("nics") if isinstance(data, dict) else None
    if not isinstance(nics, list) or not all(isinstance(n, str) for n in nics):
        raise ExpandError(f"{path}: nics: expected a list of interface names")
    hardware = data.get("hardware")
    return Host(tuple(nics), facts_from_dict(hardware, f"{path}: hardware") if hardware else None)
