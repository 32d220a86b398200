"""Bounded, streamed reading of repodata files: compressed or not, XML without surprises.

A base DVD is anybody's: its repodata may be corrupt, binary, a decompression bomb or
nested a million deep. Every such file ends in one ``RepodataError`` naming it; memory
stays small (expat streams; only the records we keep are held).
"""

from __future__ import annotations

import bz2
import lzma
import subprocess
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from xml.parsers import expat

from appliance.errors import ExpandError

CHUNK = 1024 * 1024
MAX_DEPTH = 64
_GZIP, _XZ, _ZSTD, _BZIP2 = b"\x1f\x8b", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd", b"BZh"


class RepodataError(ExpandError):
    """A repodata file that cannot be used; the message names it."""


def chunks(path: Path, label: str, limit: int) -> Iterator[bytes]:
    """The file's bytes, decompressed (gzip, xz, bzip2, zstd by their magic), at most
    ``limit`` of them: more is refused, not truncated."""
    try:
        with path.open("rb") as fh:
            magic = fh.read(8)
            fh.seek(0)
            if magic.startswith(_ZSTD):
                yield from _bounded(_zstd_chunks(path, label), label, limit)
                return
            raw = iter(lambda: fh.read(CHUNK), b"")
            yield from _bounded(_inflate(magic, raw, label) or raw, label, limit)
    except IsADirectoryError:
        raise RepodataError(f"{label}: is a directory") from None
    except FileNotFoundError:
        raise RepodataError(f"{label}: file not found") from None
    except OSError as exc:
        raise RepodataError(f"{label}: cannot read: {exc.strerror}") from None


def _inflate(magic: bytes, raw: Iterator[bytes], label: str) -> Iterator[bytes] | None:
    """Decompressed pieces of at most CHUNK bytes each (``max_length``: a 1 KiB bomb never
    becomes gigabytes in memory at once); None when ``magic`` is no known compression."""
    if magic.startswith(_GZIP):
        return _guarded(_zlib_pieces(raw), label)
    if magic.startswith(_XZ):
        return _guarded(_buffered_pieces(lzma.LZMADecompressor(), raw), label)
    if magic.startswith(_BZIP2):
        return _guarded(_buffered_pieces(bz2.BZ2Decompressor(), raw), label)
    return None


def _zlib_pieces(raw: Iterator[bytes]) -> Iterator[bytes]:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    for piece in raw:
        while piece and not inflater.eof:
            yield inflater.decompress(piece, CHUNK)
            piece = inflater.unconsumed_tail
    if not inflater.eof:
        raise EOFError("the compressed stream ends early")


def _buffered_pieces(inflater: lzma.LZMADecompressor | bz2.BZ2Decompressor,
                     raw: Iterator[bytes]) -> Iterator[bytes]:
    for piece in raw:
        if inflater.eof:
            break
        yield inflater.decompress(piece, CHUNK)
        while not inflater.needs_input and not inflater.eof:  # it holds more output
            yield inflater.decompress(b"", CHUNK)
    if not inflater.eof:
        raise EOFError("the compressed stream ends early")


def _guarded(pieces: Iterator[bytes], label: str) -> Iterator[bytes]:
    try:
        yield from pieces
    except (zlib.error, lzma.LZMAError, OSError, EOFError) as exc:
        raise RepodataError(f"{label}: corrupt compressed data ({exc})") from None


def _zstd_chunks(path: Path, label: str) -> Iterator[bytes]:
    """zstd has no decompressor in Python 3.11's standard library: the zstd tool, read as
    a stream so the size bound holds (the Runner would buffer the whole output)."""
    with subprocess.Popen(["zstd", "-dc", "--", str(path)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        finished = False
        try:
            yield from iter(lambda: proc.stdout.read(CHUNK), b"")  # type: ignore[union-attr]
            finished = True
        finally:
            if not finished:  # refused (too large) or abandoned: stop it
                proc.kill()
        err = proc.stderr.read(4096).decode(errors="replace").strip().splitlines()
        if proc.wait() != 0:
            reason = err[-1].removeprefix("zstd: ") if err else "?"
            raise RepodataError(f"{label}: corrupt zstd data ({reason})")


def _bounded(source: Iterator[bytes], label: str, limit: int) -> Iterator[bytes]:
    total = 0
    for piece in source:
        total += len(piece)
        if total > limit:
            raise RepodataError(f"{label}: larger than {limit // (1024 * 1024)} MiB "
                                "uncompressed (not repodata?)")
        yield piece


StartHandler = Callable[[str, dict[str, str], list[str]], None]
EndHandler = Callable[[str, str, list[str]], None]


def walk_xml(path: Path, label: str, limit: int, start: StartHandler,
             end: EndHandler) -> None:
    """Stream the XML in ``path`` to ``start(tag, attrs, stack)`` and ``end(tag, text,
    stack)`` with namespaces dropped from tag names; ``stack`` holds the open parents."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True  # one call per text node, not one per line or entity
    stack: list[str] = []
    text: list[str] = []

    def on_start(name: str, attrs: dict[str, str]) -> None:
        tag = name.rpartition(" ")[2]
        if len(stack) >= MAX_DEPTH:
            raise RepodataError(f"{label}: nested deeper than {MAX_DEPTH} elements")
        text.clear()
        start(tag, attrs, stack)
        stack.append(tag)

    def on_end(name: str) -> None:
        stack.pop()
        end(name.rpartition(" ")[2], "".join(text), stack)
        text.clear()

    def on_entity(*_: object) -> None:
        raise RepodataError(f"{label}: declares XML entities (refused: not repodata)")

    parser.StartElementHandler = on_start
    parser.EndElementHandler = on_end
    parser.CharacterDataHandler = text.append
    parser.EntityDeclHandler = on_entity
    try:
        for piece in chunks(path, label, limit):
            parser.Parse(piece, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise RepodataError(f"{label}: not valid XML ({expat.errors.messages[exc.code]}, "
                            f"line {exc.lineno})") from None
