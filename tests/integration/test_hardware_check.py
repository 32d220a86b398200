"""``expandctl hardware`` as a subprocess on this machine's real /proc and /sys, and on a
fake tree; snapshots saved by the CLI round-trip through JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped,unused-ignore]
import pytest

from appliance.filesink import FileSink
from hardware_profiles.facts import gather_facts
from hardware_profiles.faketree import write_fake_tree
from hardware_profiles.judge import judge
from hardware_profiles.render import verdict_dict
from hardware_profiles.snapshot import facts_from_dict, load_facts

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests/unit/fixtures/hardware"
VENV_CLI = REPO / ".venv/bin/expandctl"
EXPANDCTL = VENV_CLI if VENV_CLI.exists() else Path(sys.executable).parent / "expandctl"
VERDICT_KEYS = {"machine", "tier", "tier_text", "max_calls", "concurrent_calls", "needed_tier",
                "study_needed", "meets_need", "shortfalls", "warnings", "notes"}


def expandctl(*argv: str) -> tuple[int, Any]:
    proc = subprocess.run([str(EXPANDCTL), "hardware", *argv], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode in (0, 3, 4), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_check_json_on_this_machine() -> None:
    code, data = expandctl("check", "--json")
    assert code == 0 == data["exit_code"]  # no calls asked: a report, never a failure
    assert set(data) == {"source", "facts", "verdict", "exit_code"}
    assert data["source"].startswith("this machine")
    verdict = data["verdict"]
    assert set(verdict) == VERDICT_KEYS
    assert verdict["tier"] in (None, "Medium", "Large", "XLarge")
    assert all(set(w) == {"code", "message"} for w in verdict["warnings"] + verdict["notes"])
    facts = facts_from_dict(data["facts"], "stdout")  # the JSON is a valid snapshot
    assert facts.cpu.logical == os.cpu_count()
    assert facts.memory.total_bytes == psutil.virtual_memory().total
    assert {d.name for d in facts.disks} <= set(os.listdir("/sys/block"))
    for nic in facts.nics:
        assert Path(f"/sys/class/net/{nic.name}/device").exists()
    assert "lo" not in {n.name for n in facts.nics}


def test_live_facts_match_the_kernel() -> None:
    facts = gather_facts()
    cpuinfo = Path("/proc/cpuinfo").read_text()
    assert facts.cpu.logical == cpuinfo.count("\nprocessor") + cpuinfo.startswith("processor")
    for disk in facts.disks:
        sectors = int(Path(f"/sys/block/{disk.name}/size").read_text())
        assert disk.size_bytes == sectors * 512 > 0
    mdstat = Path("/proc/mdstat")
    if mdstat.exists():
        names = [line.split()[0] for line in mdstat.read_text().splitlines()
                 if line.startswith("md")]
        assert [a.name for a in facts.md_arrays] == names
    else:
        assert facts.md_arrays == () and any("mdstat" in n for n in facts.notes)
    if " hypervisor" in cpuinfo:
        assert facts.virtualization.vm  # a hypervisor is there, whatever its name


def test_calls_exit_code_follows_the_verdict() -> None:
    code, data = expandctl("check", "--json", "--concurrent-calls", "90")
    assert data["verdict"]["needed_tier"] == "Large"
    assert code == (3 if data["verdict"]["meets_need"] is False else 0)
    code, data = expandctl("check", "--json", "--concurrent-calls", "241")
    assert code == 4 and data["verdict"]["study_needed"] is True


def test_check_of_a_fake_tree(tmp_path: Path) -> None:
    fixture = load_facts(FIXTURES / "degraded-raid1.json")
    write_fake_tree(fixture, FileSink(tmp_path))
    code, data = expandctl("check", "--root", str(tmp_path), "--json",
                           "--concurrent-calls", "61")
    assert code == 3
    facts = facts_from_dict(data["facts"], "stdout")
    assert replace(facts, virtualization=fixture.virtualization, notes=()) == fixture
    assert [w["code"] for w in data["verdict"]["warnings"]] == ["raid1-degraded"] * 2
    assert data["verdict"]["needed_tier"] == "Large"


def test_saved_snapshot_round_trips(tmp_path: Path) -> None:
    saved = tmp_path / "this-box.json"
    _, printed = expandctl("facts", "--json", "--save", str(saved))
    assert json.loads(saved.read_text()) == printed
    code, data = expandctl("check", "--facts", str(saved), "--json")
    assert code == 0
    assert data["facts"] == printed
    assert data["verdict"] == json.loads(json.dumps(verdict_dict(judge(load_facts(saved)))))
    assert data["source"] == f"snapshot {saved}"


@pytest.mark.parametrize("calls", ["90", "1"])
def test_size_json_subprocess(calls: str) -> None:
    code, data = expandctl("size", "--concurrent-calls", calls, "--json")
    assert code == 0 and data["tier"] == {"90": "Large", "1": "Medium"}[calls]
