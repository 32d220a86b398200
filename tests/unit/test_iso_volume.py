"""ISO 9660 header checks and label rules, on small files written here."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from appliance.errors import ExpandError
from iso.base import check_label
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
    check_label(label, "label")


@pytest.mark.parametrize(("label", "message"), [
    ("Rocky 9 DVD", "contains spaces"), ("a:b", "not usable"), ("x" * 33, "not usable"),
    ("", "not usable")])
def test_bad_labels(label: str, message: str) -> None:
    with pytest.raises(ExpandError, match=message):
        check_label(label, "label")
