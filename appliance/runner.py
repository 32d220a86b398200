"""The one way this toolkit runs processes: logged, secrets redacted, failures raised with stderr.

``Runner`` runs for real; ``RecordingRunner`` records what would run (plans, ``--root`` runs)
and answers from a table of canned results, so command construction can be tested purely.
"""

from __future__ import annotations

import json
import logging
import shlex
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from appliance.errors import ExpandError

log = logging.getLogger("expand.run")

REDACTED = "********"


class Redactor:
    """Replaces every registered secret in a text by asterisks, also where it appears
    escaped: inside JSON strings and Python reprs, nested (the repr of an exception whose
    message quotes a repr), up to ``ESCAPE_DEPTH`` levels."""

    ESCAPE_DEPTH = 3

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        # Very short values would mask innocent text everywhere; they are still never logged
        # by callers, which pass secrets only through ``input``.
        if secret and len(secret) >= 3:
            self._secrets |= _escaped_forms(secret, self.ESCAPE_DEPTH)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text


def _escaped_forms(secret: str, depth: int) -> set[str]:
    forms, layer = {secret}, {secret}
    for _ in range(depth):
        layer = {escape(form) for form in layer for escape in _ESCAPES} - forms
        forms |= layer
    return forms


def _python_escaped(text: str, quote: str) -> str:
    """How ``text`` appears inside a Python string literal quoted with ``quote``."""
    out = []
    for ch in text:
        if ch in ("\\", quote):
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1])  # \n, \t, \x07...
    return "".join(out)


_ESCAPES: tuple[Callable[[str], str], ...] = (
    lambda t: json.dumps(t)[1:-1],
    lambda t: json.dumps(t, ensure_ascii=False)[1:-1],
    lambda t: _python_escaped(t, "'"),
    lambda t: _python_escaped(t, '"'),
)


class RedactingFormatter(logging.Formatter):
    """Redacts the whole formatted record: message, exception text and stack trace.

    ``tracebacks=False`` leaves the exception and stack out (a terminal gets one line;
    the log file has the details).
    """

    def __init__(self, redactor: Redactor, fmt: str | None = None, *,
                 tracebacks: bool = True) -> None:
        super().__init__(fmt)
        self.redactor = redactor
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        if self.tracebacks:
            return self.redactor(super().format(record))
        # A copy: the other handlers of this record still get its traceback.
        bare = logging.makeLogRecord(record.__dict__)
        bare.exc_info, bare.exc_text, bare.stack_info = None, None, None
        return self.redactor(super().format(bare))


class CommandFailed(ExpandError):
    """A command exited non-zero; the message holds the (redacted) command and its stderr."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr
        tail = stderr.strip().splitlines()[-5:]
        detail = ("\n  " + "\n  ".join(tail)) if tail else ""
        super().__init__(f"command failed (exit {returncode}): {shlex.join(argv)}{detail}")


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class Runner:
    """Runs commands for real."""

    not_run = ""  # log prefix of runners that only record

    def __init__(self, redactor: Redactor | None = None) -> None:
        self.redactor = redactor or Redactor()

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | bytes | None = None,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float | None = None,
    ) -> Result:
        """Run ``argv``; ``input`` is how secrets reach a command (never on argv)."""
        shown = self.redactor(shlex.join(argv))
        log.info("%s+ %s", self.not_run, shown)
        data = input.encode() if isinstance(input, str) else input
        result = self._execute(tuple(argv), data, env, cwd, timeout, shown)
        if check and result.returncode != 0:
            raise CommandFailed([self.redactor(a) for a in argv], result.returncode,
                                result.stderr)
        return result

    def _execute(self, argv: tuple[str, ...], data: bytes | None,
                 env: Mapping[str, str] | None, cwd: Path | None, timeout: float | None,
                 shown: str) -> Result:
        try:
            proc = subprocess.run(
                list(argv),
                input=data,
                capture_output=True,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            raise ExpandError(f"command not found: {argv[0]} (is its package installed?)") from exc
        except subprocess.TimeoutExpired as exc:
            raise ExpandError(f"command timed out after {timeout} s: {shown}") from exc
        return Result(argv, proc.returncode, proc.stdout.decode(errors="replace"),
                      self.redactor(proc.stderr.decode(errors="replace")))


@dataclass
class RecordingRunner(Runner):
    """Records commands instead of running them; ``answers`` maps an argv prefix to a Result."""

    calls: list[tuple[str, ...]] = field(default_factory=list)
    answers: dict[tuple[str, ...], Result] = field(default_factory=dict)
    not_run = "(not run) "

    def __post_init__(self) -> None:
        super().__init__()

    def _execute(self, argv: tuple[str, ...], data: bytes | None,
                 env: Mapping[str, str] | None, cwd: Path | None, timeout: float | None,
                 shown: str) -> Result:
        self.calls.append(argv)
        for prefix, result in self.answers.items():
            if argv[: len(prefix)] == prefix:
                return result
        return Result(argv, 0, "", "")
