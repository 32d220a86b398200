"""What an upgrade must bring back, kept on the data filesystem (``/srv/expand/backup``).

The upgrade kickstart reformats the system and keeps the data filesystem; its ``%post``
(kickstart/scripts.py) copies this backup into the new root, its ``%pre``
(kickstart/disks.py) refuses an upgrade without one. Kept: ``/etc/expand`` (answers, the
tunnel key pair, support keys), the join state, the cluster identity (corosync.conf and
authkey, pacemaker's authkey, the CIB), the SSH host keys, the PBX site file, and the
answers *with* their secrets, so the first boot after the upgrade applies them unattended.

A pure ``plan_backup`` (what to copy, from where, with which mode and owner) and
``write_backup`` (through one FileSink). A backup is a generation directory named by the
digest of its contents, made complete first and then made current by replacing the
``current`` symlink: never half a backup, and the same state again writes nothing.

Layout of a generation (all 0600 files in 0700 directories):
``files/<path>`` the copies; ``restore.list`` one tab-separated line per entry, read by the
%post shell: ``TYPE KIND MODE OWNER GROUP PATH`` (TYPE d|f, KIND node|cluster: a standalone
upgrade skips cluster lines); ``manifest.json`` for the %pre: format, hostname, machine id,
whether it holds a cluster identity.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import PurePosixPath

from appliance.errors import ExpandError
from appliance.filesink import FileSink, fsync_dir
from appliance.paths import ANSWERS, CONFIG_DIR, JOIN_CODE, STATE_DIR
from appliance.readers import ReadError, load_toml, read_bytes
from appliance.runner import Runner

# kickstart.disks.DATA_MOUNT (that module is stdlib-only: it cannot import this one).
DATA_MOUNT = "/srv/expand"
BACKUP_DIR = f"{DATA_MOUNT}/backup"
CURRENT = f"{BACKUP_DIR}/current"
MANIFEST = "manifest.json"
RESTORE_LIST = "restore.list"
FILES = "files"
FORMAT = 1
# Where the %post puts the answers with secrets; the first boot applies and removes them.
UPGRADE_ANSWERS = f"{STATE_DIR}/upgrade-answers.toml"
# cluster | standalone, as the boot entry said (the %post writes it, that first boot reads it).
UPGRADE_MODE_FILE = f"{STATE_DIR}/upgrade-mode"
# ha.corosync / ha.cib_sync paths (appliance may not import ha; tests keep them equal).
COROSYNC_CONF = "/etc/corosync/corosync.conf"
COROSYNC_AUTHKEY = "/etc/corosync/authkey"
PACEMAKER_AUTHKEY = "/etc/pacemaker/authkey"
CIB_FILE = "/var/lib/pacemaker/cib/cib.xml"
SSH_DIR = "/etc/ssh"
# The new install writes its own release file: the old one must not come back over it.
NOT_KEPT = (f"{CONFIG_DIR}/release",)
MAX_FILE_BYTES = 16 * 1024 * 1024
CIB_QUERY_SECONDS = 60.0
MAX_FILES = 2000
CLUSTER_FILES = (JOIN_CODE, COROSYNC_CONF, COROSYNC_AUTHKEY, PACEMAKER_AUTHKEY)


@dataclass(frozen=True)
class Entry:
    """One file (or directory) to keep: its target path, how it is restored, where from."""

    path: str
    kind: str        # "node" | "cluster"
    mode: int
    owner: str
    group: str
    source: str      # "file" | "cib" (the live CIB) | "answers" (given by the caller)
    is_dir: bool = False

    def line(self) -> str:
        return "\t".join(("d" if self.is_dir else "f", self.kind, f"{self.mode:04o}",
                          self.owner, self.group, self.path))


@dataclass(frozen=True)
class BackupPlan:
    entries: tuple[Entry, ...]
    hostname: str
    machine_id: str

    @property
    def cluster(self) -> bool:
        paths = {e.path for e in self.entries}
        return COROSYNC_CONF in paths and COROSYNC_AUTHKEY in paths

    def files(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if not e.is_dir)


def plan_backup(sink: FileSink, *, live: bool, with_answers: bool) -> BackupPlan:
    """What a backup of the root below ``sink`` holds (reads the root, writes nothing).

    ``with_answers``: the caller gives the answers with secrets; otherwise the current
    backup's copy is carried over (pbx apply, upgrade prepare: they never see secrets).
    """
    names = _Names(sink)
    files: list[tuple[str, str, str]] = []  # (path, kind, source)
    for path in _walk(sink, CONFIG_DIR):
        if path not in NOT_KEPT:
            files.append((path, "node", "file"))
    for path in CLUSTER_FILES:
        if _regular(sink, path):
            files.append((path, "cluster", "file"))
    if _regular(sink, CIB_FILE):
        files.append((CIB_FILE, "cluster", "cib" if live else "file"))
    ssh = sink.target(SSH_DIR)
    if ssh.is_dir():
        for host in sorted(ssh.glob("ssh_host_*")):
            if host.is_file() and not host.is_symlink():
                files.append((f"{SSH_DIR}/{host.name}", "node", "file"))
    site = _site_file(sink)
    if site and not site.startswith(CONFIG_DIR + "/") and _regular(sink, site):
        files.append((site, "node", "file"))
    if with_answers or _regular(sink, f"{CURRENT}/{FILES}{UPGRADE_ANSWERS}"):
        files.append((UPGRADE_ANSWERS, "node", "answers"))
    if len(files) > MAX_FILES:
        raise ExpandError(f"{CONFIG_DIR}: more than {MAX_FILES} files to back up")
    entries: dict[str, Entry] = {}
    for path, kind, source in files:
        # Directories carry no identity: always restored (a standalone upgrade too).
        for parent in reversed(PurePosixPath(path).parents[:-1]):
            key = str(parent)
            if key not in entries:
                entries[key] = names.entry(key, "node", "file", is_dir=True)
        entries[path] = names.entry(path, kind, source)
    return BackupPlan(tuple(entries.values()), _hostname(sink), _first_line(sink,
                                                                            "/etc/machine-id"))


def write_backup(sink: FileSink, runner: Runner, plan: BackupPlan,
                 answers_text: str | None = None) -> str:
    """Write the planned backup as a new generation and make it current; returns the
    generation's target path (unchanged when the current one already holds this)."""
    contents = {e.path: _content(sink, runner, e, answers_text) for e in plan.files()}
    manifest = json.dumps({"format": FORMAT, "hostname": plan.hostname,
                           "machine_id": plan.machine_id, "cluster": plan.cluster,
                           "files": sorted(contents)}, indent=2) + "\n"
    listing = "".join(e.line() + "\n" for e in plan.entries)
    digest = hashlib.sha256(manifest.encode() + listing.encode())
    for path in sorted(contents):
        digest.update(path.encode() + b"\0" + hashlib.sha256(contents[path]).digest())
    gen = f"{BACKUP_DIR}/gen-{digest.hexdigest()[:16]}"
    sink.mkdir(DATA_MOUNT, 0o755)  # the mount point on a box; a --root may lack it
    sink.mkdir(BACKUP_DIR, 0o700)
    os.chmod(sink.target(BACKUP_DIR), 0o700)
    current = sink.target(CURRENT)
    if not (current.is_symlink() and os.readlink(current) == PurePosixPath(gen).name):
        shutil.rmtree(sink.target(gen), ignore_errors=True)  # a cut run's leftover
        for path, data in contents.items():
            sink.write(f"{gen}/{FILES}{path}", data, mode=0o600, dir_mode=0o700)
        sink.write(f"{gen}/{RESTORE_LIST}", listing, mode=0o600, dir_mode=0o700)
        sink.write(f"{gen}/{MANIFEST}", manifest, mode=0o600, dir_mode=0o700)
        sink.symlink(CURRENT, PurePosixPath(gen).name)
        fsync_dir(sink.target(BACKUP_DIR))  # the new current survives a power cut
    for old in sink.target(BACKUP_DIR).glob("gen-*"):  # older ones, and a cut run's
        if old.name != PurePosixPath(gen).name:
            shutil.rmtree(old, ignore_errors=True)
    return gen


