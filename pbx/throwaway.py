"""Prove a directory of Asterisk configuration on a throwaway Asterisk before it goes live.

Asterisk has no offline checker, and a reload keeps old objects and skips bad lines while
reporting success, so the only proof is a real boot: a copy of the directory is loaded by a
private Asterisk with its own directories (all under one temporary directory), listening on
loopback only (pjsip transports, AMI and HTTP rebound to 127.0.0.1 on free ports), logging
in JSON. Once it is fully booted its counts (pjsip endpoints, dialplan contexts, queues and
their strategies and members) are read and compared with what the model expects, and every
WARNING/ERROR it logged is kept: those about our files make the proof fail, the others are
listed apart. Then it is stopped by its PID (``core stop now``, SIGKILL on timeout) and the
temporary directory removed, on every path.

The binary is reached through ``AsteriskPlace``: on an appliance Asterisk runs directly; on
a Debian test host inside the unstable root (pbx.asterisk_root), through its argv prefix.
Our asterisk.conf and logger.conf replace any given ones (they say where the proof lives).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.runner import Result, Runner
from appliance.wait import poll
from pbx.asterisk_conf import Section, rebind, resolved, set_general

LOOPBACK = "127.0.0.1"
LOG_NAME = "proof.json"
CHECKS = ("core show version", "pjsip show endpoints", "dialplan show", "queue show")
# Files the proof writes itself: where it lives, what it logs.
OWN_FILES = frozenset({"asterisk.conf", "logger.conf"})
# Which modules read each file: a message from their sources (the JSON log's
# "location.filename" as compiled: "res_pjsip/config_transport.c", "pbx_config.c") is about
# that file even when it names none, and so is the loader's word that one of them declined.
MODULES_OF: Mapping[str, tuple[str, ...]] = {
    "pjsip.conf": ("res_pjsip", "res_sorcery_config"),
    "extensions.conf": ("pbx_config", "pbx"),
    "queues.conf": ("app_queue",),
    "voicemail.conf": ("app_voicemail",),
    "musiconhold.conf": ("res_musiconhold",),
    "chan_dahdi.conf": ("chan_dahdi", "sig_pri", "sig_analog"),
    "res_fax.conf": ("res_fax",),
    # Not manager.c or http.c: they log every module's action registrations too.
}
_LINE_OF = re.compile(r"\bline (\d+) of '?([\w.\-/]+\.conf)'?")
_FILE_LINE = re.compile(r"'?([\w.\-/]+\.conf)'?[:, ]+line (\d+)")
_LINE_OF_NOTHING = re.compile(r"\bline (\d+) of\s*$")
_NAMED = re.compile(r"([\w.\-]+\.conf)\b")


@dataclass(frozen=True)
class AsteriskPlace:
    """How to run Asterisk: ``prefix`` before every command, ``root`` the host path of the
    filesystem it sees (``/`` on an appliance)."""

    prefix: tuple[str, ...] = ()
    root: Path = Path("/")
    binary: str = "asterisk"
    user: str = "asterisk"

    def host(self, inside: str | PurePosixPath) -> Path:
        return self.root.joinpath(*PurePosixPath(inside).parts[1:])


@dataclass(frozen=True)
class Expect:
    """What the model says the configuration holds; None leaves a count unchecked."""

    endpoints: int | None = None
    contexts: int | None = None
    queues: Mapping[str, str] | None = None  # queue name → strategy
    members: Mapping[str, Sequence[str]] | None = None  # queue name → member interfaces


@dataclass(frozen=True)
class Queue:
    strategy: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Proof:
    ok: bool
    endpoints: int
    contexts: tuple[str, ...]  # dialplan contexts created by pbx_config (extensions.conf)
    queues: Mapping[str, Queue]
    problems: tuple[str, ...]  # one line each: our files' messages, counts that differ
    other_messages: tuple[str, ...]  # WARNING/ERROR lines about anything else
    binds: tuple[str, ...]  # where the proof put the listeners of our files
    listening: tuple[str, ...]  # what the throwaway Asterisk listened on ("udp 127.0.0.1:N")
    pid: int | None  # the throwaway Asterisk's PID (gone once prove returns)
    seconds: float  # start to verdict
    version: str = ""  # "Asterisk 22.10.1..." as the throwaway said

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "endpoints": self.endpoints, "contexts": list(self.contexts),
                "queues": {n: {"strategy": q.strategy, "members": list(q.members)}
                           for n, q in self.queues.items()},
                "problems": list(self.problems), "other_messages": list(self.other_messages),
                "binds": list(self.binds), "listening": list(self.listening),
                "seconds": round(self.seconds, 2), "version": self.version}

    def summary(self) -> str:
        count = len(self.problems)
        verdict = "ok" if self.ok else f"FAILED ({count} problem{'s' * (count != 1)})"
        return (f"throwaway Asterisk: {verdict}; endpoints={self.endpoints} "
                f"contexts={len(self.contexts)} queues={len(self.queues)} "
                f"in {self.seconds:.1f} s")


@dataclass
class Instance:
    """A throwaway Asterisk's place: its directory, PID and loopback listeners."""

    place: AsteriskPlace
    runner: Runner
    inside: PurePosixPath  # the proof's directory as Asterisk sees it
    given: Sequence[str] = ()  # the config files copied in (relative names)
    pid: int | None = None
    binds: list[str] = field(default_factory=list)  # "pjsip NAME 127.0.0.1:N", "manager …"

    @property
    def conf(self) -> str:
        return str(self.inside / "etc/asterisk.conf")

    def path(self, name: str) -> Path:
        return self.place.host(self.inside / name)

    def cli(self, command: str, timeout: float = 30) -> Result:
        return self.runner.run([*self.place.prefix, self.place.binary, "-C", self.conf,
                                "-rx", command], check=False, timeout=timeout)

    def address(self, kind: str, name: str = "") -> tuple[str, int]:
        """Where a rebound listener went: ``("pjsip", "transport-udp")``, ``("manager",)``."""
        for bind in self.binds:
            words = bind.split()
            if words[0] == kind and (not name or words[1:-1] == [name]):
                host, port = words[-1].rsplit(":", 1)
                return host, int(port)
        raise ExpandError(f"throwaway Asterisk: no {kind} {name} listener (it has: "
                          f"{', '.join(self.binds) or 'none'})")


