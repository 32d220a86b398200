"""Output helpers for the CLI and the wizard only (library code never prints)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import stat
import sys
import tempfile
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from appliance.errors import ExpandError
from appliance.reports import Report
from appliance.runner import RedactingFormatter, Redactor

# The one redactor of a CLI run: commands register every secret they read with it.
REDACTOR = Redactor()
FILE_FORMAT = "%(asctime)s %(name)s %(message)s"


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """--help text: prose paragraphs filled to the terminal, indented lines (examples, exit
    codes) kept as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for para in text.split("\n\n"):
            if any(line[:1].isspace() for line in para.splitlines()):
                paragraphs.append(textwrap.indent(para, indent))
            else:
                paragraphs.append(textwrap.fill(" ".join(para.split()), width,
                                                initial_indent=indent, subsequent_indent=indent))
        return "\n\n".join(paragraphs)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def print_reports(reports: Iterable[Report], stream: Any = None) -> None:
    out = stream or sys.stderr
    for report in reports:
        print(report, file=out)


def print_verdict(reports: Sequence[Report], *, as_json: bool, data: dict[str, Any],
                  ok_line: str) -> int:
    """A check's outcome: ``data`` with ok and problems as JSON, else the problems or
    ``ok_line``; 1 when there is a problem."""
    if as_json:
        print_json({**data, "ok": not reports, "problems": [r.as_dict() for r in reports]})
    elif reports:
        print_reports(reports)
    else:
        print(ok_line)
    return 1 if reports else 0


def setup_logging(verbose: bool = False, log_file: Path | None = None) -> Redactor:
    """Log to stderr (warnings, or everything with -v) and optionally to a 0600 file.

    Every handler formats through the same redactor, so a secret registered with it never
    reaches a log, whatever the code that logs it, exception texts and tracebacks included.
    The terminal gets one line per record; tracebacks go to the log file only. Raises
    ``ExpandError`` naming ``log_file`` when it cannot be opened safely (nothing written).
    """
    root = logging.getLogger("expand")
    opened = open_log_file(log_file, label="--log-file") if log_file is not None else None
    root.setLevel(logging.DEBUG)
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.propagate = False
    handler: logging.Handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    handler.setFormatter(RedactingFormatter(REDACTOR, "%(message)s", tracebacks=False))
    root.addHandler(handler)
    if opened is not None:
        root.addHandler(LogFileHandler(opened))
    return REDACTOR


class LogFileHandler(logging.StreamHandler[TextIO]):
    """A log file opened by ``open_log_file``: everything, timestamped, redacted."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.setLevel(logging.DEBUG)
        self.setFormatter(RedactingFormatter(REDACTOR, FILE_FORMAT))

    def close(self) -> None:
        try:
            self.flush()
            self.stream.close()
        finally:
            super().close()


def add_log_file(path: Path, logger: str = "expand") -> None:
    """Also log everything (redacted) to ``path``: opened as ``open_log_file`` does."""
    logging.getLogger(logger).addHandler(LogFileHandler(open_log_file(path)))


def open_log_file(path: Path, *, label: str = "") -> TextIO:
    """Open ``path`` for appending, safely as root: a symlink is refused (O_NOFOLLOW), so
    is anything but a regular file; created 0600, an existing file set back to 0600.

    Raises ``ExpandError`` naming ``label`` (e.g. "--log-file") and the path.
    """
    name = f"{label} {path}" if label else str(path)
    try:
        _refuse_non_file(path, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
                     | os.O_CLOEXEC | os.O_NONBLOCK, 0o600)
    except OSError as exc:
        raise ExpandError(f"{name}: cannot open the log file: {_why(exc)}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ExpandError(f"{name}: is not a regular file; give a file name for the log")
        if stat.S_IMODE(st.st_mode) != 0o600:
            os.fchmod(fd, 0o600)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace")
    except ExpandError:
        os.close(fd)
        raise
    except OSError as exc:
        os.close(fd)
        raise ExpandError(f"{name}: cannot make the log file private (0600): "
                          f"{_why(exc)}") from exc


def _refuse_non_file(path: Path, name: str) -> None:
    """The clear messages; O_NOFOLLOW and the fstat after opening are what enforce them."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise ExpandError(f"{name}: is a symbolic link; give the log file itself")
    if stat.S_ISDIR(st.st_mode):
        raise ExpandError(f"{name}: is a directory; give a file name for the log")


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


# Where the last-resort handler of ``expandctl`` puts a traceback without --log-file; when
# it is not writable (not root), a new private file under $XDG_RUNTIME_DIR or /tmp.
CRASH_LOG = Path("/var/log/expand/expandctl.log")
SHORT_MESSAGE = 200  # characters of an unexpected exception's message shown on the terminal


def record_crash(exc: BaseException, log_file: Path | None) -> str:
    """Write ``exc``'s traceback, redacted, to a 0600 log; return the one line for the
    terminal (redacted): what went wrong and where the details are."""
    first = (str(exc).strip().splitlines() or [""])[0]
    if len(first) > SHORT_MESSAGE:
        first = first[:SHORT_MESSAGE] + "..."
    what = REDACTOR(f"{type(exc).__name__}: {first}" if first else type(exc).__name__)
    record = logging.LogRecord("expand.internal", logging.CRITICAL, __file__, 0,
                               "internal error: %s", (" ".join(sys.argv),),
                               (type(exc), exc, exc.__traceback__))
    text = RedactingFormatter(REDACTOR, FILE_FORMAT).format(record) + "\n"
    for handler in logging.getLogger("expand").handlers:
        handler.flush()  # what was logged before the crash comes first in the file
    try:
        where = _write_crash(text, log_file)
    except OSError as exc_write:
        return f"internal error: {what} (no log written: {_why(exc_write)})"
    return f"internal error: {what}, details in {where}"


def _write_crash(text: str, log_file: Path | None) -> Path:
    path = log_file or CRASH_LOG
    try:
        with open_log_file(path) as out:
            out.write(text)
        return path
    except (ExpandError, OSError):
        pass  # not writable here (not root): a private file of its own instead
    folders = [os.environ.get("XDG_RUNTIME_DIR", ""), tempfile.gettempdir()]
    error: OSError = OSError("no folder for it")
    for folder in filter(None, folders):
        try:
            # mkstemp: O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, a name nobody could prepare.
            fd, name = tempfile.mkstemp(prefix="expandctl-crash-", suffix=".log", dir=folder)
        except OSError as exc:
            error = exc
            continue
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as out:
            out.write(text)
        return Path(name)
    raise error
