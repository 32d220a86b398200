"""Helpers for tests that run a real Asterisk 22: its unstable root and process checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lab.asterisk_root import ensure_asterisk_root
from pbx.chroot import chroot_prefix
from pbx.throwaway import AsteriskPlace
from tests.support import heavy_lock, require_tools

DATA = Path(__file__).resolve().parent / "data" / "asterisk"


_ROOT: list[Path] = []


def asterisk_root() -> Path:
    """The cached unstable root with Asterisk, built under the heavy lock on first use."""
    if not _ROOT:
        require_tools("debootstrap", "unshare", "chroot", "ss")
        with heavy_lock():
            _ROOT.append(ensure_asterisk_root())
    return _ROOT[0]


@contextmanager
def asterisk_place() -> Iterator[AsteriskPlace]:
    """Asterisk reached inside the root, with the heavy lock held meanwhile."""
    root = asterisk_root()
    with heavy_lock():
        yield AsteriskPlace(chroot_prefix(root), root)


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its parent counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def proof_servers() -> list[int]:
    """PIDs of throwaway Asterisk servers (any proof's) running now."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (argv[0].endswith(b"asterisk") and b"-rx" not in argv
                and any(b"/expand-proof-" in a for a in argv) and alive(int(entry.name))):
            found.append(int(entry.name))
    return found