@contextlib.contextmanager
def booted(config_dir: Path, *, place: AsteriskPlace | None = None,
           runner: Runner | None = None, boot_timeout: float = 60,
           stop_timeout: float = 15) -> Iterator[Instance]:
    """A throwaway Asterisk on a copy of ``config_dir``, fully booted and kept up for the
    with-block (a peer to call, a box to load), then stopped and removed as ``prove`` does.
    Its listeners are on loopback (``Instance.address``); nothing is judged."""
    with (_laid_out(config_dir, place, runner) as instance,
          _running(instance, boot_timeout, stop_timeout)):
        yield instance


@contextlib.contextmanager
def _laid_out(config_dir: Path, place: AsteriskPlace | None,
              runner: Runner | None) -> Iterator[Instance]:
    """A temporary directory holding the copy of ``config_dir`` (``_lay_out``), removed on
    every path."""
    place = place or AsteriskPlace()
    if not config_dir.is_dir():
        raise ExpandError(f"{config_dir}: not a directory of Asterisk configuration")
    given = _config_files(config_dir)
    tmp_host = place.host("/tmp")
    tmp_host.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="expand-proof-", dir=tmp_host))
    instance = Instance(place, runner or Runner(), PurePosixPath("/tmp") / work.name, given)
    try:
        _lay_out(instance, config_dir)
        yield instance
    finally:
        shutil.rmtree(work, ignore_errors=True)


