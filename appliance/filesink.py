"""The one way this toolkit writes files: under a root, atomically, mode set before rename.

A dry run is just another root: ``FileSink(Path("/tmp/out"))`` writes the same tree that
``FileSink(Path("/"))`` would write on the appliance.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from appliance.errors import ExpandError
from appliance.readers import ReadError, read_text


@dataclass(frozen=True)
class Written:
    path: str
    mode: int
    changed: bool


class FileSink:
    """Writes files below ``root``; paths given to it are absolute paths on the target."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.written: list[Written] = []

    def target(self, path: str | PurePosixPath) -> Path:
        """Host path of a target path, refusing anything that would escape the root."""
        rel = PurePosixPath(path)
        if not rel.is_absolute():
            raise ExpandError(f"target path must be absolute: {path}")
        parts = [p for p in rel.parts[1:] if p not in ("", ".")]
        if ".." in parts:
            raise ExpandError(f"target path must not contain '..': {path}")
        return self.root.joinpath(*parts)

    def read_text(self, path: str) -> str | None:
        """The file's text, None when missing; ExpandError naming it when it is a folder,
        binary, not UTF-8 or over 1 MiB (a --root is anybody's tree)."""
        try:
            return read_text(self.target(path), what="")
        except ReadError as exc:
            if exc.missing:
                return None
            raise

    def exists(self, path: str) -> bool:
        return self.target(path).exists()

    def write(
        self,
        path: str,
        content: str | bytes,
        *,
        mode: int = 0o644,
        owner: str | None = None,
        group: str | None = None,
        dir_mode: int = 0o755,
    ) -> bool:
        """Write ``content`` atomically; returns False when the file already held exactly that."""
        host = self.target(path)
        data = content.encode() if isinstance(content, str) else content
        if host.is_file() and not host.is_symlink():
            st = host.stat()
            if (st.st_mode & 0o7777) == mode and host.read_bytes() == data:
                self.written.append(Written(path, mode, False))
                return False
        self._makedirs(host.parent, dir_mode)
        fd, tmp = tempfile.mkstemp(prefix=f".{host.name}.", dir=host.parent)
        try:
            # The mode is set while the file is still private, so a secret is never readable.
            os.fchmod(fd, mode)
            if owner or group:
                os.fchown(fd, _uid(owner), _gid(group))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, host)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        fsync_dir(host.parent)
        self.written.append(Written(path, mode, True))
        return True

    def remove(self, path: str) -> bool:
        host = self.target(path)
        try:
            host.unlink()
        except FileNotFoundError:
            return False
        fsync_dir(host.parent)
        return True

    def symlink(self, path: str, points_to: str) -> bool:
        """Create or replace a symlink atomically (used to enable units)."""
        host = self.target(path)
        if host.is_symlink() and os.readlink(host) == points_to:
            return False
        self._makedirs(host.parent, 0o755)
        tmp = host.with_name(f".{host.name}.link")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(points_to, tmp)
        os.replace(tmp, host)
        return True

    def mkdir(self, path: str, mode: int = 0o755) -> None:
        self._makedirs(self.target(path), mode)

    @staticmethod
    def _makedirs(host_dir: Path, mode: int) -> None:
        missing = []
        for d in (host_dir, *host_dir.parents):
            if d.exists():
                break
            missing.append(d)
        for d in reversed(missing):
            d.mkdir(mode=mode)
            os.chmod(d, mode)


def _uid(owner: str | None) -> int:
    return -1 if owner is None else pwd.getpwnam(owner).pw_uid


def _gid(group: str | None) -> int:
    return -1 if group is None else grp.getgrnam(group).gr_gid


def fsync_dir(directory: Path) -> None:
    """A rename or a new entry in ``directory`` survives a crash once this returns."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
