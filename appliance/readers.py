"""The one bounded way to read a file a user or a saved state hands us.

Every problem (missing, a directory, a symlink loop, too large, binary, not UTF-8, nested
too deep, not valid TOML/JSON) becomes one ``ExpandError`` line naming the file; no other
exception escapes. Depth is checked *before* parsing: tomllib and json recurse, so a file
nested 60,000 deep would otherwise end in RecursionError.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from appliance.errors import ExpandError

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
SHOWN_CHARS = 60
SHOWN_PATH_CHARS = 200

NOT_FOUND = "file not found"
_OS_REASONS = {
    errno.ENOENT: NOT_FOUND,
    errno.EISDIR: "is a directory",
    errno.ELOOP: "symlink loop (too many levels of symbolic links)",
    errno.ENAMETOOLONG: "file name too long",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOTDIR: "a part of the path is not a directory",
    errno.ENXIO: "no such device",
}


class ReadError(ExpandError):
    """A file that cannot be used: ``source`` names it, ``reason`` says why (no file name)."""

    def __init__(self, source: str, reason: str, what: str = "") -> None:
        self.source = source
        self.reason = reason
        lead = f"cannot read {what}: " if what else ""
        super().__init__(f"{source}: {lead}{reason}")

    @property
    def missing(self) -> bool:
        """The file does not exist (for optional state files: not an error)."""
        return self.reason == NOT_FOUND


def cut(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` cut to a readable length for an error message."""
    return text if len(text) <= limit else text[:limit] + "…"


def cut_middle(text: str, limit: int = 4 * SHOWN_CHARS) -> str:
    """A whole message cut in the middle, so both what was given and why it is wrong stay."""
    if len(text) <= limit:
        return text
    tail = limit // 3
    return text[: limit - tail] + "…" + text[-tail:]


def shown(value: Any, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)`` cut to a readable length: how a message echoes a bad value."""
    if isinstance(value, str | bytes):
        value = value[: 4 * limit]  # a 30 MB string is not copied into a repr only to be cut
    try:
        return cut(repr(value), limit)
    except (RecursionError, ValueError):  # a deep structure or a huge int
        return f"<{type(value).__name__}>"


def show_path(path: str | os.PathLike[str]) -> str:
    return cut(os.fspath(path), SHOWN_PATH_CHARS)


def is_directory(path: str | os.PathLike[str]) -> bool:
    """``Path.is_dir`` that answers False (never raises) for a name too long and the like."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _size_reason(max_bytes: int) -> str:
    limit = f"{max_bytes // (1024 * 1024)} MiB" if max_bytes % (1024 * 1024) == 0 \
        else f"{max_bytes} bytes"
    return f"larger than {limit}"


def _open(path: str | os.PathLike[str], source: str, what: str) -> tuple[int, os.stat_result]:
    """An open descriptor and its status; directories and devices refused."""
    try:
        # O_NONBLOCK: opening a FIFO with no writer must not hang (cleared before reading).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise ReadError(source, _os_reason(exc), what) from None
    except ValueError:  # an embedded NUL in the name
        raise ReadError(source, "not a valid file name", what) from None
    st = os.fstat(fd)
    problem = ("is a directory" if stat.S_ISDIR(st.st_mode)
               else None if stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)
               else "not a regular file (a device or socket?)")
    if problem:
        os.close(fd)
        raise ReadError(source, problem, what)
    return fd, st


def require_file(path: str | os.PathLike[str], *, what: str = "file") -> int:
    """Check that ``path`` is a regular file we can open (an image, not read here);
    returns its size."""
    source = show_path(path)
    fd, st = _open(path, source, what)
    os.close(fd)
    if not stat.S_ISREG(st.st_mode):
        raise ReadError(source, "not a regular file", what)
    return st.st_size


def read_bytes(path: str | os.PathLike[str], *, what: str = "file",
               max_bytes: int = MAX_BYTES) -> bytes:
    """At most ``max_bytes`` of a regular file (or a pipe, as ``<(...)`` gives).
    ``what`` names the kind of file in messages ("answers file", "journal")."""
    source = show_path(path)
    fd, st = _open(path, source, what)
    try:
        if st.st_size > max_bytes:
            raise ReadError(source, _size_reason(max_bytes), what)
        os.set_blocking(fd, True)
        data = _read_at_most(fd, max_bytes + 1)
    except OSError as exc:
        raise ReadError(source, _os_reason(exc), what) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise ReadError(source, _size_reason(max_bytes), what)
    return data


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    got = 0
    while got < limit:
        chunk = os.read(fd, min(65536, limit - got))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _os_reason(exc: OSError) -> str:
    if exc.errno in _OS_REASONS:
        return _OS_REASONS[exc.errno]
    return (exc.strerror or type(exc).__name__).lower()


