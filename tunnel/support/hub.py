"""hub-add and hub-remove: the registry and the authorized_keys file changed together.

Both files are checked and the new texts built before anything is written (bad input
writes nothing); each is then replaced atomically (FileSink), the registry first, so a
re-run after a crash between the two finds the site's port and finishes the key line. A
lock on the registry's folder keeps two engineers' runs from interleaving.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import os
import pwd
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.readers import ReadError, read_text, show_path
from tunnel.support.hub_keys import (
    KeyLine,
    PublicKey,
    check_claim_command,
    check_site,
    key_line,
    parse_authorized_keys,
)
from tunnel.support.registry import Registry, Site, load_registry, render_registry

DEFAULT_AUTHORIZED_KEYS = Path("/etc/expand/support/authorized_keys")
AUTHORIZED_KEYS_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class HubFiles:
    registry: Path
    authorized_keys: Path


@dataclass(frozen=True)
class Change:
    site: str
    port: int
    fingerprint: str
    line: str | None
    registry_changed: bool
    keys_changed: bool
    note: str

    @property
    def changed(self) -> bool:
        return self.registry_changed or self.keys_changed


def add_site(files: HubFiles, name: str, key: PublicKey, *, claim_command: str,
             host_key: str | None = None, port: int | None = None) -> Change:
    check_site(name)
    check_claim_command(claim_command)
    with _locked(files.registry):
        registry = load_registry(files.registry, missing_ok=True)
        lines = _read_keys(files.authorized_keys)
        site, note = _site_for(registry, name, key, host_key, port)
        _refuse_foreign_use(lines, name, key, files.authorized_keys)
        line = key_line(name, site.port, key, claim_command)
        kept = [entry.text for entry in lines if entry.site != name]
        new_keys = _join([*kept, line])
        registry_changed = _write(files.registry, render_registry(registry.with_site(site)))
        keys_changed = _write(files.authorized_keys, new_keys)
    if not keys_changed and not registry_changed:
        note = f"already registered with this key on port {site.port}: nothing changed"
    return Change(name, site.port, key.fingerprint, line, registry_changed, keys_changed, note)


def remove_site(files: HubFiles, name: str) -> Change:
    check_site(name)
    with _locked(files.registry):
        registry = load_registry(files.registry, missing_ok=True)
        lines = _read_keys(files.authorized_keys)
        site = registry.sites.get(name)
        ours = [entry for entry in lines if entry.site == name]
        if site is None and not ours:
            raise ExpandError(f"{name}: no such site in {show_path(files.registry)} "
                              f"or {show_path(files.authorized_keys)}")
        registry_changed = site is not None and _write(
            files.registry, render_registry(registry.without(name)))
        keys_changed = bool(ours) and _write(
            files.authorized_keys, _join([e.text for e in lines if e.site != name]))
    return Change(name, site.port if site else 0, site.fingerprint if site else "", None,
                  registry_changed, keys_changed,
                  "removed: its key can no longer log in" + (f" (port {site.port} is free)"
                                                             if site else ""))


def _site_for(registry: Registry, name: str, key: PublicKey, host_key: str | None,
              port: int | None) -> tuple[Site, str]:
    other = registry.by_fingerprint(key.fingerprint)
    if other and other.name != name:
        raise ExpandError(f"PUBKEY: this key ({key.fingerprint}) is already site "
                          f"{other.name}'s; one key per appliance (remove {other.name} first)")
    current = registry.sites.get(name)
    if port is not None:
        holder = registry.by_port().get(port)
        if holder and holder.name != name:
            raise ExpandError(f"--port: {port} is site {holder.name}'s")
        if not registry.first_port <= port <= registry.last_port:
            raise ExpandError(f"--port: {port} is outside the registry's ports "
                              f"{registry.first_port}-{registry.last_port}")
    if current is None:
        chosen = port if port is not None else registry.free_port()
        return Site(name, chosen, key, _now(), host_key), f"added on port {chosen}"
    chosen = port if port is not None else current.port
    note = f"updated (port {chosen})"
    if current.key != key:
        note = f"key replaced on port {chosen} (was {current.fingerprint})"
    elif chosen != current.port:
        note = f"port moved from {current.port} to {chosen}"
    return Site(name, chosen, key, current.added,
                host_key if host_key is not None else current.host_key), note


def _refuse_foreign_use(lines: list[KeyLine], name: str, key: PublicKey, path: Path) -> None:
    """The same key on another line would let sshd pick that line's rights instead."""
    for entry in lines:
        if entry.blob == key.blob and entry.site != name:
            whose = f"site {entry.site}'s line" if entry.site else "a line hub-add did not write"
            raise ExpandError(f"PUBKEY: this key is already in {show_path(path)} line "
                              f"{entry.number} ({whose}); refused")


def _read_keys(path: Path) -> list[KeyLine]:
    try:
        text = read_text(path, what="authorized_keys", max_bytes=AUTHORIZED_KEYS_BYTES)
    except ReadError as exc:
        if exc.missing:
            return []
        raise
    return parse_authorized_keys(text)


def _join(lines: list[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


def _write(path: Path, text: str) -> bool:
    """Replace ``path`` atomically, keeping an existing file's owner and mode (minus
    group/other write, which sshd's StrictModes refuses)."""
    mode, owner, group = 0o644, None, None
    with contextlib.suppress(FileNotFoundError):
        st = os.stat(path)
        if stat.S_ISREG(st.st_mode):
            mode = stat.S_IMODE(st.st_mode) & ~0o022
            owner, group = _user(st.st_uid), _group(st.st_gid)
    try:
        return FileSink(Path("/")).write(os.path.abspath(path), text, mode=mode,
                                         owner=owner, group=group)
    except OSError as exc:
        raise ExpandError(f"{show_path(path)}: cannot write: {exc.strerror}") from None


def _user(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def _group(gid: int) -> str | None:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return None


@contextlib.contextmanager
def _locked(registry: Path) -> Iterator[None]:
    """An exclusive lock on the registry's folder (no lock file: bad input writes nothing)."""
    folder = Path(os.path.abspath(registry)).parent
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        if exc.errno == 2:  # the registry's folder is made by its first write
            yield
            return
        raise ExpandError(f"{show_path(registry)}: cannot use its folder: "
                          f"{exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
