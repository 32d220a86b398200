"""The appended session, written before the copy, on a sparse stand-in of the base.

``xorriso -dev COPY`` on a full copy of the base writes two things: the new session
after the base's end, and a new head (system area: MBR, GPT; volume descriptors) over
its first 64 KiB. To know both before the base is streamed (the output's MD5 must be
fed in order), the same command runs first on a *shadow*: a sparse file as long as the
base holding only what xorriso reads of it. That is everything except the data of
regular files: descriptors, path tables, directory records, the boot catalog, gaps,
the last 64 KiB (xorriso reads it), plus the boot images' data (isolinux.bin's boot
info table is patched into a new copy). The output is then the base with the shadow's
filled ranges laid over it, followed by the shadow's tail.

A write by xorriso outside the filled ranges (an unexpected layout) is refused before
any output exists, so the copy never mixes in zeros from a hole.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ExpandError
from appliance.runner import Runner
from iso.remaster import Mapping, remaster_argv

SECTOR = 2048
ALIGN = 64 * 1024  # filled ranges cover whole file-system blocks, so no half-hole reads
Span = tuple[int, int]  # [start, end) in bytes

_LBA_RE = re.compile(r"^File data lba:\s*\d+\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*\d+\s*,\s*'(.*)'$",
                     re.M)
_BOOT_RE = re.compile(r"^El Torito img path :\s+\d+\s+(.+)$", re.M)
_INTERVAL_RE = re.compile(r"--interval:(?:imported_iso|local_fs):(\d+)([sd]?)-(\d+)([sd]?)")


@dataclass(frozen=True)
class Session:
    shadow: Path
    base_size: int
    size: int  # bytes of the output image
    filled: tuple[Span, ...]  # ranges of [0, base_size) the output takes from the shadow


def merge(spans: Sequence[Span]) -> list[Span]:
    out: list[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def complement(spans: Sequence[Span], size: int) -> list[Span]:
    gaps, at = [], 0
    for start, end in merge(spans):
        if start > at:
            gaps.append((at, min(start, size)))
        at = max(at, end)
    if at < size:
        gaps.append((at, size))
    return [g for g in gaps if g[1] > g[0]]


def widen(spans: Sequence[Span], size: int, align: int = ALIGN) -> list[Span]:
    return merge([(s // align * align, min(-(-e // align) * align, size)) for s, e in spans])


def fill_plan(listing: str, size: int) -> list[Span]:
    """Byte ranges of the base the shadow needs, from xorriso's LBA and boot report."""
    boot = {p.strip() for p in _BOOT_RE.findall(listing)}
    data = [(int(lba) * SECTOR, (int(lba) + int(blocks)) * SECTOR)
            for lba, blocks, path in _LBA_RE.findall(listing) if path not in boot]
    needed = complement(data, size)
    needed.append((0, min(ALIGN, size)))
    needed.append((max(size - ALIGN, 0), size))
    for first, unit1, last, unit2 in _INTERVAL_RE.findall(listing):
        scale1, scale2 = (512 if u == "d" else SECTOR for u in (unit1, unit2))
        needed.append((int(first) * scale1, (int(last) + 1) * scale2))
    return widen([(s, min(e, size)) for s, e in needed], size)


def listing_argv(base: Path) -> list[str]:
    return ["xorriso", "-abort_on", "FAILURE", "-indev", str(base),
            "-report_el_torito", "plain", "-report_system_area", "as_mkisofs",
            "-find", "/", "-type", "f", "-exec", "report_lba", "--"]


def write_session(runner: Runner, base: Path, shadow: Path, volid: str,
                  maps: Sequence[Mapping]) -> Session:
    """Run the append on ``shadow`` (created here); the caller removes it."""
    size = base.stat().st_size
    listing = runner.run(listing_argv(base), timeout=600)
    filled = fill_plan(listing.stdout + "\n" + listing.stderr, size)
    _fill(base, shadow, size, filled)
    runner.run(remaster_argv(None, shadow, volid, maps), timeout=3600)
    stray = [s for s in data_extents(shadow, size) if not _inside(s, filled)]
    if stray:
        raise ExpandError(f"{base}: xorriso changed the image at byte {stray[0][0]}, outside "
                          "its metadata; build it with --rewrite")
    return Session(shadow, size, shadow.stat().st_size, tuple(filled))


def _fill(base: Path, shadow: Path, size: int, filled: Sequence[Span]) -> None:
    src = os.open(base, os.O_RDONLY)
    try:
        dst = os.open(shadow, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(dst, size)
            for start, end in filled:  # a few MB: plain reads (copy_file_range fails
                at = start                 # across file systems on older kernels)
                while at < end:
                    data = os.pread(src, min(end - at, 8 * 1024 * 1024), at)
                    if not data:
                        raise ExpandError(f"{base}: short read at byte {at}")
                    at += os.pwrite(dst, data, at)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def data_extents(path: Path, limit: int) -> list[Span]:
    """Allocated ranges of a sparse file below ``limit`` (SEEK_DATA / SEEK_HOLE)."""
    spans: list[Span] = []
    fd = os.open(path, os.O_RDONLY)
    try:
        at = 0
        while at < limit:
            try:
                start = os.lseek(fd, at, os.SEEK_DATA)
            except OSError:  # ENXIO: no data after ``at``
                break
            if start >= limit:
                break
            end = os.lseek(fd, start, os.SEEK_HOLE)
            spans.append((start, min(end, limit)))
            at = end
    finally:
        os.close(fd)
    return spans


def _inside(span: Span, filled: Sequence[Span]) -> bool:
    return any(s <= span[0] and span[1] <= e for s, e in filled)
