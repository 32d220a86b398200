"""The isomd5sum media checksum (anaconda's "Test this media"), computed while streaming.

Mirrors rhinstaller/isomd5sum (libimplantisomd5.c, libcheckisomd5.c, utilities.c) so an
image can get its checksum without the second full read ``implantisomd5`` makes:

- the MD5 covers bytes ``[0, volume size - SKIPSECTORS * 2048)`` (the size from the
  primary volume descriptor, not the file), with the PVD's 512-byte application-use
  area (offset 883) read as spaces, since that is where the result is written;
- a fragment sum is taken after the 32 KiB read whose start first reaches each of the
  ``FRAGMENT COUNT + 1`` equal parts: one hex character per digest byte (``%01x``
  truncated to one character), ``60 / FRAGMENT COUNT`` of them per fragment;
- the text is ``ISO MD5SUM = ...;SKIPSECTORS = 15;RHLISOSTATUS=0;FRAGMENT SUMS = ...;
  FRAGMENT COUNT = 20;THIS IS NOT THE SAME AS RUNNING MD5SUM ON THIS ISO!!``, padded
  with spaces to 512 bytes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

SECTOR = 2048
PVD_OFFSET = 16 * SECTOR  # isomd5sum only finds a PVD that is the first descriptor
APPDATA_OFFSET = 883  # ECMA-119 8.4.32, within the PVD
APPDATA_SIZE = 512
SKIPSECTORS = 15  # left out at the end: burned CDs misread their last sectors
FRAGMENT_COUNT = 20
FRAGMENT_SUM_SIZE = 60
READ_SIZE = 16 * SECTOR  # isomd5sum's read size; fragment sums fall on its boundaries
SIZE_OFFSET = 84  # volume space size, big-endian half of the both-endian field


@dataclass(frozen=True)
class ImplantedSum:
    """What an image's application-use area says about its checksum."""

    md5: str
    skip_sectors: int
    fragment_sums: str
    fragment_count: int
    supported: int = 0


def appdata_span(pvd_at: int = PVD_OFFSET) -> tuple[int, int]:
    start = pvd_at + APPDATA_OFFSET
    return start, start + APPDATA_SIZE


def volume_bytes(pvd: bytes) -> int:
    """The image size the PVD claims (isomd5sum reads the big-endian copy)."""
    return int.from_bytes(pvd[SIZE_OFFSET:SIZE_OFFSET + 4], "big") * SECTOR


def is_pvd(sector: bytes) -> bool:
    return len(sector) >= SECTOR and sector[0] == 1 and sector[1:6] == b"CD001"


def parse_appdata(appdata: bytes) -> ImplantedSum | None:
    """The implanted checksum, or None when there is none (checkisomd5's 'NOT_FOUND')."""
    text = appdata[:APPDATA_SIZE - 1].decode("latin-1")
    md5 = re.search(r"ISO MD5SUM = ([0-9a-fA-F]{32})", text)
    skip = re.search(r"SKIPSECTORS = (\d+);", text)
    if not md5 or not skip:  # parsepvd gives up without both
        return None
    frags = re.search(r"FRAGMENT SUMS = (\S{" + str(FRAGMENT_SUM_SIZE) + "})", text)
    count = re.search(r"FRAGMENT COUNT = (\d+);", text)
    status = re.search(r"RHLISOSTATUS=(\d+);", text)
    return ImplantedSum(md5=md5.group(1).lower(), skip_sectors=int(skip.group(1)),
                        fragment_sums=frags.group(1) if frags else "",
                        fragment_count=int(count.group(1)) if count else FRAGMENT_COUNT,
                        supported=int(status.group(1)) if status else 0)


def format_appdata(md5: str, fragment_sums: str, supported: int = 0) -> bytes:
    """The 512 bytes implantisomd5 writes (its order, separators and trailer)."""
    text = (f"ISO MD5SUM = {md5};SKIPSECTORS = {SKIPSECTORS};RHLISOSTATUS={supported};"
            f"FRAGMENT SUMS = {fragment_sums};FRAGMENT COUNT = {FRAGMENT_COUNT};"
            "THIS IS NOT THE SAME AS RUNNING MD5SUM ON THIS ISO!!")
    data = text.encode("ascii")
    if len(data) >= APPDATA_SIZE:
        raise ValueError("isomd5 application data too long")
    return data.ljust(APPDATA_SIZE, b" ")


def fragment_points(total: int, count: int = FRAGMENT_COUNT) -> list[int]:
    """Offsets after which isomd5sum takes a fragment sum (end of the 32 KiB read whose
    start is the first in a new fragment; a fragment smaller than a read is skipped)."""
    if count <= 0 or total < count + 1:
        return []
    size = total // (count + 1)
    points: list[int] = []
    previous = 0
    while True:
        start = -(-(previous + 1) * size // READ_SIZE) * READ_SIZE  # first read in a new part
        if start >= total:
            return points
        points.append(min(start + READ_SIZE, total))
        previous = start // size


def fragment_chars(digest: bytes, count: int = FRAGMENT_COUNT) -> str:
    per = FRAGMENT_SUM_SIZE // count if count else 0
    return "".join(format(b, "x")[0] for b in digest[:per])


class MediaDigest:
    """The isomd5sum MD5 of an image fed in order, chunk after chunk, from offset 0."""

    def __init__(self, total: int, pvd_at: int = PVD_OFFSET,
                 fragment_count: int = FRAGMENT_COUNT,
                 expected_fragments: str = "") -> None:
        self.total = total
        self.fragment_count = fragment_count
        self.expected_fragments = expected_fragments
        self.fragment_sums = ""
        self.fragment_mismatch = False
        self._blank = appdata_span(pvd_at)
        self._points = fragment_points(total, fragment_count)
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._pos = 0

    @property
    def position(self) -> int:
        return self._pos

    def update(self, data: bytes | bytearray | memoryview) -> None:
        start = self._pos
        self._pos += len(data)
        end = min(self._pos, self.total)
        if end <= start:
            return
        view = memoryview(data)[:end - start]
        lo, hi = self._blank
        if start < hi and end > lo:  # the checksum's own field reads as spaces
            patched = bytearray(view)
            a, b = max(lo, start) - start, min(hi, end) - start
            patched[a:b] = b" " * (b - a)
            view = memoryview(patched)
        at = start
        while self._points and self._points[0] <= end:
            point = self._points.pop(0)
            self._md5.update(view[at - start:point - start])
            at = point
            self._take_fragment()
        self._md5.update(view[at - start:])

    def _take_fragment(self) -> None:
        chars = fragment_chars(self._md5.copy().digest(), self.fragment_count)
        if self.expected_fragments:
            at = len(self.fragment_sums)
            if self.expected_fragments[at:at + len(chars)] != chars:
                self.fragment_mismatch = True
        self.fragment_sums += chars

    def hexdigest(self) -> str:
        if self._pos < self.total:
            raise ValueError(f"media digest fed {self._pos} of {self.total} bytes")
        return self._md5.hexdigest()
