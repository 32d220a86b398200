"""Single-value checks of the site file, in the style of ``appliance.validators``.

Each check returns ``(value, None)`` or ``(None, message)``; a secret is never echoed.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from appliance import validators as v
from appliance.readers import cut, shown

IDENT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
PROMPT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")
NUMBER = re.compile(r"^[0-9]{2,8}$")
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@(?!-)[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
MOH_CLASS = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
# Asterisk extension patterns: '_' then digits, X (0-9), Z (1-9), N (2-9), [ranges], and at
# the end '.' (one or more) or '!' (zero or more); or a literal number.
_PATTERN_BODY = re.compile(r"^(?:[0-9*#+XZN]|\[[0-9-]+\])+[.!]?$")
_LITERAL = re.compile(r"^[0-9*#+]{1,20}$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DIGITS = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#")
TARGET_KINDS = ("queue", "extension", "menu", "ivr", "voicemail", "fax")
STRATEGIES = ("ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "rrordered",
              "linear", "wrandom")


def ident(value: Any) -> tuple[str | None, str | None]:
    """A reference name: lowercase letters, digits, '-' and '_'."""
    if isinstance(value, str) and IDENT.fullmatch(value):
        return value, None
    return None, f"{shown(value)} is not a name (lowercase letters, digits, '-', '_'; at most 40)"


def optional_ident(value: Any) -> tuple[str | None, str | None]:
    return ("", None) if value == "" else ident(value)


def name(value: Any) -> tuple[str | None, str | None]:
    """A display name: one line, not empty."""
    if not isinstance(value, str) or not value.strip():
        return None, f"{shown(value)} is not a name (a non-empty string)"
    if any(c in value for c in "\n\r\0") or len(value) > 80:
        return None, "must be one line of at most 80 characters"
    return value.strip(), None


def description(value: Any) -> tuple[str | None, str | None]:
    return ("", None) if value == "" else name(value)


def number(value: Any) -> tuple[str | None, str | None]:
    """A dialable number of 2-8 digits (an integer in the file is taken as its digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**8:
        value = str(value)
    if isinstance(value, str) and NUMBER.fullmatch(value):
        return value, None
    return None, f"{shown(value)} is not a number of 2 to 8 digits"


def optional_number(value: Any) -> tuple[str | None, str | None]:
    return ("", None) if value == "" else number(value)


def email(value: Any) -> tuple[str | None, str | None]:
    if isinstance(value, str) and EMAIL.fullmatch(value.strip()):
        return value.strip().lower(), None
    return None, f"{shown(value)} is not a mail address like name@example.com"


def optional_email(value: Any) -> tuple[str | None, str | None]:
    return ("", None) if value == "" else email(value)


def prompt(value: Any) -> tuple[str | None, str | None]:
    """An audio file of the site's audio folder, named without '.wav'."""
    if isinstance(value, str) and value.lower().endswith(".wav"):
        value = value[:-4]
    if isinstance(value, str) and PROMPT.fullmatch(value):
        return value, None
    return None, (f"{shown(value)} is not a prompt name (the audio file's name without "
                  "'.wav': letters, digits, '-', '_')")


def optional_prompt(value: Any) -> tuple[str | None, str | None]:
    return ("", None) if value == "" else prompt(value)


def abs_path(value: Any) -> tuple[str | None, str | None]:
    """An absolute path on the appliance, one line."""
    if isinstance(value, str) and value.startswith("/") and len(value) < 4096 \
            and not any(c in value for c in "\n\r\0"):
        return value.rstrip("/") or "/", None
    return None, f"{shown(value)} is not an absolute path (/var/...)"


def optional_abs_path(value: Any) -> tuple[str | None, str | None]:
    return ("", None) if value == "" else abs_path(value)


def moh_class(value: Any) -> tuple[str | None, str | None]:
    if isinstance(value, str) and MOH_CLASS.fullmatch(value):
        return value, None
    return None, f"{shown(value)} is not a music-on-hold class name"


def count(low: int, high: int) -> v.Check:
    def check(value: Any) -> tuple[int | None, str | None]:
        if isinstance(value, bool) or not isinstance(value, int):
            return None, f"{shown(value)} is not a whole number"
        if not low <= value <= high:
            return None, f"{value} is not between {low} and {high}"
        return value, None
    return check


def list_of(item: v.Check, *, unique: bool = True, allow_empty: bool = True) -> v.Check:
    def check(value: Any) -> tuple[tuple[Any, ...] | None, str | None]:
        if not isinstance(value, list):
            return None, f"{shown(value)} is not a list"
        if not value and not allow_empty:
            return None, "is an empty list"
        got: list[Any] = []
        for entry in value:
            checked, problem = item(entry)
            if problem:
                return None, problem
            if unique and checked in got:
                return None, f"{shown(checked)} is listed twice"
            got.append(checked)
        return tuple(got), None
    return check


def choices(*allowed: str) -> v.Check:
    return list_of(v.choice(*allowed))


def clock_time(value: Any) -> tuple[str | None, str | None]:
    """'HH:MM' (or a TOML local time): the minute it names is included."""
    if isinstance(value, datetime.time):
        if value.second or value.microsecond:
            return None, f"{value} has seconds: give HH:MM"
        return f"{value.hour:02d}:{value.minute:02d}", None
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value) if isinstance(value, str) else None
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        return None, f"{shown(value)} is not a time of day like 09:00 or 17:59"
    return f"{int(match[1]):02d}:{match[2]}", None


