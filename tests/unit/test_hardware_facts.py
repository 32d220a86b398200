"""Fact gathering below a fake /proc + /sys tree, parsers, and JSON snapshots."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.reports import ValidationFailed
from hardware_profiles.facts import gather_facts, parse_cpuinfo, parse_mdstat
from hardware_profiles.faketree import cpuinfo_text, write_fake_tree
from hardware_profiles.snapshot import (
    Cpu,
    HostFacts,
    facts_from_dict,
    facts_to_dict,
    facts_to_json,
    load_facts,
    save_facts,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "hardware"
SNAPSHOTS = sorted(p.stem for p in FIXTURES.glob("*.json"))

MDSTAT = """Personalities : [raid1] [raid6] [raid5] [raid4] [raid10]
md127 : active (auto-read-only) raid1 sdc1[1] sdd1[0]
      976630464 blocks super 1.2 [2/2] [UU]

md3 : active raid10 sdh[3] sdg[2] sdf[1] sde[0]
      1953260544 blocks super 1.2 512K chunks 2 near-copies [4/4] [UUUU]

md1 : active raid1 sdb2[2] sda2[0] sdx2[3](S)
      104790016 blocks super 1.2 [2/1] [U_]
      [=====>...............]  recovery = 27.3% (28651520/104790016) finish=6.3min speed=200000K/sec

md9 : inactive sdz1[0](S)
      1046528 blocks super 1.2

