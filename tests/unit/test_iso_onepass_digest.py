"""The one-pass media checksum against a plain re-statement of isomd5sum's loop, and the
stream that fills a shadow with the base (small files written here, no xorriso)."""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Mapping
from pathlib import Path

import pytest

from appliance.errors import ExpandError
from appliance.runner import RecordingRunner, Result
from iso import isomd5, onepass
from iso.onepass import BaseCorrupt, overlay, write_image
from iso.shadow import (
    ALIGN,
    Session,
    complement,
    data_extents,
    fill_plan,
    merge,
    widen,
    write_session,
)

PVD = 16 * 2048


def reference_sum(data: bytes, count: int = 20) -> tuple[str, str]:
    """libimplantisomd5.c's loop, line by line: 32 KiB reads, a fragment sum when the
    read's start falls in a new fragment."""
    total = int.from_bytes(data[PVD + 84:PVD + 88], "big") * 2048 - 15 * 2048
    size = total // (count + 1)
    buf = bytearray(data[:total])
    buf[PVD + 883:PVD + 883 + 512] = b" " * 512
    md5, previous, frags = hashlib.md5(), 0, ""
    for offset in range(0, total, 32768):
        md5.update(buf[offset:offset + 32768])
        if offset // size != previous:
            digest = md5.copy().digest()
            frags += "".join(f"{b:x}"[0] for b in digest[:60 // count])
            previous = offset // size
    return md5.hexdigest(), frags


def image(blocks: int, seed: int, file_blocks: int | None = None) -> bytearray:
    """Random bytes with a PVD claiming ``blocks`` sectors (the file may be longer)."""
    rng = random.Random(seed)
    data = bytearray(rng.randbytes((file_blocks or blocks) * 2048))
    data[PVD:PVD + 6] = b"\x01CD001"
    data[PVD + 80:PVD + 88] = blocks.to_bytes(4, "little") + blocks.to_bytes(4, "big")
    data[PVD + 883:PVD + 883 + 512] = b" " * 512
    return data


def implant(data: bytearray) -> bytearray:
    md5, frags = reference_sum(bytes(data))
    data[PVD + 883:PVD + 883 + 512] = isomd5.format_appdata(md5, frags)
    return data


def digest_of(data: bytes, pieces: list[int]) -> isomd5.MediaDigest:
    total = isomd5.volume_bytes(data[PVD:PVD + 2048]) - 15 * 2048
    digest = isomd5.MediaDigest(total)
    at = 0
    for n in pieces:
        digest.update(memoryview(data)[at:at + n])
        at += n
    digest.update(data[at:])
    return digest


@pytest.mark.parametrize("blocks", [400, 2048, 4999, 21 * 16 * 7, 65536 + 3])
def test_digest_matches_the_reference_loop_whatever_the_chunks(blocks: int) -> None:
    data = bytes(image(blocks, blocks, file_blocks=blocks + 40))  # tail past the volume
    rng = random.Random(blocks)
    pieces = [rng.choice([1, 2047, 32768, 100_000, 1 << 20]) for _ in range(30)]
    digest = digest_of(data, pieces)
    assert (digest.hexdigest(), digest.fragment_sums) == reference_sum(data)
    assert len(digest.fragment_sums) == 60 or blocks < 21 * 16  # small: fragments skipped


def test_fragment_points_are_ends_of_32k_reads() -> None:
    total = 21 * 32768 * 10 + 5 * 2048
    points = isomd5.fragment_points(total)
    assert len(points) == 20
    assert all(p % 32768 == 0 or p == total for p in points)
    assert points == sorted(set(points))
    assert isomd5.fragment_points(10) == []  # smaller than one byte per fragment


def test_the_application_area_reads_as_spaces() -> None:
    data = image(3000, 1)
    before = digest_of(bytes(data), []).hexdigest()
    data[PVD + 883:PVD + 883 + 512] = b"X" * 512  # what was implanted does not count
    assert digest_of(bytes(data), [PVD + 900, 7]).hexdigest() == before
    data[PVD + 883 + 512] ^= 1  # the byte after it does
    assert digest_of(bytes(data), []).hexdigest() != before


def test_digest_refuses_to_finish_short() -> None:
    digest = isomd5.MediaDigest(4096)
    digest.update(b"x" * 100)
    with pytest.raises(ValueError, match="100 of 4096"):
        digest.hexdigest()


def test_text_layout_round_trips() -> None:
    text = isomd5.format_appdata("0123456789abcdef" * 2, "a" * 60)
    assert len(text) == 512 and text.endswith(b"ISO!!" + b" " * (512 - len(text.rstrip())))
    assert text.startswith(b"ISO MD5SUM = 0123456789abcdef0123456789abcdef;SKIPSECTORS = 15;"
                           b"RHLISOSTATUS=0;FRAGMENT SUMS = " + b"a" * 60 +
                           b";FRAGMENT COUNT = 20;THIS IS NOT THE SAME")
    parsed = isomd5.parse_appdata(text)
    assert parsed == isomd5.ImplantedSum("0123456789abcdef" * 2, 15, "a" * 60, 20, 0)


@pytest.mark.parametrize("text", [b" " * 512, b"\0" * 512, os.urandom(512),
                                  b"ISO MD5SUM = " + b"f" * 32 + b";",  # no SKIPSECTORS
                                  b"SKIPSECTORS = 15;RHLISOSTATUS=0;"])
def test_no_implanted_sum(text: bytes) -> None:
    assert isomd5.parse_appdata(text) is None


def test_spans_merge_complement_widen() -> None:
    assert merge([(10, 20), (0, 5), (5, 8), (30, 30)]) == [(0, 8), (10, 20)]
    assert complement([(10, 20), (0, 5)], 30) == [(5, 10), (20, 30)]
    assert widen([(ALIGN + 1, ALIGN + 2)], 10 * ALIGN) == [(ALIGN, 2 * ALIGN)]
    assert widen([(9 * ALIGN + 5, 10 * ALIGN)], 9 * ALIGN + 100) == [(9 * ALIGN, 9 * ALIGN + 100)]


LISTING = """\
El Torito img path :   1  /isolinux/isolinux.bin
-isohybrid-mbr --interval:local_fs:0s-15s:zero_mbrpt,zero_gpt:'/x.iso'
Report layout: xt , Startlba ,   Blocks , Filesize , ISO image path
File data lba:  0 ,     100 ,      200 ,   409600 , '/big/a.rpm'
File data lba:  0 ,     300 ,       10 ,    20480 , '/isolinux/isolinux.bin'
File data lba:  0 ,     310 ,     5000 ,  10240000 , '/big/b.rpm'
File data lba:  1 ,    5310 ,     2000 ,  4096000 , '/big/b.rpm'
"""


def test_fill_plan_skips_file_data_but_keeps_boot_images_and_the_ends() -> None:
    size = 20000 * 2048
    plan = fill_plan(LISTING, size)

    def filled(block: int) -> bool:
        return any(s <= block * 2048 < e for s, e in plan)

    assert filled(0) and filled(99) and filled(19999)  # head, metadata, the last block
    assert filled(305)  # the BIOS boot image: xorriso patches its boot info table
    assert not filled(200) and not filled(3000) and not filled(6000)  # rpm data
    assert filled(8000)  # a gap after the last file
    assert all(s % ALIGN == 0 and (e % ALIGN == 0 or e == size) for s, e in plan)


def _session(tmp_path: Path, base: bytes, shadow_bytes: bytes,
             filled: tuple[tuple[int, int], ...]) -> Session:
    shadow = tmp_path / "out.iso"
    shadow.write_bytes(shadow_bytes)
    return Session(shadow, len(base), len(shadow_bytes), filled)


def _make(tmp_path: Path) -> tuple[Path, bytes, bytes, tuple[tuple[int, int], ...]]:
    base = bytes(implant(image(5000, 7)))
    out = image(5300, 8)  # the "new" head and session, as xorriso would leave them
    filled = ((0, 65536), (3 * 65536, 4 * 65536))
    shadow = bytearray(len(out))
    for s, e in filled:
        shadow[s:e] = out[s:e]
    shadow[len(base):] = out[len(base):]
    expected = bytearray(base) + out[len(base):]
    for s, e in filled:
        expected[s:e] = out[s:e]
    path = tmp_path / "base.iso"
    path.write_bytes(base)
    return path, bytes(shadow), bytes(expected), filled


@pytest.mark.parametrize("direct", [True, False])
def test_write_image_fills_the_holes_and_implants(tmp_path: Path, direct: bool,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    if not direct:  # a file system without O_DIRECT: every write buffered
        monkeypatch.setattr(onepass, "_open_direct", lambda stack, path: None)
    base, shadow, expected, filled = _make(tmp_path)
    session = _session(tmp_path, base.read_bytes(), shadow, filled)
    sums = isomd5.parse_appdata(base.read_bytes()[PVD + 883:PVD + 883 + 512])
    result = write_image(base, session, sums, lambda _: None)
    written = session.shadow.read_bytes()
    assert written[:PVD + 883] + written[PVD + 883 + 512:] == \
        expected[:PVD + 883] + expected[PVD + 883 + 512:]
    assert (result.md5, result.fragment_sums) == reference_sum(written)
    assert isomd5.parse_appdata(written[PVD + 883:PVD + 883 + 512]) == isomd5.ImplantedSum(
        result.md5, 15, result.fragment_sums, 20, 0)


def test_write_image_refuses_a_corrupt_base(tmp_path: Path) -> None:
    base, shadow, _, filled = _make(tmp_path)
    data = bytearray(base.read_bytes())
    sums = isomd5.parse_appdata(bytes(data[PVD + 883:PVD + 883 + 512]))
    data[len(data) // 2] ^= 0xFF
    base.write_bytes(bytes(data))
    session = _session(tmp_path, bytes(data), shadow, filled)
    with pytest.raises(BaseCorrupt):
        write_image(base, session, sums, lambda _: None)


def test_overlay_takes_the_shadow_only_where_filled(tmp_path: Path) -> None:
    shadow = tmp_path / "s"
    shadow.write_bytes(b"S" * 100)
    fd = os.open(shadow, os.O_RDONLY)
    try:
        view = memoryview(b"B" * 40)
        assert overlay(view, 50, [(0, 10), (95, 100)], fd) is view  # no copy when clear
        assert bytes(overlay(view, 50, [(45, 55), (80, 200)], fd)) == \
            b"S" * 5 + b"B" * 25 + b"S" * 10
    finally:
        os.close(fd)


class _XorrisoWritingAt(RecordingRunner):
    """Stands in for xorriso -dev: writes ``data`` at ``at`` of the shadow it is given."""

    def __init__(self, at: int, data: bytes) -> None:
        super().__init__()
        self.at, self.data = at, data

    def _execute(self, argv: tuple[str, ...], data: bytes | None,
                 env: Mapping[str, str] | None, cwd: Path | None, timeout: float | None,
                 shown: str) -> Result:
        if "-dev" in argv:
            with open(argv[argv.index("-dev") + 1], "r+b") as fh:
                fh.seek(self.at)
                fh.write(self.data)
        return super()._execute(argv, data, env, cwd, timeout, shown)


def _listing_base(tmp_path: Path) -> Path:
    base = tmp_path / "base.iso"
    base.write_bytes(bytes(image(4000, 3)))  # no file listed: all of it is "metadata"
    return base


def test_session_fills_what_xorriso_reads_and_keeps_holes(tmp_path: Path) -> None:
    base = _listing_base(tmp_path)
    runner = _XorrisoWritingAt(4000 * 2048, b"session" * 1000)  # appended past the end
    runner.answers[("xorriso", "-abort_on", "FAILURE", "-indev")] = Result(
        (), 0, "File data lba:  0 ,      64 ,     3000 ,  6144000 , '/big.rpm'\n", "")
    shadow = tmp_path / "out.iso"
    session = write_session(runner, base, shadow, "LABEL", [])
    assert session.filled == ((0, 2 * ALIGN), ((64 + 3000) * 2048 // ALIGN * ALIGN, 4000 * 2048))
    assert data_extents(shadow, session.base_size) == list(session.filled)
    assert session.size == 4000 * 2048 + 7000
    assert shadow.read_bytes()[:ALIGN] == base.read_bytes()[:ALIGN]


def test_a_write_into_a_hole_is_refused(tmp_path: Path) -> None:
    base = _listing_base(tmp_path)
    runner = _XorrisoWritingAt(1000 * 2048, b"x")  # inside /big.rpm's data: a hole
    runner.answers[("xorriso", "-abort_on", "FAILURE", "-indev")] = Result(
        (), 0, "File data lba:  0 ,      64 ,     3000 ,  6144000 , '/big.rpm'\n", "")
    with pytest.raises(ExpandError, match="outside its metadata; build it with --rewrite"):
        write_session(runner, base, tmp_path / "out.iso", "LABEL", [])
