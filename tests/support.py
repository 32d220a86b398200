"""Helpers shared by the integration tiers: the heavy lock and required tools."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

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
    """One CPU-heavy job (QEMU boot, cluster lab, debootstrap) at a time on a 2-core box."""
    if _ancestor_holds_lock():
        yield
        return
    with HEAVY_LOCK.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def require_tools(*tools: str) -> None:
    """Fail (never skip): `make test` installs every tool, so a missing one is a defect."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.fail(f"not installed: {', '.join(missing)} (make test installs them)")
