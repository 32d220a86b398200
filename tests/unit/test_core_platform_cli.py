"""Platform detection from os-release, and the thin CLI's exit codes and messages."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from appliance.cli import main
from appliance.errors import ExpandError
from appliance.platform import FAMILIES, detect

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("text", "family", "backend"), [
    ('ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n', "rhel", "networkmanager"),
    ('ID="almalinux"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n', "rhel", "networkmanager"),
    ('ID=debian\nVERSION_ID="12"\n', "debian", "networkd"),
    ('ID=debian\nVERSION_ID="13"\n', "debian", "networkd"),
])
def test_platform_detect(tmp_path: Path, text: str, family: str, backend: str) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text(text)
    found = detect(tmp_path)
    assert (found.family, found.network_backend) == (family, backend)


def test_platform_unknown_and_missing(tmp_path: Path) -> None:
    with pytest.raises(ExpandError, match="cannot tell"):
        detect(tmp_path)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text("ID=arch\n")
    with pytest.raises(ExpandError, match="unsupported distribution 'arch'"):
        detect(tmp_path)


def test_validate_examples_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(str(p) for p in (REPO / "examples/answers").glob("*.toml"))
    assert main(["answers", "validate", *files]) == 0
    assert "valid" in capsys.readouterr().out


def test_validate_bad_file_lists_every_problem_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "primary.toml"
    bad.write_text('mode = "primary"\n[network]\nvirtual-ip = "198.51.100.300"\n'
                   'netmask = "255.0.255.0"\n')
    before = sorted(os.listdir(tmp_path))
    assert main(["answers", "validate", str(bad)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert f"{bad}: network.virtual-ip: 198.51.100.300 is not an IPv4 address" in err
    assert any("network.netmask" in line for line in err)
    assert any("network.primary-ip: is required" in line for line in err)
    assert sorted(os.listdir(tmp_path)) == before


def test_validate_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "b.toml"
    bad.write_text("mode = 1\n")
    good = REPO / "examples/answers/standalone.toml"
    assert main(["answers", "validate", "--json", str(good), str(bad)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert [f["ok"] for f in data["files"]] == [True, False]
    assert {"source", "key", "message"} <= set(data["files"][1]["problems"][0])


def test_keys_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["answers", "keys", "--json"]) == 0
    keys = {row["key"] for row in json.loads(capsys.readouterr().out)}
    assert "network.virtual-ip" in keys
    assert main(["answers", "show", str(REPO / "examples/answers/primary.toml")]) == 0
    shown = capsys.readouterr().out
    assert 'virtual-ip = "198.51.100.100"' in shown
    assert "demo-Smtp-Secret-42" not in shown


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as code:
        main(["--help"])
    assert code.value.code == 0
    assert "answers" in capsys.readouterr().out


def test_readme_key_table_matches_the_field_table() -> None:
    from appliance.cmd_answers import keys_markdown

    readme = (REPO / "README.md").read_text()
    start = readme.index("<!-- answers-keys:begin -->\n") + len("<!-- answers-keys:begin -->\n")
    end = readme.index("<!-- answers-keys:end -->")
    assert readme[start:end] == keys_markdown(), (
        "README.md key table is stale: regenerate with `expandctl answers keys --markdown`")


def test_help_fills_prose_and_keeps_examples(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    with pytest.raises(SystemExit):
        main(["lab", "--help"])
    out = capsys.readouterr().out
    description = out.split("\n\n")[1]
    assert max(len(line) for line in description.splitlines()) <= 60
    assert "appliance nodes configured by their own unattended first" in " ".join(
        description.split())
    # an example keeps its own line and its comment column, even past 60 columns
    assert any(line.startswith("  expandctl lab up --appliance ") and "# the same" in line
               for line in out.splitlines())


def test_detect_takes_the_family_record_with_the_machines_own_id(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text('ID="almalinux"\nID_LIKE="rhel"\nVERSION_ID="9.4"\n')
    found = detect(tmp_path)
    assert (found.id, found.version) == ("almalinux", "9.4")
    assert dataclasses.replace(found, id="rocky", version="9") == FAMILIES["rhel"]


# Distribution differences that belong in appliance/platform.py's table only.
DISTRO_LITERALS = ("platform.family ==", "is_rhel", "/etc/systemd/network",
                   "/etc/NetworkManager", "cyrus-sasl", "libsasl2", "/etc/timezone",
                   "systemd-networkd.service", "sasl2/libplain", "pacemaker-cli-utils",
                   "fence-agents-all")


@pytest.mark.parametrize("path", sorted(
    [*(REPO / "firstboot/steps").glob("*.py"), REPO / "firstboot/network_safety.py"]),
    ids=lambda p: p.name)
def test_steps_read_distribution_differences_from_the_platform(path: Path) -> None:
    code = path.read_text()
    assert [w for w in DISTRO_LITERALS if w in code] == []
