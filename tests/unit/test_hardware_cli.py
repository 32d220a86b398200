"""``expandctl hardware`` in process: output sections, JSON shape, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.cli import main
from appliance.filesink import FileSink
from hardware_profiles.faketree import write_fake_tree
from hardware_profiles.snapshot import load_facts

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "hardware"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["hardware", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_size_90_is_large(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "size", "--concurrent-calls", "90")
    assert code == 0
    assert "  Tier            Large\n" in out and "8 cores" in out and "64 GB RAM" in out
    assert "22.2 kbit/s" in out and "G.711" in out
    assert "the standard 500 GB mirror holds ≈3,000,000 minutes" in out


def test_size_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "size", "--concurrent-calls", "90",
                       "--recording-minutes", "3500000", "--json")
    data = json.loads(out)
    assert code == 0 and data["tier"] == "Large" and data["cores"] == 8
    assert data["recording"]["covered_by_standard"] is False
    assert data["recording"]["gb_needed"] == pytest.approx(583.3)


def test_size_above_240_exits_4_with_the_study_message(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "size", "--concurrent-calls", "241")
    assert code == 4 and "a study is needed" in out


def test_size_bad_number_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "size", "--concurrent-calls", "0")
    assert code == 1 and out == ""
    assert "concurrent calls must be a positive whole number, not 0" in err


@pytest.mark.parametrize(("snapshot", "calls", "code"), [
    ("medium-vm", None, 0), ("undersized", None, 0), ("medium-vm", "60", 0),
    ("medium-vm", "61", 3), ("large-physical", "300", 4), ("degraded-raid1", "30", 0)])
def test_check_exit_codes(capsys: pytest.CaptureFixture[str], snapshot: str,
                          calls: str | None, code: int) -> None:
    extra = ["--concurrent-calls", calls] if calls else []
    got, out, _ = run(capsys, "check", "--facts", str(FIXTURES / f"{snapshot}.json"),
                      "--json", *extra)
    assert got == code == json.loads(out)["exit_code"]


def test_check_text_has_sections(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "--facts", str(FIXTURES / "degraded-raid1.json"))
    assert code == 0
    for heading in ("Facts (snapshot ", "Verdict\n", "Warnings\n"):
        assert heading in out
    assert "md2 raid1 active [U_] members sda3 sdb3 DEGRADED" in out
    assert "Carries         Medium (up to 60 concurrent calls)" in out


def test_check_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "check", "--facts", str(FIXTURES / "undersized.json"), "--json",
                    "--concurrent-calls", "20")
    data = json.loads(out)
    assert set(data) == {"source", "facts", "verdict", "exit_code"}
    verdict = data["verdict"]
    assert verdict["tier"] is None and verdict["tier_text"] == "below Medium"
    assert verdict["meets_need"] is False and verdict["needed_tier"] == "Medium"
    assert verdict["shortfalls"][0] == {
        "what": "cores", "have": 2, "need": 4, "unit": "cores", "tier": "Medium",
        "short_by": 2, "message": "cores: 2 cores, Medium needs 4 (2 cores short)"}


def test_check_bad_snapshot_names_file_and_key(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"cpu": {"logical": -1}, "memory": {"total_bytes": 1}}')
    code, out, err = run(capsys, "check", "--facts", str(bad))
    assert code == 1 and out == ""
    assert f"{bad}: cpu.logical: must not be negative, not -1" in err


def test_facts_of_a_tree_saved_and_judged(capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    facts = load_facts(FIXTURES / "single-nic-vm.json")
    write_fake_tree(facts, FileSink(tmp_path / "tree"))
    saved = tmp_path / "box.json"
    code, out, _ = run(capsys, "facts", "--root", str(tmp_path / "tree"), "--save", str(saved))
    assert code == 0 and f"saved to {saved}" in out and "eth0 up, speed unknown" in out
    assert load_facts(saved).nics == facts.nics
    code, out, _ = run(capsys, "check", "--facts", str(saved), "--json")
    assert json.loads(out)["verdict"]["warnings"][0]["code"] == "vm-one-nic"


def test_help_teaches_exit_codes_and_tiers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["hardware", "check", "--help"])
    out = capsys.readouterr().out
    assert "exit codes:" in out and "a study is needed" in out and "examples:" in out
    assert "XLarge  121–240" in out