def refresh(sink: FileSink, runner: Runner, *, live: bool,
            answers_text: str | None = None) -> str:
    """Plan and write the backup of this root (the one call the hooks make)."""
    plan = plan_backup(sink, live=live, with_answers=answers_text is not None)
    return write_backup(sink, runner, plan, answers_text)


def _content(sink: FileSink, runner: Runner, entry: Entry, answers_text: str | None) -> bytes:
    if entry.source == "answers":
        if answers_text is not None:
            return answers_text.encode()
        return _read(sink, f"{CURRENT}/{FILES}{UPGRADE_ANSWERS}")
    if entry.source == "cib":
        try:
            result = runner.run(["cibadmin", "--query"], check=False,
                                timeout=CIB_QUERY_SECONDS)
        except ExpandError:  # not installed, or pacemaker hung: its file, as below
            result = None
        if result is not None and result.returncode == 0 and result.stdout.strip():
            return cib_without_status(result.stdout)
        # pacemaker not running: its own file, without the signature (restored without it)
    return _read(sink, entry.path)


def cib_without_status(text: str) -> bytes:
    """The CIB as pacemaker keeps it on disk: configuration only, an empty status (the
    status is rebuilt by the cluster). Restored without cib.xml.sig, which pacemaker takes
    as "no on-disk digest" and accepts."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ExpandError(f"cibadmin --query: not XML ({exc})") from None
    if root.tag != "cib":
        raise ExpandError(f"cibadmin --query: the document is <{root.tag}>, not <cib>")
    for status in root.findall("status"):
        status.clear()
    data: bytes = ET.tostring(root, encoding="utf-8")
    return data + b"\n"


def _read(sink: FileSink, path: str) -> bytes:
    return read_bytes(sink.target(path), what="file to back up", max_bytes=MAX_FILE_BYTES)


def _regular(sink: FileSink, path: str) -> bool:
    host = sink.target(path)
    return host.is_file() and not host.is_symlink()


def _walk(sink: FileSink, top: str) -> list[str]:
    """Regular files below ``top`` (symlinks and devices are not configuration)."""
    found = []
    base = sink.target(top)
    if not base.is_dir() or base.is_symlink():
        return []
    for folder, dirs, names in os.walk(base):
        dirs.sort()
        for name in sorted(names):
            host = os.path.join(folder, name)
            if "\n" in host or "\t" in host:
                raise ExpandError(f"{show(host)}: a file name with a tab or newline cannot be "
                                  "backed up")
            if stat.S_ISREG(os.lstat(host).st_mode):
                found.append(top + "/" + os.path.relpath(host, base))
        if len(found) > MAX_FILES:
            raise ExpandError(f"{top}: more than {MAX_FILES} files to back up")
    return found


def show(text: str) -> str:
    return text.replace("\n", "\\n").replace("\t", "\\t")


def _site_file(sink: FileSink) -> str:
    """The answers' ``[pbx] site`` (the saved answers), '' when none or unreadable."""
    try:
        data = load_toml(sink.target(ANSWERS), what="answers file")
    except ReadError:
        return ""
    pbx = data.get("pbx")
    site = pbx.get("site") if isinstance(pbx, dict) else None
    if isinstance(site, str) and site.startswith("/") and "\n" not in site \
            and "\t" not in site and ".." not in site.split("/"):
        return site
    return ""