def days(value: Any) -> tuple[tuple[str, ...] | None, str | None]:
    """Week days as a list of mon..sun; an item 'mon-fri' is a range."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        return None, f"{shown(value)} is not a list of week days like [\"mon-fri\"]"
    found: set[str] = set()
    for item in value:
        text = item.strip().lower() if isinstance(item, str) else None
        first, _, last = (text or "").partition("-")
        if first not in DAYS or (last and last not in DAYS):
            return None, f"{shown(item)} is not a week day (mon, tue, wed, thu, fri, sat, sun)"
        start, end = DAYS.index(first), DAYS.index(last or first)
        if end < start:
            return None, f"{shown(item)}: a range runs forward within the week (mon-fri)"
        found.update(DAYS[start:end + 1])
    return tuple(d for d in DAYS if d in found), None


def target(value: Any) -> tuple[str | None, str | None]:
    """Where a call goes: 'hangup', or KIND:NAME with KIND one of TARGET_KINDS."""
    text = value.strip() if isinstance(value, str) else None
    if text == "hangup":
        return text, None
    kind, _, ref = (text or "").partition(":")
    if kind in TARGET_KINDS and ref and (IDENT.fullmatch(ref) or NUMBER.fullmatch(ref)):
        return f"{kind}:{ref}", None
    return None, (f"{shown(value)} is not a target: hangup or "
                  f"{'|'.join(TARGET_KINDS)}:NAME (e.g. queue:recl, extension:601)")


def optional_target(value: Any) -> tuple[str | None, str | None]:
    return ("", None) if value == "" else target(value)


def digit_map(value: Any) -> tuple[tuple[tuple[str, str], ...] | None, str | None]:
    """``{ "1" = "queue:recl", ... }``: a key pressed → a target."""
    if not isinstance(value, Mapping):
        return None, f"{shown(value)} is not a table of digit = target"
    pairs: list[tuple[str, str]] = []
    for key, entry in value.items():
        if key not in DIGITS:
            return None, f"{shown(key)} is not a key of the phone (0-9, *, #)"
        checked, problem = target(entry)
        if problem or checked is None:
            return None, f"{key}: {problem}"
        pairs.append((key, checked))
    return tuple(sorted(pairs, key=lambda p: DIGITS.index(p[0]))), None


def value_map(value: Any) -> tuple[tuple[tuple[str, str], ...] | None, str | None]:
    """``{ Matutino = "dia", ... }``: a schedule value → a menu."""
    if not isinstance(value, Mapping):
        return None, f"{shown(value)} is not a table of schedule value = menu"
    pairs: list[tuple[str, str]] = []
    for key, entry in value.items():
        menu, problem = ident(entry)
        if problem or menu is None:
            return None, f"{cut(str(key))}: {problem}"
        pairs.append((str(key), menu))
    return tuple(pairs), None


def dial_pattern(value: Any) -> tuple[str | None, str | None]:
    if isinstance(value, str) and value.startswith("_"):
        body = value[1:]
        if _PATTERN_BODY.fullmatch(body) and _ranges_ok(body):
            return value, None
    elif isinstance(value, str) and _LITERAL.fullmatch(value):
        return value, None
    return None, (f"{shown(value)} is not an Asterisk dial pattern (_ then digits, X, Z, N, "
                  "[1-5], ending in . or !; e.g. _09XXXXXXX)")


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """What numbers an Asterisk dial pattern (already checked) matches, as a regex."""
    if not pattern.startswith("_"):
        return re.compile(re.escape(pattern))
    parts = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}
    regex = ""
    for piece in re.findall(r"\[[0-9-]+\]|.", pattern[1:]):
        regex += piece if piece.startswith("[") else parts.get(piece, re.escape(piece))
    return re.compile(regex)


def _ranges_ok(body: str) -> bool:
    for group in re.findall(r"\[([0-9-]+)\]", body):
        for first, last in re.findall(r"(\d)-(\d)", group):
            if last < first:
                return False
        if group.startswith("-") or group.endswith("-") or "--" in group:
            return False
    return True


def sip_secret(value: Any) -> tuple[str | None, str | None]:
    """A SIP password: never echoed in a message."""
    if value == "":
        return "", None
    if not isinstance(value, str):
        return None, "must be a string"
    if len(value) < 8 or len(value) > 128:
        return None, "must be 8 to 128 characters"
    if any(not c.isprintable() or c in "\"';#" or c.isspace() for c in value):
        return None, "may not hold spaces, quotes, ';' or '#'"
    return value, None


def pin(value: Any) -> tuple[str | None, str | None]:
    """A PIN of 4-12 digits, never echoed."""
    if value == "":
        return "", None
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4,12}", value):
        return value, None
    return None, "must be 4 to 12 digits, as a string"


def network_list(value: Any) -> tuple[tuple[str, ...] | None, str | None]:
    checked, problem = list_of(v.network)(value)
    if problem or checked is None:
        return None, problem
    return tuple(str(n) for n in checked), None
