"""Versioned releases of /etc/asterisk: complete directories, one symlink flip to go live.

Layout (target paths under a root): ``/var/lib/expand/pbx/releases/NNNN-DIGEST/`` is a whole
/etc/asterisk (0750, owned by the root's asterisk user so Asterisk reads even 0600 files);
files a release carries for outside /etc/asterisk (``/etc/dahdi/system.conf``) sit in its
``_outside/`` folder with their target path. ``NNNN-DIGEST.json`` beside it says what it is.
``/etc/asterisk`` is a symlink to the live release; a flip writes a new symlink and renames
it over the old one (rename(2) is atomic). The box's own /etc/asterisk becomes release 0001
("original") on the first apply and is never pruned: its packaged files (asterisk.conf,
logger.conf...) are the base of every release.

The digest is a SHA-256 over every file's name, mode and bytes: same tree, same digest.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.readers import ReadError, load_json, show_path

ETC = "/etc/asterisk"
STATE = "/var/lib/expand/pbx"
RELEASES = f"{STATE}/releases"
PENDING = f"{STATE}/pending.json"
OUTSIDE = "_outside"
KEEP = 5  # releases kept besides the original and the live one
_NAME = re.compile(r"^(\d{4})-([0-9a-f]{12})$")

# Release-relative name → (bytes, mode).
Tree = Mapping[str, tuple[bytes, int]]


def digest(tree: Tree) -> str:
    h = hashlib.sha256()
    for name in sorted(tree):
        data, mode = tree[name]
        h.update(f"{name}\0{mode:o}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def outside_name(target: str) -> str:
    """``/etc/dahdi/system.conf`` → its name inside a release."""
    return f"{OUTSIDE}{target}"


def target_of(name: str) -> str:
    """A release-relative name → the target path it stands for."""
    if name.startswith(f"{OUTSIDE}/"):
        return name[len(OUTSIDE):]
    return f"{ETC}/{name}"


@dataclass(frozen=True)
class Release:
    name: str  # "0003-ab12cd34ef56"
    path: Path  # host path
    meta: Mapping[str, Any]

    @property
    def number(self) -> int:
        return int(self.name[:4])

    @property
    def digest(self) -> str:
        return str(self.meta.get("digest", ""))

    @property
    def target(self) -> str:
        """The path Asterisk sees, which the /etc/asterisk symlink holds."""
        return f"{RELEASES}/{self.name}"


def read_tree(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Every regular file under ``directory`` by relative name (symlinks are skipped: a
    release holds files only)."""
    tree = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and not path.is_symlink():
            tree[str(path.relative_to(directory))] = (path.read_bytes(),
                                                      path.stat().st_mode & 0o7777)
    return tree


def _meta(root: Path, name: str) -> dict[str, Any]:
    path = FileSink(root).target(f"{RELEASES}/{name}.json")
    try:
        data = load_json(path, what="release record")
    except ReadError as exc:
        raise ExpandError(f"{exc.source}: {exc.reason}") from None
    if not isinstance(data, dict):
        raise ExpandError(f"{show_path(path)}: release record is not a JSON object")
    return data


def all_releases(root: Path) -> list[Release]:
    """The releases under ``root``, oldest first (half-written ones never match _NAME)."""
    folder = FileSink(root).target(RELEASES)
    if not folder.is_dir():
        return []
    found = [Release(p.name, p, _meta(root, p.name)) for p in sorted(folder.iterdir())
             if _NAME.match(p.name) and p.is_dir() and not p.is_symlink()]
    return found


def live_name(root: Path) -> str | None:
    """The release /etc/asterisk points at; None when it is no symlink of ours."""
    link = FileSink(root).target(ETC)
    if not link.is_symlink():
        return None
    name = os.readlink(link).rstrip("/").rsplit("/", 1)[-1]
    return name if _NAME.match(name) else None


def asterisk_user(root: Path) -> tuple[int, int] | None:
    """uid and gid of ``asterisk`` in the root's own /etc/passwd (a --root is not this host)."""
    try:
        lines = FileSink(root).target("/etc/passwd").read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        cols = line.split(":")
        if len(cols) > 3 and cols[0] == "asterisk" and cols[2].isdigit() and cols[3].isdigit():
            return int(cols[2]), int(cols[3])
    return None