def _hostname(sink: FileSink) -> str:
    return _first_line(sink, "/etc/hostname")


def _first_line(sink: FileSink, path: str) -> str:
    try:
        text = sink.read_text(path)
    except ExpandError:
        return ""
    lines = (text or "").strip().splitlines()
    return lines[0].strip() if lines else ""


class _Names:
    """Owner and group names as the root's own passwd and group files say (a --root is
    another system: the host's names may not match)."""

    def __init__(self, sink: FileSink) -> None:
        self.sink = sink
        self.users = self._table("/etc/passwd")
        self.groups = self._table("/etc/group")

    def _table(self, path: str) -> dict[int, str]:
        try:
            text = self.sink.read_text(path) or ""
        except ExpandError:
            text = ""
        table: dict[int, str] = {}
        for line in text.splitlines():
            fields = line.split(":")
            if len(fields) >= 3 and fields[2].isdigit():
                table.setdefault(int(fields[2]), fields[0])
        return table

    def entry(self, path: str, kind: str, source: str, *, is_dir: bool = False) -> Entry:
        host = self.sink.target(path)
        if source == "answers":
            return Entry(path, kind, 0o600, "root", "root", source)
        try:
            st = host.stat()
        except FileNotFoundError:  # the CIB of a node whose pacemaker never wrote one yet
            return Entry(path, kind, 0o750 if is_dir else 0o600, "root", "root", source,
                         is_dir)
        return Entry(path, kind, stat.S_IMODE(st.st_mode), self.users.get(st.st_uid, "root"),
                     self.groups.get(st.st_gid, "root"), source, is_dir)
