"""Shared helpers of the iso integration tests: the heavy lock and ISO fixtures' builders."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from appliance.runner import Runner
from iso.build import AddTree, BuildOptions, build_iso
from iso.demo_base import build_demo_base

HEAVY_LOCK = Path("/tmp/expand-heavy.lock")


def _ancestor_holds_lock() -> bool:
    """True when pytest itself runs under ``flock /tmp/expand-heavy.lock ...``."""
    pid = os.getppid()
    while pid > 1:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        if cmdline and cmdline[0].endswith(b"flock") and str(HEAVY_LOCK).encode() in cmdline:
            return True
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return False


@contextlib.contextmanager
def heavy_lock() -> Iterator[None]:
    """One CPU-heavy job (QEMU boot) at a time on this shared 2-core machine."""
    if _ancestor_holds_lock():
        yield
        return
    with HEAVY_LOCK.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_demo_and_branded(folder: Path, answers: Path | None = None,
                           add: Path | None = None) -> tuple[Path, Path]:
    """The demo base and the branded ISO built from it (a few seconds with a warm cache)."""
    runner = Runner()
    base = build_demo_base(folder / "base.iso", runner)
    adds = (AddTree.parse(str(add)),) if add else ()
    out = folder / "expand.iso"
    build_iso(BuildOptions(base, out, answers=answers, add=adds), runner)
    return base, out
