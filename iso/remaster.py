"""Remastering without extracting: ``xorriso -indev BASE -outdev OUT -boot_image any replay``.

xorriso copies the base's files as they are, replays its boot set-up (El Torito BIOS and
UEFI records, isohybrid MBR, GPT) for the new image, and ``-map`` replaces or adds only
the few files that change. Progress is read from the growing output file, so the
command still goes through the one Runner.
"""

from __future__ import annotations

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


def remaster_argv(base: Path, out: Path, volid: str, maps: Sequence[Mapping]) -> list[str]:
    argv = ["xorriso", "-abort_on", "FAILURE", "-return_with", "SORRY", "32",
            "-indev", str(base), "-outdev", str(out),
            "-boot_image", "any", "replay",
            "-volid", volid, "-joliet", "on", "-compliance", "joliet_long_names"]
    for m in maps:
        argv += ["-map", str(m.host), m.iso_path]
    return [*argv, "-commit", "-end"]


def remaster(runner: Runner, base: Path, out: Path, volid: str, maps: Sequence[Mapping],
             expected_bytes: int, progress: ProgressCallback) -> float:
    """Write ``out``; returns the seconds it took. ``out`` is a temp path (see output.py)."""
    argv = remaster_argv(base, out, volid, maps)
    try:
        return run_watching(lambda: runner.run(argv, timeout=6 * 3600), out, expected_bytes,
                            "writing the image", progress)
    except CommandFailed as exc:
        if "No space left" in exc.stderr or "Disk full" in exc.stderr:
            raise ExpandError(f"no space left in {out.parent} while writing the image") from exc
        raise


def run_watching(job: Callable[[], Result], watched: Path, expected_bytes: int, phase: str,
                 progress: ProgressCallback) -> float:
    """Run ``job`` in a thread, reporting the growth of ``watched`` until it ends."""
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
        progress(Progress(phase, _size(watched), expected_bytes, time.monotonic() - start))
    elapsed = time.monotonic() - start
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    size = _size(watched)
    progress(Progress(phase, size, max(size, 1), elapsed, finished=True))
    return elapsed


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
