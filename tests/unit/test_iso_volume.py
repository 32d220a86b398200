"""ISO 9660 header checks and label rules, on small files written here."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from appliance.cli import main
from appliance.errors import ExpandError
from appliance.runner import RecordingRunner
from appliance.volume_label import check_volume_label, label_problem
from iso.build import BuildOptions, build_iso
from iso.xorriso import check_not_truncated, read_volume_header


def _image(path: Path, label: str, blocks: int, actual_blocks: int) -> Path:
    data = bytearray(actual_blocks * 2048)
    pvd = 16 * 2048
    data[pvd] = 1
    data[pvd + 1: pvd + 6] = b"CD001"
    data[pvd + 40: pvd + 72] = label.ljust(32).encode()
    struct.pack_into("<I", data, pvd + 80, blocks)
    struct.pack_into("<H", data, pvd + 128, 2048)
    path.write_bytes(bytes(data))
    return path


def test_header_read(tmp_path: Path) -> None:
    header = read_volume_header(_image(tmp_path / "a.iso", "Rocky-9-4-x86_64-dvd", 40, 40))
    assert header.volid == "Rocky-9-4-x86_64-dvd" and header.size_bytes == 40 * 2048


def test_truncated_is_named(tmp_path: Path) -> None:
    path = _image(tmp_path / "t.iso", "X", 400, 40)
    with pytest.raises(ExpandError, match="truncated"):
        check_not_truncated(path, read_volume_header(path))


def test_not_iso(tmp_path: Path) -> None:
    path = tmp_path / "r.iso"
    path.write_bytes(b"\x00" * 50_000)
    with pytest.raises(ExpandError, match="not an ISO 9660 image"):
        read_volume_header(path)


@pytest.mark.parametrize("label", ["Rocky-9-4-x86_64-dvd", "AlmaLinux-9-4-x86_64-dvd", "A.b_c"])
def test_good_labels(label: str) -> None:
    check_volume_label(label, "label")


@pytest.mark.parametrize(("label", "message"), [
    ("Rocky 9 DVD", "contains spaces"), ("a:b", "not usable"), ("x" * 33, "longer than 32"),
    ("", "is empty"), ("a'b", "not usable"), ("a\tb", "contains spaces")])
def test_bad_labels(label: str, message: str) -> None:
    with pytest.raises(ExpandError, match=message):
        check_volume_label(label, "label")


LABELS = ["Rocky-9-4-x86_64-dvd", "A.b_c", "x" * 32, "x" * 33, "", "Rocky 9", "a:b", "a'b",
          'a"b', "a\\b", "é", "a;b"]


@pytest.mark.parametrize("label", LABELS)
def test_iso_and_kickstart_apply_one_label_rule(tmp_path: Path, label: str) -> None:
    """The same verdict from both CLIs, each naming --volid when it refuses."""
    good = label_problem(label) is None
    code = main(["kickstart", "render", "--volid", label, "-o", str(tmp_path / "ks.cfg")])
    assert (code == 0) == good
    assert (tmp_path / "ks.cfg").exists() == good
    with pytest.raises(ExpandError) as refused:
        build_iso(BuildOptions(tmp_path / "base.iso", tmp_path / "out.iso", volid=label),
                  RecordingRunner())
    assert str(refused.value).startswith("--volid ") != good  # good: the missing base stops it


def test_kickstart_render_names_the_argument(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kickstart", "render", "--volid", "Rocky 9"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("expandctl: error: --volid 'Rocky 9' contains spaces")
    assert len(err.strip().splitlines()) == 1
