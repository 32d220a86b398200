"""The pure judge: host facts (+ optionally the calls to carry) → tier, shortfalls, warnings.

No I/O here: the same facts always give the same verdict, so saved snapshots test it.

Decisions (the seed leaves them open):
- cores are physical cores when known (hyper-threads are not cores), else logical CPUs;
- memory is the RAM in online memory blocks when known, else MemTotal; 5 % is allowed
  for what firmware and kernel keep, so a 32 GB box whose MemTotal says 31.3 GiB is 32 GB;
- XLarge asks 2 × 8 cores: 16 cores in one socket are taken as enough (noted);
- a virtual machine needs one virtual disk ≥ 500 GB (the datastore protects it) and
  two NICs; a physical server needs two equal disks ≥ 500 GB in RAID-1 and two NICs;
- a single disk whose model looks like a hardware RAID volume is noted, not warned about:
  the seed asks to build RAID-1 in the controller, which the OS cannot verify.
"""

from __future__ import annotations

from dataclasses import dataclass

from hardware_profiles.snapshot import Disk, HostFacts, MdArray
from hardware_profiles.tiers import COMMON, GB, GIB, MAX_CALLS, MEDIUM, TIERS, Tier, tier_for_calls

MEMORY_ALLOWANCE = 0.95
EQUAL_DISK_TOLERANCE = 0.01
HW_RAID_MODELS = ("perc", "logical volume", "megaraid", "mr9", "raid", "smart array",
                  "virtual disk", "asr", "lsi")


@dataclass(frozen=True)
class Shortfall:
    """What the box lacks for a tier, and by how much."""

    what: str   # "cores" or "memory"
    have: float
    need: float
    unit: str   # "cores" or "GiB"
    tier: str

    @property
    def short_by(self) -> float:
        return round(self.need - self.have, 1)

    @property
    def message(self) -> str:
        return (f"{self.what}: {_num(self.have)} {self.unit}, {self.tier} needs "
                f"{_num(self.need)} ({_num(self.short_by)} {self.unit} short)")


@dataclass(frozen=True)
class Finding:
    code: str  # stable, for scripts and tests: "no-raid1", "vm-one-nic", ...
    message: str


@dataclass(frozen=True)
class Verdict:
    machine: str                 # "physical server" or "virtual machine (kvm)"
    tier: str | None             # largest tier the box carries; None: below Medium
    max_calls: int               # concurrent calls that tier carries (0 below Medium)
    concurrent_calls: int | None
    needed_tier: str | None      # tier those calls need (None: not asked, or study needed)
    study_needed: bool
    meets_need: bool | None      # None when no calls were asked or a study is needed
    shortfalls: tuple[Shortfall, ...]
    warnings: tuple[Finding, ...]
    notes: tuple[Finding, ...]

    @property
    def tier_text(self) -> str:
        if self.tier is None:
            return f"below {MEDIUM.name}"
        return f"{self.tier} (up to {self.max_calls} concurrent calls)"


def judge(facts: HostFacts, concurrent_calls: int | None = None, san: bool = False) -> Verdict:
    carried = carried_tier(facts)
    needed = tier_for_calls(concurrent_calls) if concurrent_calls is not None else None
    study = concurrent_calls is not None and needed is None
    target = needed if needed is not None else (MEDIUM if carried is None and not study
                                                else None)
    shortfalls = tier_shortfalls(facts, target) if target is not None else ()
    warnings: list[Finding] = []
    notes: list[Finding] = []
    if study:
        warnings.append(Finding("study-needed", f"{concurrent_calls} concurrent calls: more "
                                f"than {MAX_CALLS}, a study is needed; no standard tier applies"))
    _judge_storage(facts, san, warnings, notes)
    _judge_nics(facts, warnings, notes)
    if carried is not None and carried.sockets > 1 and (facts.cpu.sockets or 0) < carried.sockets:
        notes.append(Finding("one-socket", f"{carried.name} asks {carried.cpu_text}; "
                             f"{_cores(facts)} cores in {facts.cpu.sockets or '?'} socket(s) "
                             "are taken as enough"))
    if facts.virtualization.container:
        notes.append(Finding("container", f"gathered inside a {facts.virtualization.container} "
                             "container: disks and NICs are what the container sees"))
    vm = facts.virtualization.vm
    return Verdict(
        machine=f"virtual machine ({vm})" if vm else "physical server",
        tier=carried.name if carried else None,
        max_calls=carried.max_calls if carried else 0,
        concurrent_calls=concurrent_calls,
        needed_tier=needed.name if needed else None,
        study_needed=study,
        meets_need=None if needed is None else not shortfalls,
        shortfalls=shortfalls, warnings=tuple(warnings), notes=tuple(notes))


def carried_tier(facts: HostFacts) -> Tier | None:
    """The largest tier whose cores and memory the box meets."""
    fitting = [t for t in TIERS if not tier_shortfalls(facts, t)]
    return fitting[-1] if fitting else None


def tier_shortfalls(facts: HostFacts, tier: Tier) -> tuple[Shortfall, ...]:
    found = []
    if _cores(facts) < tier.cores:
        found.append(Shortfall("cores", _cores(facts), tier.cores, "cores", tier.name))
    memory = facts.memory.online_bytes or facts.memory.total_bytes
    if memory < tier.memory_gib * GIB * MEMORY_ALLOWANCE:
        found.append(Shortfall("memory", round(memory / GIB, 1), tier.memory_gib, "GiB",
                               tier.name))
    return tuple(found)