def prove(config_dir: Path, expect: Expect, *, place: AsteriskPlace | None = None,
          runner: Runner | None = None, boot_timeout: float = 60,
          stop_timeout: float = 15, ours: Sequence[str] | None = None) -> Proof:
    """Boot a throwaway Asterisk on a copy of ``config_dir`` and judge it (module docstring).

    Raises ExpandError only when the proof itself cannot run (no such directory, Asterisk
    does not start, or stays up without finishing its boot in ``boot_timeout`` s); a
    configuration Asterisk complains about, or exits on, is a Proof that is not ok.
    ``stop_timeout`` is how long ``core stop now`` gets before SIGKILL. ``ours``: the files
    (relative names) whose messages are problems, when not all of them are (a release also
    holds the box's packaged files); default every file of ``config_dir``."""
    started = time.monotonic()
    with _laid_out(config_dir, place, runner) as instance:
        with _running(instance, boot_timeout, stop_timeout):
            answers = {command: instance.cli(command) for command in CHECKS}
            listening = _listening(instance.pid)
            exited = not _our_pids(instance)
        # Read once Asterisk has stopped: its last lines are flushed by then.
        ours, others = _log_messages(instance.path(f"log/{LOG_NAME}"),
                                     _Ours.of(config_dir, instance.given
                                              if ours is None else ours))
    version = answers["core show version"].stdout.strip().split(" built ", 1)[0]
    endpoints = _endpoints(answers["pjsip show endpoints"])
    contexts = _contexts(answers["dialplan show"].stdout)
    queues = _queues(answers["queue show"].stdout)
    problems = list(ours)
    if exited:
        # Counts of an Asterisk that is gone would only repeat it.
        reason = next((o.split(": ", 2)[2] for o in reversed(others)
                       if o.startswith("asterisk.c: ERROR")), "no reason logged")
        problems.append(f"throwaway Asterisk exited while booting: {reason}")
    else:
        problems += [f"asterisk -rx '{command}' failed (exit {answer.returncode}): "
                     + _tail(answer.stderr or answer.stdout)
                     for command, answer in answers.items() if answer.returncode != 0]
        problems += _count_problems(expect, endpoints, contexts, queues)
    # The proof must never be reachable from outside, nor take a live Asterisk's ports.
    problems += [f"throwaway Asterisk listened on {x}, not loopback (the proof's own setup "
                 "let a module through)" for x in listening if _exposed(x)]
    return Proof(not problems, endpoints, tuple(contexts), queues, tuple(problems),
                 tuple(others), tuple(instance.binds), tuple(listening), instance.pid,
                 time.monotonic() - started, version)


@dataclass(frozen=True)
class _Ours:
    """What makes a log line about our files: their names, the modules modules.conf names."""

    names: frozenset[str]
    modules: frozenset[str]

    @classmethod
    def of(cls, config_dir: Path, given: Sequence[str]) -> _Ours:
        names = frozenset(PurePosixPath(g).name for g in given) - OWN_FILES
        modules: frozenset[str] = frozenset()
        if "modules.conf" in given:
            text = (config_dir / "modules.conf").read_text(errors="replace")
            modules = frozenset(re.findall(r"\b(\w+)\.so\b",
                                           re.sub(r"(?<!\\);.*", "", text)))
        return cls(names, modules)


def _config_files(config_dir: Path) -> list[str]:
    """Relative names of the regular files under ``config_dir``."""
    files = sorted(str(p.relative_to(config_dir)) for p in config_dir.rglob("*")
                   if p.is_file() and not p.is_symlink())
    if not files:
        raise ExpandError(f"{config_dir}: no configuration files in it")
    return files


def _lay_out(instance: Instance, config_dir: Path) -> None:
    """The proof's directories, its copy of the config (rebound) and its own asterisk.conf
    and logger.conf, all owned by the Asterisk user."""
    sink = FileSink(instance.place.host(instance.inside))
    for name in ("etc", "lib", "spool", "run", "log", "db", "cache"):
        sink.mkdir(f"/{name}", 0o750)
    for name in instance.given:
        if name in OWN_FILES:
            continue
        text = (config_dir / name).read_bytes()
        sink.write(f"/etc/{name}", _rebound(instance, name, text), mode=0o640)
    d = instance.inside
    sink.write("/etc/asterisk.conf", (
        "[directories]\n"
        f"astetcdir => {d}/etc\nastvarlibdir => {d}/lib\nastspooldir => {d}/spool\n"
        f"astrundir => {d}/run\nastlogdir => {d}/log\nastdbdir => {d}/db\n"
        f"astcachedir => {d}/cache\n"
        "[options]\n"
        f"runuser = {instance.place.user}\nrungroup = {instance.place.user}\n"
        "systemname = expand-proof\nlockconfdir = yes\nhideconnect = yes\n"), mode=0o640)
    sink.write("/etc/logger.conf", (
        "[general]\nqueue_log = no\n"
        f"[logfiles]\n{LOG_NAME} => [json]notice,warning,error\n"), mode=0o640)
    user = instance.place.user
    instance.runner.run([*instance.place.prefix, "chown", "-R", f"{user}:{user}", str(d)],
                        timeout=60)


