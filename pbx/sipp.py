"""Run Debian's sipp (sip-tester) on one of our scenarios and read what it counted.

The scenarios are package data (pbx/sipp/*.xml): ``register`` (REGISTER with digest auth),
``uac`` (a phone's call with RFC 2833 digits), ``uas`` (answers as an extension or a
carrier), ``options`` (one OPTIONS ping per call: the cluster's SIP probe). ``${name}``
placeholders in them are filled per run (timings, digits, the SDP port); sipp's own
``[keywords]`` are left to sipp.

A secret never reaches argv (sipp's -au/-ap would show it in the process list): the user
and the whole ``[authentication username=... password=...]`` keyword go into an injection
file (``-inf``, fields 0 and 1, mode 0600 in a private temporary directory), which the
scenario names as ``[field0]`` and ``[field1]`` (sipp expands keywords inside a field, not
fields inside the authentication keyword). Digits (a PIN) go into the scenario copy,
written 0600 there too.

sipp is started by PID with a deadline (its own ``-timeout`` and ours, after which it is
killed), asked to stop with SIGUSR1 (its graceful quit) and killed on timeout. Its figures
come from its statistics file (``-trace_stat``: successful/failed calls, call rate), its
unexpected messages from ``-trace_err``, its verdict from the exit code (0 all calls
succeeded, 1 some failed, 97 stopped by a command, 99 no call processed, 255 fatal).
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import signal
import socket
import string
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from appliance.errors import ExpandError
from appliance.wait import poll

SCENARIOS = Path(__file__).resolve().parent / "sipp"
SIPP = "sipp"
LOOPBACK = "127.0.0.1"
EXIT_MEANING = {0: "all calls succeeded", 1: "some calls failed", 97: "stopped by a command",
                99: "no call processed", 255: "fatal error"}
# Placeholders a caller may leave out: ``media_step`` (uas: what it does once answered).
DEFAULTS = {"media_step": ""}
_STREAM_STEP = '  <nop><action><exec rtp_stream="{path},-1,0"/></action></nop>\n'
_DTMF_STEP = '  <nop><action><exec play_dtmf="{digits}"/></action></nop>\n' \
             '  <pause milliseconds="{gap_ms}"/>\n'


@dataclass(frozen=True)
class Credentials:
    """A SIP user and its secret; the secret is never shown."""

    user: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class SippResult:
    scenario: str
    returncode: int | None  # None: killed at our deadline
    successful: int
    failed: int
    created: int
    rate: float  # calls per second over the run (sipp's CallRate(C))
    seconds: float
    errors: tuple[str, ...]  # first lines of the unexpected messages sipp logged

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.failed == 0 and self.successful > 0

    def summary(self) -> str:
        meaning = ("killed at the deadline" if self.returncode is None
                   else EXIT_MEANING.get(self.returncode, f"exit {self.returncode}"))
        return (f"sipp {self.scenario}: {self.successful} successful, {self.failed} failed, "
                f"{self.rate:.1f} calls/s in {self.seconds:.1f} s ({meaning})")


def scenario_text(name: str, params: Mapping[str, object]) -> str:
    """The scenario ``name`` with its ``${...}`` filled from ``params``."""
    path = SCENARIOS / f"{name}.xml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in SCENARIOS.glob("*.xml")))
        raise ExpandError(f"sipp scenario {name!r}: no such scenario (known: {known})")
    try:
        return string.Template(path.read_text()).substitute(
            {**DEFAULTS, **{k: str(v) for k, v in params.items()}})
    except KeyError as missing:
        raise ExpandError(f"sipp scenario {name!r}: no value for ${{{missing.args[0]}}}") \
            from None


def dtmf_steps(digits: str, gap_ms: int = 1500) -> str:
    """Scenario lines sending ``digits`` as RFC 2833 events; a space between groups waits
    ``gap_ms`` (a menu's next prompt)."""
    return "".join(_DTMF_STEP.format(digits=group, gap_ms=gap_ms)
                   for group in digits.split() if group)


def stream_step(path: Path) -> str:
    """A scenario line streaming the raw PCMU file ``path`` as RTP (payload 0), looped, to
    the media address of the far end's SDP: audio that keeps flowing while the call lasts."""
    return _STREAM_STEP.format(path=path)


class Sipp:
    """One sipp process: its PID, its files; ``wait`` or ``stop`` gives the result."""

    def __init__(self, name: str, argv: list[str], work: Path, deadline: float) -> None:
        self.name = name
        self.work = work
        self.started = time.monotonic()
        self.deadline = deadline
        # stderr to a file: a pipe nobody reads while sipp runs could fill and stall it.
        with (work / "stderr.log").open("wb") as stderr:
            self.proc = subprocess.Popen(argv, cwd=work, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=stderr)
        self._result: SippResult | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait(self) -> SippResult:
        """Until sipp ends by itself; killed at the deadline."""
        left = self.deadline - (time.monotonic() - self.started)
        try:
            self.proc.wait(timeout=max(left, 0.1))
        except subprocess.TimeoutExpired:
            self._kill()
            return self._read(None)
        return self._read(self.proc.returncode)

    def stop(self, grace: float = 5) -> SippResult:
        """SIGUSR1 (sipp's graceful quit: calls in progress end), SIGKILL after ``grace``."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGUSR1)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._kill()
                return self._read(None)
        return self._read(self.proc.returncode)

    def counts(self) -> dict[str, str]:
        """sipp's last statistics line so far (it dumps every second)."""
        return _last_stats(self.work / "stats.csv")

    def _kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def _read(self, returncode: int | None) -> SippResult:
        if self._result is None:
            stats = _last_stats(self.work / "stats.csv")
            errors = _errors(self.work / "errors.log")
            with contextlib.suppress(OSError):
                errors += tuple(line for line in (self.work / "stderr.log").read_text(
                    errors="replace").splitlines() if line.strip())[-5:]
            self._result = SippResult(
                self.name, returncode, _int(stats, "SuccessfulCall(C)"),
                _int(stats, "FailedCall(C)"), _int(stats, "TotalCallCreated"),
                _float(stats, "CallRate(C)"), time.monotonic() - self.started, errors)
        return self._result


@contextlib.contextmanager
def running(name: str, target: tuple[str, int] | None = None, *,
            params: Mapping[str, object] | None = None,
            credentials: Credentials | None = None, service: str = "service",
            local_port: int = 0, calls: int = 1, rate: float = 1, limit: int = 0,
            deadline: float = 30, local_ip: str = LOOPBACK, prefix: tuple[str, ...] = (),
            extra: tuple[str, ...] = ()) -> Iterator[Sipp]:
    """sipp running ``name`` against ``target`` (None: a server scenario, waiting for calls
    on ``local_port``) for the with-block; stopped by its PID and its files removed after.
    ``calls`` ends it after that many (0: until stopped), ``rate`` calls/s, ``limit`` at
    most that many at once, ``deadline`` s at most. ``local_ip`` is the address it binds
    and puts in its messages; ``prefix`` runs it through another command (``ip netns exec
    NS``: from a network namespace)."""
    if shutil.which(SIPP) is None:
        raise ExpandError("sipp: not installed (Debian's sip-tester)")
    values = dict(params or {})
    work = Path(tempfile.mkdtemp(prefix="expand-sipp-"))
    try:
        (work / "scenario.xml").write_text(scenario_text(name, values))
        (work / "scenario.xml").chmod(0o600)
        argv = [*prefix, SIPP, *((f"{target[0]}:{target[1]}",) if target else ()),
                "-sf", "scenario.xml", "-i", local_ip, "-mi", local_ip,
                "-s", service, "-nostdin", "-aa",
                "-trace_stat", "-stf", "stats.csv", "-fd", "1",
                "-trace_err", "-error_file", "errors.log",
                "-timeout", f"{deadline:.0f}s", "-r", f"{rate:g}"]
        # sipp's own default is 5060 for every process: two at once would collide.
        argv += ["-p", str(local_port or free_udp_port()), "-mp", str(free_udp_port())]
        if calls:
            argv += ["-m", str(calls)]
        if limit:
            argv += ["-l", str(limit)]
        if credentials is not None:
            fd = os.open(work / "users.csv", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(f"SEQUENTIAL\n{credentials.user};[authentication username="
                          f"{credentials.user} password={credentials.secret}];\n")
            argv += ["-inf", "users.csv"]
        sipp = Sipp(name, [*argv, *extra], work, deadline + 5)
        try:
            yield sipp
        finally:
            sipp.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(name: str, target: tuple[str, int], **options: object) -> SippResult:
    """sipp running ``name`` to its end (``running``'s options)."""
    with running(name, target, **options) as sipp:  # type: ignore[arg-type]
        return sipp.wait()


def listening(sipp: Sipp, port: int, timeout: float = 5) -> bool:
    """True once sipp holds its UDP port (a server scenario is ready for calls)."""
    hexport = f":{port:04X}"

    def bound() -> bool:
        with contextlib.suppress(OSError):
            for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
                if line.split()[1].endswith(hexport):
                    return True
        return sipp.proc.poll() is not None
    reached, _ = poll(bound, bool, timeout=timeout, interval=0.1)
    return reached and sipp.proc.poll() is None


def free_udp_port() -> int:
    """A loopback UDP port free right now, and the one above it (sipp's media port + 2)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((LOOPBACK, 0))
            port = int(sock.getsockname()[1])
        if port % 2 == 0 and port < 65530:
            return port


def _last_stats(path: Path) -> dict[str, str]:
    try:
        rows = list(csv.reader(path.read_text(errors="replace").splitlines(), delimiter=";"))
    except OSError:
        return {}
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0], rows[-1], strict=False))


def _errors(path: Path) -> tuple[str, ...]:
    """The headline of each unexpected message ("Aborting call on unexpected message ...")."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ()
    return tuple(line.strip() for line in text.splitlines()
                 if line.startswith(("20", "sipp:")) or "unexpected" in line.lower())[:20]


def _int(stats: Mapping[str, str], key: str) -> int:
    try:
        return int(stats.get(key, "0") or 0)
    except ValueError:
        return 0


def _float(stats: Mapping[str, str], key: str) -> float:
    try:
        return float(stats.get(key, "0") or 0)
    except ValueError:
        return 0.0
