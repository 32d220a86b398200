"""The pure judge on saved fact snapshots, and on variations of them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardware_profiles.judge import Finding, Verdict, carried_tier, judge
from hardware_profiles.snapshot import (
    Cpu,
    Disk,
    HostFacts,
    Memory,
    Nic,
    Virtualization,
    load_facts,
)
from hardware_profiles.tiers import GB, GIB, TIERS

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "hardware"


def snapshot(name: str) -> HostFacts:
    return load_facts(FIXTURES / f"{name}.json")


def codes(findings: tuple[Finding, ...]) -> list[str]:
    return [f.code for f in findings]


@pytest.mark.parametrize(("name", "tier", "warnings"), [
    ("medium-vm", "Medium", []),
    ("undersized", None, []),
    ("single-nic-vm", "Large", ["vm-one-nic"]),
    ("degraded-raid1", "Medium", ["raid1-degraded", "raid1-degraded"]),
    ("large-physical", "Large", []),
])
def test_snapshot_verdicts(name: str, tier: str | None, warnings: list[str]) -> None:
    verdict = judge(snapshot(name))
    assert verdict.tier == tier
    assert codes(verdict.warnings) == warnings
    assert verdict.meets_need is None and not verdict.study_needed


def test_medium_vm_is_a_vmware_vm_with_nothing_to_warn() -> None:
    verdict = judge(snapshot("medium-vm"))
    assert verdict.machine == "virtual machine (vmware)"
    assert verdict.tier_text == "Medium (up to 60 concurrent calls)"
    assert verdict.shortfalls == ()
    assert "vm-storage" in codes(verdict.notes)


def test_undersized_box_names_what_it_lacks_and_by_how_much() -> None:
    verdict = judge(snapshot("undersized"))
    assert verdict.tier_text == "below Medium"
    by_what = {s.what: s for s in verdict.shortfalls}
    assert by_what["cores"].short_by == 2 and by_what["cores"].tier == "Medium"
    assert by_what["memory"].short_by == 24
    assert by_what["memory"].message == "memory: 8 GiB, Medium needs 32 (24 GiB short)"
    assert by_what["cores"].message == "cores: 2 cores, Medium needs 4 (2 cores short)"


def test_single_nic_vm_warning_says_vm_and_two_nics() -> None:
    (warning,) = judge(snapshot("single-nic-vm")).warnings
    assert "virtual machine with one NIC (eth0)" in warning.message
    assert "2 Ethernet interfaces" in warning.message


def test_degraded_raid1_names_array_status_and_failed_member() -> None:
    first, second = judge(snapshot("degraded-raid1")).warnings
    assert "md2" in first.message and "[U_]" in first.message and "sdb3" in first.message
    assert "1 of 2 members working" in second.message and "md1" in second.message


@pytest.mark.parametrize(("name", "calls", "meets", "needed"), [
    ("medium-vm", 60, True, "Medium"),
    ("medium-vm", 61, False, "Large"),
    ("large-physical", 120, True, "Large"),
    ("large-physical", 121, False, "XLarge"),
    ("undersized", 1, False, "Medium"),
])
def test_concurrent_calls_say_whether_the_box_meets_the_tier(
        name: str, calls: int, meets: bool, needed: str) -> None:
    verdict = judge(snapshot(name), concurrent_calls=calls)
    assert verdict.needed_tier == needed
    assert verdict.meets_need is meets
    assert bool(verdict.shortfalls) is not meets
    assert all(s.tier == needed for s in verdict.shortfalls)


def test_shortfalls_against_the_needed_tier() -> None:
    verdict = judge(snapshot("medium-vm"), concurrent_calls=61)
    assert [(s.what, s.have, s.need) for s in verdict.shortfalls] == [
        ("cores", 4, 8), ("memory", 32.0, 64)]


def test_more_than_240_calls_needs_a_study_not_a_tier() -> None:
    verdict = judge(snapshot("large-physical"), concurrent_calls=241)
    assert verdict.study_needed and verdict.meets_need is None and verdict.needed_tier is None
    assert codes(verdict.warnings) == ["study-needed"]


def physical(facts: HostFacts, **changes: Any) -> HostFacts:
    return replace(facts, virtualization=Virtualization(source="test"), **changes)


def test_single_physical_disk_is_installed_without_raid1() -> None:
    facts = physical(snapshot("large-physical"), md_arrays=(),
                     disks=(Disk("sda", 600 * GB, True, "ST600MM0009"),))
    (warning,) = judge(facts).warnings
    assert warning.code == "no-raid1"
    assert "installed on a single disk without RAID-1 protection" in warning.message


def test_two_unmirrored_disks_are_no_raid1() -> None:
    facts = physical(snapshot("large-physical"), md_arrays=())
    assert codes(judge(facts).warnings) == ["no-raid1"]


def test_hardware_raid_volume_is_noted_not_warned() -> None:
    facts = physical(snapshot("large-physical"), md_arrays=(),
                     disks=(Disk("sda", 599 * GB, False, "PERC H730P Mini"),))
    verdict = judge(facts)
    assert verdict.warnings == ()
    assert "hw-raid-volume" in codes(verdict.notes)


def test_unequal_mirror_disks_are_warned() -> None:
    large = snapshot("large-physical")
    disks = (large.disks[0], replace(large.disks[1], size_bytes=1000 * GB))
    verdict = judge(replace(large, disks=disks))
    assert codes(verdict.warnings) == ["disks-unequal"]
    assert "sda 600 GB" in verdict.warnings[0].message


@pytest.mark.parametrize(("size_gb", "san", "small"), [
    (300, False, True), (500, False, False), (300, True, False), (80, True, True)])
def test_disk_size_against_500_gb_or_100_gb_with_san(size_gb: int, san: bool, small: bool) -> None:
    large = snapshot("large-physical")
    disks = tuple(replace(d, size_bytes=size_gb * GB) for d in large.disks)
    warnings = judge(replace(large, disks=disks), san=san).warnings
    assert ("disk-small" in codes(warnings)) is small
    if small:
        assert ("100 GB" if san else "500 GB") in warnings[-1].message


def test_small_vm_disk_is_warned_unless_recordings_are_on_a_san() -> None:
    vm = snapshot("medium-vm")
    facts = replace(vm, disks=(replace(vm.disks[0], size_bytes=400 * GB),))
    assert codes(judge(facts).warnings) == ["disk-small"]
    assert judge(facts, san=True).warnings == ()


def test_nic_counts_and_speeds() -> None:
    large = snapshot("large-physical")
    assert codes(judge(replace(large, nics=large.nics[:1])).warnings) == ["one-nic"]
    assert codes(judge(replace(large, nics=())).warnings) == ["no-nic"]
    assert codes(judge(replace(snapshot("medium-vm"), nics=())).warnings) == ["vm-no-nic"]
    slow = (large.nics[0], replace(large.nics[1], speed_mbps=10))
    assert codes(judge(replace(large, nics=slow)).warnings) == ["nic-slow"]


@pytest.mark.parametrize(("total_gib", "online_gib", "tier"), [
    (31.3, None, "Medium"), (30.0, None, None), (23.0, 32, "Medium"), (62.0, None, "Large")])
def test_memory_allows_what_firmware_and_kernel_keep(
        total_gib: float, online_gib: int | None, tier: str | None) -> None:
    memory = Memory(int(total_gib * GIB), online_gib * GIB if online_gib else None)
    facts = replace(snapshot("large-physical"), memory=memory)
    assert judge(facts).tier == tier


def test_hyperthreads_are_not_cores() -> None:
    facts = replace(snapshot("medium-vm"), cpu=Cpu(logical=8, physical=2, sockets=1))
    assert judge(facts).tier is None


def test_xlarge_in_one_socket_is_noted() -> None:
    big = replace(snapshot("large-physical"), memory=Memory(64 * GIB),
                  cpu=Cpu(logical=32, physical=16, sockets=1))
    assert judge(big).tier == "XLarge" and "one-socket" in codes(judge(big).notes)
    two = replace(big, cpu=Cpu(logical=32, physical=16, sockets=2))
    assert "one-socket" not in codes(judge(two).notes)


def test_judge_is_pure() -> None:
    facts = snapshot("degraded-raid1")
    assert judge(facts, 60, san=True) == judge(facts, 60, san=True)
    assert facts == snapshot("degraded-raid1")


boxes = st.builds(
    lambda cores, gib: HostFacts(cpu=Cpu(logical=cores * 2, physical=cores, sockets=2),
                                 memory=Memory(gib * GIB), nics=(Nic("a"), Nic("b"))),
    st.integers(1, 64), st.integers(1, 256))


@given(boxes, st.integers(0, 32), st.integers(0, 128))
def test_more_cores_or_memory_never_lowers_the_tier(box: HostFacts, more_cores: int,
                                                    more_gib: int) -> None:
    bigger = replace(box, cpu=replace(box.cpu, physical=(box.cpu.physical or 0) + more_cores),
                     memory=Memory(box.memory.total_bytes + more_gib * GIB))
    rank: dict[str | None, int] = {None: -1, **{t.name: i for i, t in enumerate(TIERS)}}
    assert rank[judge(bigger).tier] >= rank[judge(box).tier]


@given(boxes, st.integers(1, 240))
def test_meets_the_need_exactly_when_the_carried_tier_carries_the_calls(
        box: HostFacts, calls: int) -> None:
    verdict: Verdict = judge(box, concurrent_calls=calls)
    carried = carried_tier(box)
    assert verdict.meets_need == (carried is not None and carried.max_calls >= calls)