def _rebound(instance: Instance, name: str, data: bytes) -> bytes:
    """The proof's copy of a file: listeners moved to loopback, free ports."""
    if name not in ("pjsip.conf", "manager.conf", "http.conf"):
        return data
    text = data.decode(errors="surrogateescape")
    if name == "pjsip.conf":
        text = rebind(text, _is_transport, frozenset({"bind"}), lambda s: _bind(instance, s))
    elif name == "manager.conf":
        port = _free_port()
        instance.binds.append(f"manager {LOOPBACK}:{port}")
        text = set_general(text, {"bindaddr": LOOPBACK, "port": str(port),
                                  "tlsenable": "no"})
    else:
        port = _free_port()
        instance.binds.append(f"http {LOOPBACK}:{port}")
        text = set_general(text, {"bindaddr": LOOPBACK, "bindport": str(port),
                                  "tlsenable": "no"})
    return text.encode(errors="surrogateescape")


def _is_transport(section: Section, by_name: Mapping[str, Section]) -> bool:
    return resolved(section, by_name, "type") == "transport"


def _bind(instance: Instance, section: Section) -> dict[str, str]:
    address = f"{LOOPBACK}:{_free_port()}"
    instance.binds.append(f"pjsip {section.name} {address}")
    return {"bind": address}


