"""The output image in one pass over the base: copy, check, checksum, implant.

The base is mapped (mmap: no copy into Python) and walked once, in order. Each chunk
is written to the output (O_DIRECT where it can: the disk takes the bytes from the
mapped page cache) and handed to two threads: one checks the base's own implanted
checksum, the other computes the output's (hashlib releases the GIL, so the two MD5s
run on two cores while the main thread writes). The output file is the shadow itself
(iso.shadow): the appended session is already at its end and the new head and the base's metadata
in place, so the pass writes the base's bytes into the holes (each chunk with the
shadow's ranges laid over it, as the MD5 must see them) and hashes the session from the
page cache. The output's checksum is then implanted in the PVD without reading the
image again.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ExpandError
from appliance.runner import CommandFailed, Result, Runner
from iso import isomd5
from iso.base import BaseDvd, corrupt_base
from iso.checksum import implanted_sum, verify_md5
from iso.progress import Progress, ProgressCallback
from iso.remaster import Mapping, no_space, run_watching
from iso.shadow import Session, Span, write_session

MiB = 1024 * 1024
CHUNK = 8 * MiB
QUEUE_DEPTH = 6  # chunks in flight per hasher: bounds memory, absorbs jitter
READ_AHEAD_CHUNKS = 2  # asked of the kernel ahead of the chunk in use (MADV_WILLNEED)
PROGRESS_EVERY_S = 0.5
DIRECT_ALIGN = 4096  # O_DIRECT: page-aligned memory (a mapped chunk is), whole blocks
PHASE = "copying the base DVD with its checksums"

Chunk = bytes | bytearray | memoryview


class BaseCorrupt(Exception):
    """The base's bytes do not match its implanted checksum."""


@dataclass(frozen=True)
class PassResult:
    md5: str
    fragment_sums: str
    seconds: float


class _Hasher:
    """One MediaDigest fed from a bounded queue by its own thread."""

    def __init__(self, digest: isomd5.MediaDigest, name: str) -> None:
        self.digest = digest
        self.error: BaseException | None = None
        self.aborted = False
        self._queue: queue.Queue[Chunk | None] = queue.Queue(QUEUE_DEPTH)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self.error is None and not self.aborted:
                try:
                    self.digest.update(item)
                except BaseException as exc:  # raised in the caller's thread by finish()
                    self.error = exc
            del item

    def feed(self, data: Chunk) -> None:
        self._queue.put(data)

    def finish(self, *, abort: bool = False) -> None:
        self.aborted = self.aborted or abort
        self._queue.put(None)
        self._thread.join()
        if self.error is not None and not abort:
            raise self.error


def base_digest(base: Path, expected: isomd5.ImplantedSum) -> isomd5.MediaDigest:
    pvd = _read(base, isomd5.PVD_OFFSET, isomd5.SECTOR)
    total = isomd5.volume_bytes(pvd) - expected.skip_sectors * isomd5.SECTOR
    return isomd5.MediaDigest(total, fragment_count=expected.fragment_count,
                              expected_fragments=expected.fragment_sums)


def output_digest(session: Session) -> isomd5.MediaDigest:
    pvd = _read(session.shadow, isomd5.PVD_OFFSET, isomd5.SECTOR)
    if not isomd5.is_pvd(pvd):
        raise ExpandError("internal error: the new session has no primary volume descriptor "
                          "at sector 16; build with --rewrite")
    total = isomd5.volume_bytes(pvd) - isomd5.SKIPSECTORS * isomd5.SECTOR
    if not 0 < total <= session.size:
        raise ExpandError(f"internal error: the new image claims {total} bytes, "
                          f"{session.size} written; build with --rewrite")
    return isomd5.MediaDigest(total)


def write_image(base: Path, session: Session, expected: isomd5.ImplantedSum | None,
                progress: ProgressCallback) -> PassResult:
    """Fill ``session.shadow`` with the base into a whole image, checksum implanted.

    Raises BaseCorrupt when ``expected`` (the base's implanted sum) does not match.
    """
    start = time.monotonic()
    checker = _Hasher(base_digest(base, expected), "expand-iso-md5-base") if expected else None
    summer = _Hasher(output_digest(session), "expand-iso-md5-out")
    hashers = [h for h in (checker, summer) if h is not None]
    ok = False
    try:
        with contextlib.ExitStack() as stack:
            out_fd = _open(stack, session.shadow, os.O_RDWR)
            direct_fd = _open_direct(stack, session.shadow)
            _Stream(out_fd, direct_fd, session, hashers, checker, progress, start).run(base)
            for hasher in hashers:
                hasher.finish()
            ok = True
            if checker is not None and expected is not None and (
                    checker.digest.fragment_mismatch
                    or checker.digest.hexdigest() != expected.md5):
                raise BaseCorrupt(str(base))
            md5 = summer.digest.hexdigest()
            frags = summer.digest.fragment_sums
            os.pwrite(out_fd, isomd5.format_appdata(md5, frags), isomd5.appdata_span()[0])
    finally:
        if not ok:
            for hasher in hashers:
                hasher.finish(abort=True)
    return PassResult(md5, frags, time.monotonic() - start)