unused devices: <none>
"""


def test_parse_mdstat_levels_states_members_and_degraded() -> None:
    arrays = {a.name: a for a in parse_mdstat(MDSTAT)}
    assert list(arrays) == ["md127", "md3", "md1", "md9"]
    ro = arrays["md127"]
    assert (ro.level, ro.state, ro.members, ro.degraded) == (
        "raid1", "active (auto-read-only)", ("sdc1", "sdd1"), False)
    assert arrays["md3"].level == "raid10" and arrays["md3"].status == "UUUU"
    rebuilding = arrays["md1"]
    assert rebuilding.degraded and rebuilding.status == "U_"
    assert (rebuilding.raid_disks, rebuilding.working_disks) == (2, 1)
    assert rebuilding.spares == ("sdx2",) and rebuilding.failed == ()
    assert rebuilding.sync.startswith("recovery = 27.3%")
    inactive = arrays["md9"]
    assert (inactive.state, inactive.level, inactive.members) == ("inactive", "", ("sdz1",))


def test_parse_mdstat_failed_member() -> None:
    (array,) = parse_mdstat("md0 : active raid1 sda1[0] sdb1[1](F)\n"
                            "      1046528 blocks super 1.2 [2/1] [U_]\n")
    assert array.failed == ("sdb1",) and array.degraded


def test_parse_mdstat_without_arrays() -> None:
    assert parse_mdstat("Personalities : \nunused devices: <none>\n") == ()


def test_parse_cpuinfo_two_sockets_with_hyperthreads() -> None:
    cpu = Cpu(logical=32, physical=16, sockets=2, model="Xeon")
    assert parse_cpuinfo(cpuinfo_text(cpu)) == cpu


def test_parse_cpuinfo_without_topology() -> None:
    text = "processor\t: 0\nmodel name\t: ARMv8\n\nprocessor\t: 1\n"
    assert parse_cpuinfo(text) == Cpu(logical=2, physical=None, sockets=None, model="ARMv8")


@pytest.mark.parametrize("name", SNAPSHOTS)
def test_gathering_a_fake_tree_gives_the_snapshot_back(name: str, tmp_path: Path) -> None:
    facts = load_facts(FIXTURES / f"{name}.json")
    write_fake_tree(facts, FileSink(tmp_path))
    gathered = gather_facts(tmp_path)
    assert gathered.virtualization.vm == facts.virtualization.vm
    if facts.virtualization.is_vm:
        assert gathered.virtualization.source == "/sys/class/dmi/id"
    assert replace(gathered, virtualization=facts.virtualization, notes=()) == facts
    assert any("mdstat" in n for n in gathered.notes) is (not facts.md_arrays)


def test_gathering_skips_software_devices(tmp_path: Path) -> None:
    facts = load_facts(FIXTURES / "large-physical.json")
    sink = FileSink(tmp_path)
    write_fake_tree(facts, sink)
    sink.write("/sys/block/sdc/size", "60000000\n")   # a USB stick
    sink.write("/sys/block/sdc/removable", "1\n")
    sink.write("/sys/block/sr0/size", "8000000\n")
    gathered = gather_facts(tmp_path)
    assert [d.name for d in gathered.disks] == ["sda", "sdb"]  # not loop0, zram0, md*, sr0, sdc
    assert [n.name for n in gathered.nics] == ["eno1", "eno2"]  # not lo, veth0, br0
    assert (tmp_path / "sys/class/net/veth0").is_dir()


def test_hypervisor_flag_alone_says_some_vm(tmp_path: Path) -> None:
    sink = FileSink(tmp_path)
    sink.write("/proc/cpuinfo", cpuinfo_text(Cpu(logical=2), hypervisor=True))
    sink.write("/proc/meminfo", "MemTotal: 1024 kB\n")
    facts = gather_facts(tmp_path)
    assert facts.virtualization.vm == "unknown"
    assert "hypervisor flag" in facts.virtualization.source
    assert facts.disks == () and facts.nics == () and len(facts.notes) == 3


def test_empty_tree_is_bare_metal_with_notes(tmp_path: Path) -> None:
    facts = gather_facts(tmp_path)
    assert facts.cpu.logical == 0 and facts.memory.total_bytes == 0
    assert not facts.virtualization.is_vm
    assert any("MemTotal" in n for n in facts.notes)


@pytest.mark.parametrize("name", SNAPSHOTS)
def test_snapshots_round_trip_through_json(name: str, tmp_path: Path) -> None:
    path = FIXTURES / f"{name}.json"
    facts = load_facts(path)
    assert path.read_text() == facts_to_json(facts)  # fixtures are in canonical form
    assert facts_from_dict(json.loads(facts_to_json(facts))) == facts
    save_facts(facts, tmp_path / "copy.json")
    assert load_facts(tmp_path / "copy.json") == facts


def test_bad_snapshot_lists_every_problem_with_file_and_key(tmp_path: Path) -> None:
    data = facts_to_dict(load_facts(FIXTURES / "degraded-raid1.json"))
    data["cpu"]["logical"] = "8"
    data["memory"]["total_bytes"] = True
    data["disks"][1]["size_bytes"] = -5
    del data["md_arrays"][0]["level"]
    data["nics"][0]["colour"] = "blue"
    data["schema"] = 1
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValidationFailed) as caught:
        load_facts(path)
    assert [str(r) for r in caught.value.reports] == [
        f"{path}: cpu.logical: expected an integer, not \"8\"",
        f"{path}: memory.total_bytes: expected an integer, not true",
        f"{path}: disks[1].size_bytes: must not be negative, not -5",
        f"{path}: md_arrays[0].level: missing",
        f"{path}: nics[0].colour: unknown key",
    ]


def test_snapshot_schema_version_and_shape(tmp_path: Path) -> None:
    good = facts_to_dict(load_facts(FIXTURES / "medium-vm.json"))
    with pytest.raises(ValidationFailed, match="schema: version 2 is not supported"):
        facts_from_dict({**good, "schema": 2}, "x.json")
    with pytest.raises(ValidationFailed, match=r"x\.json: cpu: missing"):
        facts_from_dict({"memory": good["memory"]}, "x.json")
    with pytest.raises(ValidationFailed, match=r"x\.json: expected an object"):
        facts_from_dict([], "x.json")
    with pytest.raises(ValidationFailed, match="disks: expected a list"):
        facts_from_dict({**good, "disks": {}}, "x.json")


def test_unreadable_or_invalid_json_file(tmp_path: Path) -> None:
    with pytest.raises(ExpandError, match="cannot read facts snapshot"):
        load_facts(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValidationFailed, match=r"broken\.json: is not valid JSON"):
        load_facts(tmp_path / "broken.json")


def test_minimal_snapshot_gets_defaults() -> None:
    facts = facts_from_dict({"cpu": {"logical": 4}, "memory": {"total_bytes": 1}})
    assert facts == HostFacts(cpu=Cpu(logical=4), memory=facts.memory)
