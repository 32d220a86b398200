"""The support window: the customer's switch for support access, closing by itself.

``enable --for 24h`` opens it until a deadline; ``enable`` alone until ``disable``. The
window is a small JSON file the daemon reads on every cycle (closed: no forward), and the
engineers' authorized_keys is rewritten with it, each line carrying OpenSSH's
``expiry-time`` of the deadline: the appliance's sshd itself refuses an engineer after it,
even if the daemon is not running. Closed: the file holds no key.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.readers import ReadError, is_directory, load_json, read_text

DURATION = re.compile(r"(\d{1,6})([smhd])")
UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_WINDOW = timedelta(days=30)
_ROOT = FileSink(Path("/"))


@dataclass(frozen=True)
class Window:
    enabled: bool
    until: datetime | None = None  # None with enabled: open until disabled

    def is_open(self, now: datetime) -> bool:
        return self.enabled and (self.until is None or now < self.until)

    def as_dict(self, now: datetime) -> dict[str, Any]:
        return {"open": self.is_open(now), "enabled": self.enabled,
                "until": self.until.isoformat() if self.until else None}


CLOSED = Window(False)


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``24h``, ``7d`` (or sums: ``1h30m``), at most 30 days."""
    spec = text.strip().lower()
    parts = DURATION.findall(spec)
    if not spec or "".join(n + u for n, u in parts) != spec:
        raise ExpandError(f"--for: {spec[:40]!r} is not a duration like 90s, 30m, 24h or 7d")
    total = timedelta(seconds=sum(int(n) * UNIT_S[u] for n, u in parts))
    if not timedelta(0) < total <= MAX_WINDOW:
        raise ExpandError(f"--for: {spec} is not between 1 second and 30 days")
    return total


def read_window(path: str) -> Window:
    """The window in ``path``; a missing file is a closed window. Bad content: ExpandError."""
    try:
        data = load_json(Path(path), what="support window", max_bytes=4096)
    except ReadError as exc:
        if exc.missing:
            return CLOSED
        raise
    if not isinstance(data, dict) or not isinstance(data.get("enabled"), bool):
        raise ExpandError(f"{path}: not a support window (no 'enabled' true/false)")
    until = data.get("until")
    if until is None:
        return Window(data["enabled"])
    try:
        deadline = datetime.fromisoformat(str(until))
    except ValueError:
        raise ExpandError(f"{path}: 'until' is not an ISO date and time") from None
    if deadline.tzinfo is None:
        raise ExpandError(f"{path}: 'until' has no time zone")
    return Window(data["enabled"], deadline.astimezone(UTC))


def expiry_time(deadline: datetime) -> str:
    """OpenSSH's ``expiry-time`` (YYYYMMDDHHMMSSZ, UTC) of ``deadline``."""
    return deadline.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")


def engineers_lines(engineers_text: str, source: str = "engineers' keys") -> list[str]:
    """The engineers' public key lines (comments and blanks dropped); one line must be one
    key with no options: an option here would widen what the engineer may do."""
    keys: list[str] = []
    for number, raw in enumerate(engineers_text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not re.fullmatch(r"(ssh-ed25519|ecdsa-sha2-nistp\d{3}|ssh-rsa) [A-Za-z0-9+/=]+"
                            r"( [\x21-\x7e][\x20-\x7e]{0,200})?", line):
            raise ExpandError(f"{source}: line {number}: not an engineer's public key "
                              "('TYPE BASE64 [NAME]', no options)")
        keys.append(line)
    return keys


def authorized_keys(window: Window, engineers_text: str, now: datetime,
                    source: str = "engineers' keys") -> str:
    """The engineers' authorized_keys for this window: empty when closed."""
    header = "# written by expandctl tunnel enable/disable: edit the engineers' list instead\n"
    if not window.is_open(now):
        return header
    lines = engineers_lines(engineers_text, source)
    option = f'expiry-time="{expiry_time(window.until)}" ' if window.until else ""
    return header + "".join(f"{option}{line}\n" for line in lines)


def write_window(window: Window, window_path: str, engineers_path: str,
                 authorized_path: str, now: datetime, sink: FileSink = _ROOT) -> None:
    """Record the window and rewrite the engineers' authorized_keys to match it (the keys
    first: a failure leaves the old window, never keys that outlive it)."""
    try:
        engineers = read_text(Path(engineers_path), what="engineers' keys")
    except ReadError as exc:
        if not exc.missing:
            raise
        engineers = ""
    text = authorized_keys(window, engineers, now, engineers_path)
    data = {"enabled": window.enabled,
            "until": window.until.isoformat() if window.until else None}
    for path in (authorized_path, window_path):  # checked before either is written
        if is_directory(sink.target(path)):
            raise ExpandError(f"{path}: is a directory: the support window is not changed")
    for path, content in ((authorized_path, text), (window_path, json.dumps(data) + "\n")):
        try:
            sink.write(path, content, mode=0o644)
        except OSError as exc:  # not root, a full disk
            raise ExpandError(f"{path}: cannot write: {exc.strerror or exc}") from None
