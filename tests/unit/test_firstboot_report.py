"""Report and status texts: what the technician reads at the end of a first boot."""

from __future__ import annotations

from pathlib import Path

from appliance.answers import load_answers
from appliance.runner import RecordingRunner, Result
from firstboot import engine
from firstboot.engine import ApplyReport, StepOutcome
from firstboot.host import Host
from firstboot.report import report_lines, status, status_lines
from tests.unit.firstboot_support import EXAMPLES, seed_root


def test_failed_report_names_the_step_and_lists_warnings() -> None:
    report = ApplyReport(False, (
        StepOutcome("hardware", "Checking hardware and RAID", "done", "physical server",
                    ("no RAID-1",)),
        StepOutcome("network", "Configuring the NICs", "failed", "nmcli: no device", ()),
    ), ("no RAID-1",))
    lines = report_lines(report)
    assert lines[1] == "[FAIL] Configuring the NICs: nmcli: no device"
    assert "  - no RAID-1" in lines
    assert lines[-1].startswith("eXpand NOT installed: step 'network' failed")
    assert report.as_dict()["failed_step"] == "network"


def test_status_of_a_root_cut_mid_way(tmp_path: Path) -> None:
    root = seed_root(tmp_path, "debian12")
    assert status_lines(status(root))[:2] == [
        "first boot: pending (the wizard runs at next boot)", "journal: none (never applied)"]
    runner = RecordingRunner(answers={("postmap",): Result((), 1, "", "postmap: fatal")})
    engine.apply(load_answers(EXAMPLES / "primary.toml"), root=root, runner=runner, live=True,
                 host=Host(("eth0", "eth1")))
    lines = status_lines(status(root))
    assert lines[0].startswith("first boot: pending")
    assert "incomplete (run again to resume)" in lines[1]
    assert lines[2] == "last report: FAILED at postfix"