def _cores(facts: HostFacts) -> int:
    return facts.cpu.physical or facts.cpu.logical


def _judge_storage(facts: HostFacts, san: bool, warnings: list[Finding],
                   notes: list[Finding]) -> None:
    need_gb = COMMON.disk_min_gb_with_san if san else COMMON.disk_min_gb
    where = " (recordings on a SAN)" if san else ""
    disks = sorted(facts.disks, key=lambda d: d.size_bytes, reverse=True)
    if not disks:
        warnings.append(Finding("no-disk", "no disk found"))
        return
    mirrors = [a for a in facts.md_arrays if a.level == "raid1" and a.state.startswith("active")]
    for array in mirrors:
        if array.degraded:
            warnings.append(Finding("raid1-degraded", _degraded_text(array)))
    if facts.virtualization.is_vm and not mirrors:
        if disks[0].size_bytes < need_gb * GB:
            warnings.append(Finding("disk-small", f"{disks[0].name}: {_gb(disks[0])}, "
                                    f"the seed asks ≥{need_gb} GB{where}"))
        notes.append(Finding("vm-storage", "a virtual machine: one virtual disk is enough, "
                             "the datastore protects it"))
        return
    pair = _mirror_disks(mirrors, disks) or disks[:2]
    if not mirrors:
        if len(disks) == 1 and disks[0].model.lower().startswith(HW_RAID_MODELS):
            notes.append(Finding("hw-raid-volume", f"{disks[0].name} ({disks[0].model}) looks "
                                 "like a hardware RAID volume: check in the controller that "
                                 "it is RAID-1"))
        else:
            extra = "" if len(disks) == 1 else f" ({len(disks)} disks, none mirrored by md)"
            warnings.append(Finding("no-raid1", "installed on a single disk without RAID-1 "
                                    f"protection{extra}; the seed asks two equal disks in "
                                    "RAID-1, built before installing"))
    if len(pair) >= 2 and pair[-1].size_bytes < pair[0].size_bytes * (1 - EQUAL_DISK_TOLERANCE):
        warnings.append(Finding("disks-unequal", "disks of unequal size: " + ", ".join(
            f"{d.name} {_gb(d)}" for d in pair) + "; the mirror only uses the smaller"))
    small = [d for d in pair if d.size_bytes < need_gb * GB]
    if small:
        warnings.append(Finding("disk-small", ", ".join(f"{d.name}: {_gb(d)}" for d in small)
                                + f"; the seed asks ≥{need_gb} GB per disk{where}"))


def _mirror_disks(mirrors: list[MdArray], disks: list[Disk]) -> list[Disk]:
    members = {m for a in mirrors for m in a.members}
    return [d for d in disks if d.name in members or members & set(d.partitions)]


def _degraded_text(array: MdArray) -> str:
    detail = f"[{array.status}]" if array.status else ""
    if array.raid_disks is not None:
        detail += f" ({array.working_disks} of {array.raid_disks} members working)"
    if array.failed:
        detail += f"; failed: {', '.join(array.failed)}"
    if array.sync:
        detail += f"; {array.sync}"
    return f"RAID-1 {array.name} is degraded {detail.strip()}: replace or re-add the missing disk"


def _judge_nics(facts: HostFacts, warnings: list[Finding], notes: list[Finding]) -> None:
    nics = facts.nics
    need = COMMON.vm_nics if facts.virtualization.is_vm else COMMON.nics
    if len(nics) < need:
        names = ", ".join(n.name for n in nics) or "none"
        if facts.virtualization.is_vm:
            code = "vm-one-nic" if nics else "vm-no-nic"
            text = (f"a virtual machine with {_count(len(nics), 'NIC')} ({names}): the seed "
                    f"asks the virtual instance for {need} Ethernet interfaces, one for telephony")
        else:
            code = "one-nic" if nics else "no-nic"
            text = (f"{_count(len(nics), 'NIC')} ({names}): the seed asks {need} of "
                    f"≥{COMMON.nic_min_mbps} Mbps (one for the LAN, one for the HA mirror)")
        warnings.append(Finding(code, text))
    slow = [n for n in nics if n.speed_mbps is not None and n.speed_mbps < COMMON.nic_min_mbps]
    if slow:
        warnings.append(Finding("nic-slow", ", ".join(f"{n.name}: {n.speed_mbps} Mbps"
                                                      for n in slow)
                                + f"; the seed asks ≥{COMMON.nic_min_mbps} Mbps"))
    unknown = [n.name for n in nics if n.speed_mbps is None]
    if unknown:
        notes.append(Finding("nic-speed-unknown", f"{', '.join(unknown)}: link speed not "
                             f"reported (virtual driver or link down); ≥{COMMON.nic_min_mbps} "
                             "Mbps cannot be checked"))


def _gb(disk: Disk) -> str:
    return f"{disk.size_bytes / GB:.0f} GB"


def _count(n: int, noun: str) -> str:
    return f"{'no' if n == 0 else 'one' if n == 1 else n} {noun}{'' if n == 1 else 's'}"


def _num(value: float) -> str:
    return f"{value:g}"
