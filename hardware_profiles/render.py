"""Human-readable text for facts, verdicts and sizings (returned as lines; the CLI prints)."""

from __future__ import annotations

import dataclasses
import textwrap
from typing import Any

from hardware_profiles.judge import Verdict
from hardware_profiles.sizing import Sizing
from hardware_profiles.snapshot import HostFacts
from hardware_profiles.tiers import GB, GIB, RECORDING, STUDY_NEEDED


def _row(label: str, value: str) -> str:
    return textwrap.fill(value, width=100, initial_indent=f"  {label:<15} ",
                         subsequent_indent=" " * 18, break_on_hyphens=False)


def _item(text: str) -> str:
    return textwrap.fill(text, width=100, initial_indent="  - ", subsequent_indent="    ",
                         break_on_hyphens=False)


def facts_lines(facts: HostFacts, origin: str) -> list[str]:
    cpu, mem, virt = facts.cpu, facts.memory, facts.virtualization
    lines = [f"Facts ({origin})"]
    lines.append(_row("CPU", f"{cpu.logical} logical, {cpu.physical or '?'} cores, "
                             f"{cpu.sockets or '?'} socket(s)"
                             + (f" — {cpu.model}" if cpu.model else "")))
    online = f"{mem.online_bytes / GIB:.1f} GiB online, " if mem.online_bytes else ""
    lines.append(_row("Memory", f"{online}MemTotal {mem.total_bytes / GIB:.1f} GiB"))
    for i, disk in enumerate(facts.disks):
        kind = {True: "rotational", False: "solid state", None: "kind unknown"}[disk.rotational]
        parts = f", partitions {' '.join(disk.partitions)}" if disk.partitions else ""
        model = f" {disk.model}" if disk.model else ""
        lines.append(_row("Disks" if i == 0 else "", f"{disk.name} {disk.size_bytes / GB:.0f} GB"
                          f" {kind}{model}{parts}"))
    if not facts.disks:
        lines.append(_row("Disks", "none found"))
    for i, md in enumerate(facts.md_arrays):
        status = f" [{md.status}]" if md.status else ""
        lines.append(_row("Software RAID" if i == 0 else "",
                          f"{md.name} {md.level} {md.state}{status} members "
                          f"{' '.join(md.members) or 'none'}"
                          + (" DEGRADED" if md.degraded else "")))
    if not facts.md_arrays:
        lines.append(_row("Software RAID", "none"))
    for i, nic in enumerate(facts.nics):
        speed = f"{nic.speed_mbps} Mbps" if nic.speed_mbps else "speed unknown"
        driver = f", {nic.driver}" if nic.driver else ""
        lines.append(_row("NICs" if i == 0 else "", f"{nic.name} {nic.operstate or '?'}, "
                                                    f"{speed}{driver}"))
    if not facts.nics:
        lines.append(_row("NICs", "none backed by a device"))
    kind = f"virtual machine ({virt.vm})" if virt.vm else "physical (no hypervisor seen)"
    if virt.container:
        kind += f", inside a {virt.container} container"
    lines.append(_row("Virtualization", f"{kind} — from {virt.source}"))
    lines.extend(_row("Not read" if i == 0 else "", note) for i, note in enumerate(facts.notes))
    return lines


def verdict_lines(verdict: Verdict) -> list[str]:
    lines = ["Verdict", _row("Machine", verdict.machine), _row("Carries", verdict.tier_text)]
    if verdict.study_needed:
        lines.append(_row("Asked", f"{verdict.concurrent_calls} concurrent calls: "
                                   "a study is needed (more than 240)"))
    elif verdict.needed_tier is not None:
        met = "met" if verdict.meets_need else "NOT met"
        lines.append(_row("Asked", f"{verdict.concurrent_calls} concurrent calls need "
                                   f"{verdict.needed_tier}: {met}"))
    if verdict.shortfalls:
        lines += ["", f"Shortfalls (against {verdict.shortfalls[0].tier})"]
        lines += [_item(s.message) for s in verdict.shortfalls]
    lines += ["", "Warnings"] + ([_item(f"{w.message} [{w.code}]") for w in verdict.warnings]
                                 or ["  none"])
    if verdict.notes:
        lines += ["", "Notes"] + [_item(f"{n.message} [{n.code}]") for n in verdict.notes]
    return lines


def verdict_dict(verdict: Verdict) -> dict[str, Any]:
    data = dataclasses.asdict(verdict)
    data["tier_text"] = verdict.tier_text
    data["shortfalls"] = [{**dataclasses.asdict(s), "short_by": s.short_by,
                           "message": s.message} for s in verdict.shortfalls]
    return data


def sizing_lines(sizing: Sizing) -> list[str]:
    lines = ["Sizing", _row("Calls", str(sizing.concurrent_calls))]
    if sizing.study_needed:
        lines.append(_row("Tier", "none: " + STUDY_NEEDED))
    else:
        lines.append(_row("Tier", str(sizing.tier)))
        lines.append(_row("CPU", str(sizing.cpu_text)))
        lines.append(_row("Memory", f"{sizing.memory_gib} GB RAM"))
    lines.append(_row("NICs", f"{sizing.nics} × ≥{sizing.nic_min_mbps} Mbps"))
    san = " (recordings on a SAN)" if sizing.san else ""
    lines.append(_row("Disks", f"{sizing.disks} × ≥{sizing.disk_gb} GB, {sizing.raid}{san}"))
    if not sizing.study_needed:
        lines.append(_row("As a VM", sizing.virtual_machine))
    lines += ["", "Recordings", _row("Rule", sizing.recording_rule)]
    if not sizing.san:
        held = RECORDING.minutes_in(sizing.disk_gb * GB)
        lines.append(_row("Capacity", f"the standard {sizing.disk_gb} GB mirror holds "
                                      f"≈{held:,} minutes"))
    if sizing.recording is not None:
        rec = sizing.recording
        lines.append(_row("Asked", f"{rec.minutes:,} minutes ≈ {rec.gb_needed:,.1f} GB"))
        lines.append(_row("Verdict", rec.advice))
    return lines
