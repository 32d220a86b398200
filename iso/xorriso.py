"""What xorriso and the ISO 9660 headers tell about an image, without extracting it."""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from appliance.errors import ExpandError
from appliance.runner import Runner

SECTOR = 2048
PVD_OFFSET = 16 * SECTOR


@dataclass(frozen=True)
class VolumeHeader:
    """The primary volume descriptor fields this toolkit relies on."""

    volid: str
    size_bytes: int  # what the image claims; a shorter file is truncated


def read_volume_header(path: Path) -> VolumeHeader:
    """Read the PVD; raises ExpandError naming the file when it is not ISO 9660."""
    try:
        with path.open("rb") as fh:
            fh.seek(PVD_OFFSET)
            pvd = fh.read(SECTOR)
    except OSError as exc:
        raise ExpandError(f"{path}: cannot read: {exc.strerror}") from exc
    if len(pvd) < SECTOR or pvd[0] != 1 or pvd[1:6] != b"CD001":
        raise ExpandError(f"{path}: not an ISO 9660 image (no primary volume descriptor)")
    volid = pvd[40:72].decode("ascii", errors="replace").rstrip(" \0")
    blocks = struct.unpack_from("<I", pvd, 80)[0]
    block_size = struct.unpack_from("<H", pvd, 128)[0] or SECTOR
    return VolumeHeader(volid, blocks * block_size)


def check_not_truncated(path: Path, header: VolumeHeader) -> None:
    actual = os.path.getsize(path)
    if actual < header.size_bytes:
        raise ExpandError(
            f"{path}: truncated: the file has {actual} bytes but the image claims "
            f"{header.size_bytes} (an interrupted download or copy?)")


@dataclass(frozen=True)
class BootImage:
    platform: str  # "BIOS" or "UEFI"
    path: str | None


@dataclass(frozen=True)
class IsoReport:
    volid: str
    boot_images: tuple[BootImage, ...]
    system_area: str  # e.g. "MBR isohybrid cyl-align-on GPT"
    mbr_partitions: int
    gpt: bool
    present: frozenset[str] = field(default_factory=frozenset)

    @property
    def bios(self) -> bool:
        return any(b.platform == "BIOS" for b in self.boot_images)

    @property
    def uefi(self) -> bool:
        return any(b.platform == "UEFI" for b in self.boot_images)

    def boot_path(self, platform: str) -> str | None:
        return next((b.path for b in self.boot_images if b.platform == platform), None)


def report(runner: Runner, iso: Path, paths: Sequence[str] = ()) -> IsoReport:
    """Boot records, system area and which of ``paths`` exist, in one xorriso run."""
    argv = ["xorriso", "-abort_on", "FAILURE", "-return_with", "FAILURE", "32",
            "-indev", str(iso), "-report_el_torito", "plain", "-report_system_area", "plain"]
    if paths:
        argv += ["-lsd", *paths, "--"]
    result = runner.run(argv, check=False, timeout=300)
    text = result.stdout + "\n" + result.stderr
    if result.returncode != 0 or "Volume id" not in text:
        tail = "; ".join(result.stderr.strip().splitlines()[-3:])
        raise ExpandError(f"{iso}: xorriso cannot read the image: {tail}")
    volid = _first(r"^Volume id\s*:\s*'(.*)'", text) or ""
    platforms = dict(re.findall(r"^El Torito boot img :\s+(\d+)\s+(\S+)", text, re.M))
    img_paths = dict(re.findall(r"^El Torito img path :\s+(\d+)\s+(.+)$", text, re.M))
    boot = tuple(BootImage(p, img_paths.get(n)) for n, p in sorted(platforms.items()))
    present = frozenset(re.findall(r"^'(/[^']*)'$", text, re.M))
    return IsoReport(
        volid=volid,
        boot_images=boot,
        system_area=_first(r"^System area summary:\s*(.*)$", text) or "none",
        mbr_partitions=len(re.findall(r"^MBR partition\s*:", text, re.M)),
        gpt=bool(re.search(r"^GPT\s", text, re.M)),
        present=present,
    )


def _first(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text, re.M)
    return match.group(1).strip() if match else None


def extract(runner: Runner, iso: Path, pairs: Sequence[tuple[str, Path]]) -> None:
    """Copy files out of the image (``(iso_path, host_path)``), made writable."""
    argv = ["xorriso", "-osirrox", "on", "-indev", str(iso)]
    for iso_path, host in pairs:
        host.parent.mkdir(parents=True, exist_ok=True)
        argv += ["-extract", iso_path, str(host)]
    runner.run(argv, timeout=300)
    for _, host in pairs:
        # osirrox keeps the ISO's read-only modes; edits (mtools) need write access.
        host.chmod(0o644)