def create(root: Path, tree: Tree, meta: Mapping[str, Any]) -> Release:
    """A new release holding exactly ``tree``: written in a hidden folder, then renamed into
    place, so a release folder is always whole."""
    existing = all_releases(root)
    number = max((r.number for r in existing), default=0) + 1
    name = f"{number:04d}-{str(meta['digest'])[:12]}"
    sink = FileSink(root)
    folder = sink.target(RELEASES)
    sink.mkdir(RELEASES, 0o755)
    tmp = folder / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    owner = asterisk_user(root) if os.geteuid() == 0 else None
    try:
        tmp.mkdir(mode=0o750)
        for rel, (data, mode) in sorted(tree.items()):
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            with os.fdopen(fd, "wb") as fh:
                os.fchmod(fh.fileno(), mode)
                fh.write(data)
        if owner:
            for path in [tmp, *tmp.rglob("*")]:
                os.lchown(path, *owner)
        os.chmod(tmp, 0o750)
        sink.write(f"{RELEASES}/{name}.json",
                   json.dumps(dict(meta), indent=2, sort_keys=True) + "\n", mode=0o640)
        os.rename(tmp, folder / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Release(name, folder / name, dict(meta))


def remove(root: Path, release: Release) -> None:
    shutil.rmtree(release.path, ignore_errors=True)
    FileSink(root).remove(f"{RELEASES}/{release.name}.json")


def adopt_original(root: Path, meta: Mapping[str, Any]) -> Release | None:
    """The first apply: the box's real /etc/asterisk kept as release 0001 and replaced by a
    symlink to it (same files, so the running Asterisk sees no change). None when
    /etc/asterisk is already our symlink."""
    sink = FileSink(root)
    etc = sink.target(ETC)
    if etc.is_symlink():
        return None
    if not etc.is_dir():
        raise ExpandError(f"{show_path(etc)}: no such directory (is asterisk installed?)")
    tree = read_tree(etc)
    release = create(root, tree, {**meta, "digest": digest(tree), "kind": "original"})
    # A directory cannot be renamed over: move it aside, put the link in, drop the copy.
    # Where it cannot be moved (overlayfs answers EXDEV for a lower-layer folder) it is
    # removed: release 0001 holds every file of it, and Asterisk reads /etc/asterisk only
    # on the reloads that come after the link is in.
    aside = etc.with_name(".asterisk.expand-original")
    shutil.rmtree(aside, ignore_errors=True)
    try:
        os.rename(etc, aside)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.rmtree(etc)
    try:
        sink.symlink(ETC, release.target)
    except BaseException:
        if aside.is_dir():
            os.rename(aside, etc)
        raise
    shutil.rmtree(aside, ignore_errors=True)
    return release


def flip(root: Path, release: Release) -> None:
    """/etc/asterisk → ``release``, and its outside files in place (each written atomically)."""
    sink = FileSink(root)
    for rel, (data, mode) in read_tree(release.path).items():
        if rel.startswith(f"{OUTSIDE}/"):
            sink.write(target_of(rel), data, mode=mode)
    sink.symlink(ETC, release.target)


def prune(root: Path, keep: int = KEEP) -> list[str]:
    """Remove old releases beyond ``keep``; never the original, the live or a pending one."""
    live = live_name(root)
    pending = pending_release(root)
    found = all_releases(root)
    spare = [r for r in found if r.meta.get("kind") != "original"
             and r.name not in (live, pending)]
    removed = []
    for release in spare[:max(0, len(spare) - keep)]:
        remove(root, release)
        removed.append(release.name)
    return removed


def pending(root: Path) -> dict[str, Any]:
    path = FileSink(root).target(PENDING)
    if not path.exists():
        return {}
    try:
        data = load_json(path, what="pending restart record")
    except ReadError as exc:
        raise ExpandError(f"{exc.source}: {exc.reason}") from None
    return data if isinstance(data, dict) else {}


def pending_release(root: Path) -> str | None:
    name = pending(root).get("release")
    return name if isinstance(name, str) else None


def set_pending(root: Path, name: str, restart: list[str]) -> None:
    FileSink(root).write(PENDING, json.dumps({"release": name, "restart": restart},
                                             indent=2) + "\n", mode=0o640)


def clear_pending(root: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        FileSink(root).remove(PENDING)
