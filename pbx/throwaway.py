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
a Debian test host inside the unstable root (lab.asterisk_root), through its argv prefix.
Our asterisk.conf and logger.conf replace any given ones (they say where the proof lives).
"""

from __future__ import annotations

import contextlib
import os
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
from pbx.asterisk_counts import (
    Expect,
    Queue,
    count_problems,
    parse_contexts,
    parse_endpoints,
    parse_queues,
)
from pbx.asterisk_log import OWN_FILES, OurFiles, log_messages, log_text
from pbx.listeners import exposed, listening_on

LOOPBACK = "127.0.0.1"
LOG_NAME = "proof.json"
CHECKS = ("core show version", "pjsip show endpoints", "dialplan show", "queue show")


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
            listening = listening_on(instance.pid)
            exited = not _our_pids(instance)
        # Read once Asterisk has stopped: its last lines are flushed by then.
        ours, others = log_messages(instance.path(f"log/{LOG_NAME}"),
                                     OurFiles.of(config_dir, instance.given
                                              if ours is None else ours))
    version = answers["core show version"].stdout.strip().split(" built ", 1)[0]
    endpoints = parse_endpoints(answers["pjsip show endpoints"])
    contexts = parse_contexts(answers["dialplan show"].stdout)
    queues = parse_queues(answers["queue show"].stdout)
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
        problems += count_problems(expect, endpoints, contexts, queues)
    # The proof must never be reachable from outside, nor take a live Asterisk's ports.
    problems += [f"throwaway Asterisk listened on {x}, not loopback (the proof's own setup "
                 "let a module through)" for x in listening if exposed(x)]
    return Proof(not problems, endpoints, tuple(contexts), queues, tuple(problems),
                 tuple(others), tuple(instance.binds), tuple(listening), instance.pid,
                 time.monotonic() - started, version)


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
                              + _tail(log_text(instance.path(f"log/{LOG_NAME}"))))
        booted = instance.cli("core waitfullybooted", timeout=boot_timeout)
        # An Asterisk that exited is judged by prove (its log says why); one that is still
        # up and not booted is a failure of the proof itself.
        if booted.returncode != 0 and _our_pids(instance):
            raise ExpandError("throwaway Asterisk did not finish booting: "
                              + _tail(booted.stderr or booted.stdout))
        yield
    finally:
        _stop(instance, stop_timeout)


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