class _Stream:
    def __init__(self, out_fd: int, direct_fd: int | None, session: Session,
                 hashers: Sequence[_Hasher], checker: _Hasher | None,
                 progress: ProgressCallback, start: float) -> None:
        self.out_fd, self.direct_fd, self.session = out_fd, direct_fd, session
        self.summer = hashers[-1]
        self.checker = checker
        self.progress = progress
        self.start = start
        self.written = 0
        self.shown = 0.0

    def run(self, base: Path) -> None:
        fd = os.open(base, os.O_RDONLY)
        try:
            mm = mmap.mmap(fd, self.session.base_size, access=mmap.ACCESS_READ)
        finally:
            os.close(fd)
        try:
            mm.madvise(mmap.MADV_SEQUENTIAL)
            self._copy_base(mm)
        finally:
            # Views may still be referenced by a traceback; the map goes with them.
            with contextlib.suppress(BufferError):
                mm.close()
        size = self.session.size
        for at in range(self.session.base_size, size, CHUNK):  # the session: in place
            self.summer.feed(os.pread(self.out_fd, min(CHUNK, size - at), at))
            self._advance(min(CHUNK, size - at))
        self._show(finished=True)

    def _copy_base(self, mm: mmap.mmap) -> None:
        size, filled = self.session.base_size, self.session.filled
        for at in range(0, size, CHUNK):
            end = min(at + CHUNK, size)
            ahead = at + READ_AHEAD_CHUNKS * CHUNK
            if ahead < size:  # read-ahead of the chunk after next, while this one is used
                mm.madvise(mmap.MADV_WILLNEED, ahead, min(CHUNK, size - ahead))
            view = memoryview(mm)[at:end]
            if self.checker is not None:
                self.checker.feed(view)
                if self.checker.digest.fragment_mismatch:
                    raise BaseCorrupt("fragment")
            data = overlay(view, at, filled, self.out_fd)
            self.summer.feed(data)
            direct = self.direct_fd is not None and data is view and len(view) % DIRECT_ALIGN == 0
            _pwrite_all(self.direct_fd if direct and self.direct_fd is not None else self.out_fd,
                        data, at)
            del view, data
            self._advance(end - at)

    def _advance(self, n: int) -> None:
        # No early write-back kick here: fadvise(DONTNEED) on dirty pages waits for the
        # disk (measured: 26 s instead of 15 s for 4 GiB); the kernel's own flusher
        # keeps the final fsync short.
        self.written += n
        if time.monotonic() - self.shown >= PROGRESS_EVERY_S:
            self._show()

    def _show(self, finished: bool = False) -> None:
        self.shown = time.monotonic()
        total = self.session.size
        self.progress(Progress(PHASE, self.written, total, self.shown - self.start,
                               finished=finished))


def overlay(view: memoryview, at: int, filled: Sequence[Span], shadow_fd: int) -> Chunk:
    """The output's bytes at ``[at, at + len(view))``: the base's, or the shadow's where
    it was filled (the new head and the metadata xorriso read)."""
    end = at + len(view)
    hits = [(max(s, at), min(e, end)) for s, e in filled if s < end and e > at]
    if not hits:
        return view
    patched = bytearray(view)
    for s, e in hits:
        patched[s - at:e - at] = os.pread(shadow_fd, e - s, s)
    return patched


def _pwrite_all(fd: int, data: Chunk, at: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, at)
        view, at = view[n:], at + n


def _open_direct(stack: contextlib.ExitStack, path: Path) -> int | None:
    """O_DIRECT for the base's bytes: the disk reads them straight from the mapped page
    cache (no copy into the output's page cache, which cost ~2 s of CPU per GiB here,
    and no write-back left for the final fsync). None where unsupported (tmpfs)."""
    try:
        return _open(stack, path, os.O_WRONLY | os.O_DIRECT)
    except OSError:
        return None


def _open(stack: contextlib.ExitStack, path: Path, flags: int, mode: int = 0o600) -> int:
    fd = os.open(path, flags, mode)
    stack.callback(os.close, fd)
    return fd


def _read(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as fh:
        fh.seek(offset)
        return fh.read(size)


def append_session(runner: Runner, base: BaseDvd, out: Path, volid: str,
                   maps: Sequence[Mapping], expected_bytes: int, progress: ProgressCallback,
                   *, verify: bool) -> float:
    """The default ``iso build`` write: session first (on ``out`` as the shadow), then the
    one pass. ``verify`` checks the base's implanted checksum on the way."""
    expected = implanted_sum(base.path) if verify and base.had_md5 else None
    if verify and base.had_md5 and expected is None and not verify_md5(runner, base.path):
        raise corrupt_base(base.path)  # a sum checkisomd5 sees but this parser does not
    sessions: list[Session] = []

    def job() -> Result:
        sessions.append(write_session(runner, base.path, out, volid, maps))
        return Result((), 0, "", "")

    try:
        seconds = run_watching(job, out, max(expected_bytes - base.size_bytes, 1),
                               "writing the eXpand changes", progress, offset=base.size_bytes)
        return seconds + write_image(base.path, sessions[0], expected, progress).seconds
    except BaseCorrupt as exc:
        raise corrupt_base(base.path) from exc
    except (CommandFailed, OSError) as exc:
        raise no_space(exc, out) or exc from exc