def _free_port() -> int:
    """A loopback port free for both TCP and UDP right now."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((LOOPBACK, 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((LOOPBACK, port))
                except OSError:
                    continue
        return port


@contextlib.contextmanager
def _running(instance: Instance, boot_timeout: float,
             stop_timeout: float) -> Iterator[None]:
    """Asterisk started (it daemonizes), fully booted; stopped by its PID afterwards."""
    place = instance.place
    try:
        started = instance.runner.run(
            [*place.prefix, place.binary, "-C", instance.conf, "-U", place.user,
             "-G", place.user, "-n"], check=False, timeout=boot_timeout)
        if started.returncode != 0:
            raise ExpandError(f"throwaway Asterisk did not start (exit {started.returncode}): "
                              + _tail(started.stderr or started.stdout))
        pidfile = instance.path("run/asterisk.pid")
        socket_path = instance.path("run/asterisk.ctl")
        up, _ = poll(lambda: pidfile.is_file() and socket_path.exists(), bool,
                     timeout=boot_timeout)
        instance.pid = _read_pid(pidfile)
        if not up:
            raise ExpandError(f"throwaway Asterisk: no control socket after {boot_timeout:.0f}"
                              f" s ({socket_path}); its log: "
                              + _tail(_log_text(instance.path(f"log/{LOG_NAME}"))))
        booted = instance.cli("core waitfullybooted", timeout=boot_timeout)
        # An Asterisk that exited is judged by prove (its log says why); one that is still
        # up and not booted is a failure of the proof itself.
        if booted.returncode != 0 and _our_pids(instance):
            raise ExpandError("throwaway Asterisk did not finish booting: "
                              + _tail(booted.stderr or booted.stdout))
        yield
    finally:
        _stop(instance, stop_timeout)


def _listening(pid: int | None) -> list[str]:
    """"proto address:port" of every socket ``pid`` listens on (TCP) or is bound to (UDP),
    from /proc/net (the host's network namespace, which a chroot shares)."""
    if pid is None:
        return []
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    found = []
    for proto in ("tcp", "udp", "tcp6", "udp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/net/{proto}").read_text().splitlines()[1:]:
                cols = line.split()
                # TCP state 0A is LISTEN; a bound UDP socket is 07 (unconnected).
                if cols[9] in inodes and cols[3] in ("0A", "07"):
                    found.append(f"{proto} {_address(cols[1])}")
    return sorted(set(found))


def _address(hex_pair: str) -> str:
    """/proc/net's "0100007F:1F90" → "127.0.0.1:8080" (IPv6 likewise)."""
    host, port = hex_pair.split(":")
    raw = bytes.fromhex(host)
    # /proc/net prints each 32-bit word in host (little-endian) order.
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
    shown = socket.inet_ntop(family, words)
    return f"[{shown}]:{int(port, 16)}" if family == socket.AF_INET6 else f"{shown}:{int(port, 16)}"


def _exposed(listener: str) -> bool:
    """A socket reachable from outside on a port someone configured. res_pjsip itself
    always holds two unconnected UDP sockets on kernel-chosen ports of the wildcard address
    (0.0.0.0 and ::; with or without transports, as a live Asterisk does): those are not
    services and take no configured port, so they are listed but not held against it."""
    proto, where = listener.split(" ", 1)
    address, port = where.rsplit(":", 1)
    if ipaddress.ip_address(address.strip("[]")).is_loopback:
        return False
    low, high = _ephemeral_ports()
    return not (proto.startswith("udp") and low <= int(port) <= high)


def _ephemeral_ports() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def _stop(instance: Instance, timeout: float) -> None:
    """``core stop now``, then SIGKILL: by the PID file's PID and, should Asterisk have died
    before writing it, by any process whose command line names this proof's directory."""
    mine = _our_pids(instance)
    if not mine:
        return
    instance.cli("core stop now", timeout=timeout)
    gone, _ = poll(lambda: not _our_pids(instance), bool, timeout=timeout)
    if gone:
        return
    for pid in _our_pids(instance):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    gone, left = poll(lambda: _our_pids(instance), lambda p: not p, timeout=timeout)
    if not gone:
        raise ExpandError(f"throwaway Asterisk: PIDs {left} still running after SIGKILL")


def _our_pids(instance: Instance) -> list[int]:
    """Live processes started for this proof: the recorded PID (when its command line is
    still ours, so a reused PID is never hit) and any other naming our asterisk.conf."""
    marker = instance.conf.encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        # Only the server: "-rx" clients of this proof end by themselves.
        if marker in cmdline.split(b"\0") and b"-rx" not in cmdline.split(b"\0"):
            found.append(int(entry.name))
    return sorted(found)


def _tail(text: str, lines: int = 5) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return " | ".join(kept) or "(no output)"


def _log_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _endpoints(result: Result) -> int:
    """``pjsip show endpoints``: "Objects found: N" (res_pjsip/pjsip_cli.c)."""
    found = re.search(r"Objects found:\s*(\d+)", result.stdout)
    return int(found.group(1)) if found else 0


def _contexts(text: str) -> list[str]:
    """``dialplan show``: the contexts extensions.conf created ("created by 'pbx_config'")."""
    return re.findall(r"\[ Context '([^']+)' created by 'pbx_config' \]", text)


def _queues(text: str) -> dict[str, Queue]:
    """``queue show``: "NAME has N calls ... in 'STRATEGY' strategy", then its members."""
    queues: dict[str, Queue] = {}
    name = strategy = ""
    members: list[str] = []
    in_members = False
    for line in [*text.splitlines(), ""]:
        head = re.match(r"^(\S+) has \d+ calls? .* in '([^']+)' strategy", line)
        if head or not line.strip():
            if name:
                queues[name] = Queue(strategy, tuple(members))
            name, strategy, members, in_members = "", "", [], False
            if head:
                name, strategy = head.group(1), head.group(2)
            continue
        stripped = line.strip()
        if stripped.startswith("Members:"):
            in_members = True
        elif stripped.startswith(("Callers:", "No Callers", "No Members")):
            in_members = False
        elif in_members and name:
            members.append(_member_interface(stripped))
    return queues


def _member_interface(line: str) -> str:
    """"PJSIP/550 (ringinuse ...) ..." or "Ana (PJSIP/550 from ...) ..." → PJSIP/550."""
    named = re.match(r"^.*?\((\w+/[^\s)]+)", line)
    first = line.split(" ", 1)[0]
    return first if "/" in first or not named else named.group(1)


@dataclass(frozen=True)
class _Entry:
    level: str
    message: str
    source: str  # C source file that logged it
    thread: int


def _entries(path: Path) -> list[_Entry]:
    """The JSON log's lines (main/logger.c format_log_json); anything else is skipped."""
    entries = []
    for raw in _log_text(path).splitlines():
        try:
            logmsg = json.loads(raw)["logmsg"]
            entries.append(_Entry(str(logmsg["level"]).upper(),
                                  " ".join(str(logmsg["message"]).split()),
                                  str(logmsg["location"]["filename"]),
                                  int(json.loads(raw)["identifiers"]["lwp"])))
        except (ValueError, KeyError, TypeError):
            continue
    return entries


def _log_messages(path: Path, ours_by: _Ours) -> tuple[list[str], list[str]]:
    """WARNING/ERROR lines of the proof's JSON log: (about our files, about the rest)."""
    ours: list[str] = []
    others: list[str] = []
    entries = _entries(path)
    for index, entry in enumerate(entries):
        if entry.level not in ("WARNING", "ERROR"):
            continue
        where = _where(entry.message, entry.source, ours_by)
        unnamed = _LINE_OF_NOTHING.search(entry.message)
        if where is None and unnamed:
            # Sorcery's option errors say "at line N of" and no file; the same thread
            # names the file right after ("... from configuration file 'pjsip.conf'").
            later = (_where(e.message, e.source, ours_by) for e in entries[index + 1:index + 8]
                     if e.thread == entry.thread)
            file = next((w for w in later if w), None)
            where = f"{file.split(':')[0]}:{unnamed.group(1)}" if file else None
        if where:
            ours.append(f"{where}: {entry.level}: {entry.message}")
        else:
            others.append(f"{entry.source}: {entry.level}: {entry.message}")
    return ours, others


def _where(message: str, source: str, ours: _Ours) -> str | None:
    """``file:line`` (or ``file``) of ours a message is about, None when none of ours."""
    names = ours.names
    for pattern, file_group, line_group in ((_LINE_OF, 2, 1), (_FILE_LINE, 1, 2)):
        found = pattern.search(message)
        if found and PurePosixPath(found.group(file_group)).name in names:
            return f"{PurePosixPath(found.group(file_group)).name}:{found.group(line_group)}"
    named = {PurePosixPath(n).name for n in _NAMED.findall(message)}
    if named:
        # A message naming files is about those (sorcery also loads geolocation.conf...).
        return next((n for n in sorted(named) if n in names), None)
    module = _module_of(source)
    for name, modules in MODULES_OF.items():
        if name not in names:
            continue
        if module in modules or (module.startswith("res_pjsip") and "res_pjsip" in modules):
            return name
        if module == "loader" and any(re.search(rf"\b{m}\b", message)
                                      for m in modules if m != "pbx"):
            return name
    if (module == "loader" and "modules.conf" in names
            and any(re.search(rf"\b{re.escape(m)}(\.so)?\b", message) for m in ours.modules)):
        return "modules.conf"
    return None


def _module_of(source: str) -> str:
    """"res_pjsip/config_transport.c" → "res_pjsip"; "pbx_config.c" → "pbx_config"."""
    first = PurePosixPath(source).parts[0] if source else ""
    return first.removesuffix(".c")


def _count_problems(expect: Expect, endpoints: int, contexts: Sequence[str],
                    queues: Mapping[str, Queue]) -> list[str]:
    problems = []
    if expect.endpoints is not None and endpoints != expect.endpoints:
        problems.append(f"pjsip endpoints: {endpoints} loaded, {expect.endpoints} expected")
    if expect.contexts is not None and len(contexts) != expect.contexts:
        problems.append(f"dialplan contexts: {len(contexts)} loaded "
                        f"({', '.join(sorted(contexts)) or 'none'}), {expect.contexts} expected")
    if expect.queues is not None:
        for name, strategy in sorted(expect.queues.items()):
            if name not in queues:
                problems.append(f"queue {name}: not loaded")
            elif queues[name].strategy != strategy:
                problems.append(f"queue {name}: strategy {queues[name].strategy}, "
                                f"{strategy} expected")
        problems += [f"queue {name}: loaded, not expected"
                     for name in sorted(set(queues) - set(expect.queues))]
    for name, wanted in sorted((expect.members or {}).items()):
        have = queues[name].members if name in queues else ()
        if sorted(have) != sorted(wanted):
            problems.append(f"queue {name}: members {', '.join(sorted(have)) or 'none'}, "
                            f"{', '.join(wanted) or 'none'} expected")
    return problems


# The readers and the judge prove uses, public for pbx.apply's check of a live Asterisk:
# the same parsers, so a live count and a proof's count cannot disagree in how they read.
parse_endpoints = _endpoints
parse_contexts = _contexts
parse_queues = _queues
count_problems = _count_problems
