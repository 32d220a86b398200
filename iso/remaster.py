"""Remastering without extracting, with ``xorriso -boot_image any replay``.

Two ways, both replaying the base's boot set-up (El Torito BIOS and UEFI records,
isohybrid MBR, GPT) for the new image, ``-map`` replacing or adding only what changes:

- append (default): xorriso appends one session holding the changed files and a new
  directory tree to a copy of the base, and rewrites the volume descriptors and system
  area at the start so every reader (BIOS, UEFI, the kernel's isofs, blkid) sees only the
  new tree. The old copies of the changed files stay as unreferenced blocks (a few MB on
  a 10 GB DVD). The session is written first on a sparse stand-in (iso.shadow), the copy
  then made in one pass with both checksums (iso.onepass).
- rewrite: ``xorriso -indev BASE -outdev OUT`` writes a compact single-session image;
  xorriso moves every byte itself, about 5x slower than the copy on a fast disk.

Progress is read from the growing output file, so commands still go through the Runner.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ExpandError
from appliance.runner import CommandFailed, Result, Runner
from iso.progress import Progress, ProgressCallback

log = logging.getLogger("expand.iso")

POLL_S = 0.5


@dataclass(frozen=True)
class Mapping:
    host: Path
    iso_path: str  # absolute path in the image


def remaster_argv(base: Path | None, out: Path, volid: str,
                  maps: Sequence[Mapping]) -> list[str]:
    """xorriso's command: ``base`` None appends to ``out`` (a copy of the base) in place."""
    devices = ["-dev", str(out)] if base is None else ["-indev", str(base), "-outdev", str(out)]
    # -stdio_sync off: no fsync per session; the finished image is fsync'ed once before
    # its rename (output.staged_output), after the checksum is implanted.
    argv = ["xorriso", "-abort_on", "FAILURE", "-return_with", "SORRY", "32",
            "-stdio_sync", "off", *devices,
            "-boot_image", "any", "replay",
            "-volid", volid, "-joliet", "on", "-compliance", "joliet_long_names"]
    for m in maps:
        argv += ["-map", str(m.host), m.iso_path]
    return [*argv, "-commit", "-end"]


def rewrite_image(runner: Runner, base: Path, out: Path, volid: str,
                  maps: Sequence[Mapping], expected_bytes: int,
                  progress: ProgressCallback) -> float:
    """Write the compact image ``out`` (a temp path, see output.py); returns its seconds."""
    argv = remaster_argv(base, out, volid, maps)
    try:
        return run_watching(lambda: runner.run(argv, timeout=6 * 3600), out,
                            expected_bytes, "writing the image", progress)
    except CommandFailed as exc:
        raise no_space(exc, out) or exc from exc


def no_space(exc: CommandFailed | OSError, out: Path) -> ExpandError | None:
    """A full disk said in one line naming the folder; None for any other failure."""
    if isinstance(exc, OSError):
        full = exc.errno == errno.ENOSPC
    else:
        full = any(m in exc.stderr for m in ("No space left", "Disk full", "No space"))
    return ExpandError(f"no space left in {out.parent} while writing the image") if full else None


def run_watching(job: Callable[[], Result], watched: Path, expected_bytes: int, phase: str,
                 progress: ProgressCallback, offset: int = 0) -> float:
    """Run ``job`` in a thread, reporting the growth of ``watched`` past ``offset``."""
    outcome: list[Result | BaseException] = []

    def target() -> None:
        try:
            outcome.append(job())
        except BaseException as exc:  # handed over to the caller's thread
            outcome.append(exc)

    start = time.monotonic()
    worker = threading.Thread(target=target, name="expand-iso-job", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(POLL_S)
        grown = max(_size(watched) - offset, 0)
        progress(Progress(phase, grown, expected_bytes, time.monotonic() - start))
    elapsed = time.monotonic() - start
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    size = max(_size(watched) - offset, 0)
    progress(Progress(phase, size, max(size, 1), elapsed, finished=True))
    return elapsed


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