def decode_text(data: bytes, source: str, what: str = "file") -> str:
    """UTF-8 text without NUL bytes (a NUL means a binary file, whatever its name)."""
    nul = data.find(b"\0")
    if nul >= 0:
        raise ReadError(source, f"binary, not text (NUL byte at offset {nul})", what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start:exc.start + 1].hex()
        raise ReadError(source, f"not UTF-8 text (byte 0x{bad} at offset {exc.start})",
                        what) from None


def read_text(path: str | os.PathLike[str], *, what: str = "file",
              max_bytes: int = MAX_BYTES) -> str:
    return decode_text(read_bytes(path, what=what, max_bytes=max_bytes), show_path(path), what)


def read_stream(stream: IO[bytes], source: str = "-", *, what: str = "input",
                max_bytes: int = MAX_BYTES) -> str:
    """Standard input (or any binary stream) with the same limits as a file."""
    try:
        data = stream.read(max_bytes + 1)
    except OSError as exc:
        raise ReadError(source, _os_reason(exc), what) from None
    if len(data) > max_bytes:
        raise ReadError(source, _size_reason(max_bytes), what)
    return decode_text(data, source, what)


# --- depth, before the recursive parsers see the text ---------------------------------

def toml_depth(text: str) -> int:
    """Deepest nesting outside strings and comments: ``[``/``{`` plus the dots of a dotted
    key (``a.b.c``). An upper bound of what tomllib recurses into, or slows down on: a
    header of 60,000 dotted keys takes it many seconds."""
    depth = deepest = dots = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if ch in "\"'":
            i = _skip_toml_string(text, i)
            continue
        if ch == ".":
            dots += 1
            deepest = max(deepest, depth + dots)
        elif ch in "[{":
            depth, dots = depth + 1, 0
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth, dots = max(0, depth - 1), 0
        elif ch in ",=\n":
            dots = 0
        i += 1
    return deepest


def _skip_toml_string(text: str, i: int) -> int:
    quote = text[i]
    if text.startswith(quote * 3, i):
        end = text.find(quote * 3, i + 3) if quote == "'" else _find_unescaped(text, '"""', i + 3)
        return len(text) if end < 0 else end + 3
    if quote == "'":
        end = text.find("'", i + 1)
        newline = text.find("\n", i + 1)
    else:
        end = _find_unescaped(text, '"', i + 1)
        newline = text.find("\n", i + 1)
    if end < 0 or (0 <= newline < end):  # unterminated: the parser will say so
        return len(text) if newline < 0 else newline
    return end + 1


def _find_unescaped(text: str, needle: str, start: int) -> int:
    i = start
    while True:
        found = text.find(needle, i)
        if found < 0:
            return -1
        slashes = 0
        j = found - 1
        while j >= start and text[j] == "\\":
            slashes += 1
            j -= 1
        if slashes % 2 == 0:
            return found
        i = found + 1


def json_depth(text: str) -> int:
    depth = deepest = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            end = _find_unescaped(text, '"', i + 1)
            i = n if end < 0 else end + 1
            continue
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1
    return deepest


def data_depth(value: Any) -> int:
    """Nesting of parsed data, without recursion (dotted TOML keys nest with no bracket)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]  # the document's own table is level 0
    while stack:
        item, level = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def _too_deep(source: str) -> ReadError:
    return ReadError(source, f"nested more than {MAX_DEPTH} levels deep")


# --- TOML and JSON ---------------------------------------------------------------------

def parse_toml(text: str, source: str) -> dict[str, Any]:
    if toml_depth(text) > MAX_DEPTH:
        raise _too_deep(source)
    try:
        data = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer of 5,000 digits
        raise ReadError(source, f"is not valid TOML: {cut(str(exc), 120)}") from None
    except RecursionError:  # the scan above should have caught it; never a traceback
        raise _too_deep(source) from None
    if data_depth(data) > MAX_DEPTH:
        raise _too_deep(source)
    return data


def parse_json(text: str, source: str) -> Any:
    if json_depth(text) > MAX_DEPTH:
        raise _too_deep(source)
    try:
        data = json.loads(text)
    except ValueError as exc:  # JSONDecodeError, or an integer of 5,000 digits
        raise ReadError(source, f"is not valid JSON: {cut(str(exc), 120)}") from None
    except RecursionError:
        raise _too_deep(source) from None
    return data


def load_toml(path: Path, *, what: str = "file", max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    return parse_toml(read_text(path, what=what, max_bytes=max_bytes), show_path(path))


def load_json(path: Path, *, what: str = "file", max_bytes: int = MAX_BYTES) -> Any:
    return parse_json(read_text(path, what=what, max_bytes=max_bytes), show_path(path))
