"""RPM versions as rpm compares them: ``rpmvercmp`` and the range test of two dependencies.

A port of rpm's ``rpmvercmp`` (rpmio/rpmvercmp.c) and of the overlap test in
``rpmdsCompare`` (lib/rpmds.c): the closure check must agree with what dnf will decide
at install time, so ``1.10 > 1.9``, ``1.0~rc1 < 1.0`` and ``1.0^git1 > 1.0`` hold here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FLAGS = ("EQ", "LT", "GT", "LE", "GE")
OPERATORS = {"=": "EQ", "==": "EQ", "<": "LT", ">": "GT", "<=": "LE", "=<": "LE",
             ">=": "GE", "=>": "GE"}
SYMBOLS = {"EQ": "=", "LT": "<", "GT": ">", "LE": "<=", "GE": ">="}
_LESS, _GREATER, _EQUAL = 1, 2, 4
_SENSE = {"EQ": _EQUAL, "LT": _LESS, "GT": _GREATER, "LE": _LESS | _EQUAL,
          "GE": _GREATER | _EQUAL}
_SEGMENT = re.compile(r"\d+|[A-Za-z]+")


def _isalnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def rpmvercmp(a: str, b: str) -> int:
    """-1, 0 or 1 as rpm orders the version (or release) strings ``a`` and ``b``."""
    if a == b:
        return 0
    i, j = 0, 0
    while i < len(a) or j < len(b):
        while i < len(a) and not _isalnum(a[i]) and a[i] not in "~^":
            i += 1
        while j < len(b) and not _isalnum(b[j]) and b[j] not in "~^":
            j += 1
        one = a[i] if i < len(a) else ""
        two = b[j] if j < len(b) else ""
        if "~" in (one, two):  # a tilde sorts before everything, even the end
            if one != "~":
                return 1
            if two != "~":
                return -1
            i, j = i + 1, j + 1
            continue
        if "^" in (one, two):  # a caret sorts after the end, before anything else
            if not one:
                return -1
            if not two:
                return 1
            if one != "^":
                return 1
            if two != "^":
                return -1
            i, j = i + 1, j + 1
            continue
        if not (one and two):
            break
        first = _SEGMENT.match(a, i)
        second = _SEGMENT.match(b, j)
        assert first is not None and second is not None  # both are at a letter or digit
        numeric = first.group().isdigit()
        seg1, seg2 = first.group(), second.group()
        if seg2.isdigit() != numeric:  # a number against letters: the number is newer
            return 1 if numeric else -1
        if numeric:
            seg1, seg2 = seg1.lstrip("0"), seg2.lstrip("0")
            if len(seg1) != len(seg2):
                return 1 if len(seg1) > len(seg2) else -1
        if seg1 != seg2:
            return 1 if seg1 > seg2 else -1
        i, j = first.end(), second.end()
    if i >= len(a) and j >= len(b):
        return 0
    return -1 if i >= len(a) else 1


@dataclass(frozen=True)
class Evr:
    epoch: int
    version: str
    release: str | None = None  # a requirement may leave it out: any release matches

    @classmethod
    def parse(cls, text: str) -> Evr:
        """``[EPOCH:]VERSION[-RELEASE]`` as in ``Requires: foo >= 1:2.3-4``."""
        epoch, sep, rest = text.partition(":")
        if not sep:
            epoch, rest = "0", text
        if not epoch.isdigit() or not rest:
            raise ValueError(f"{text!r} is not a version such as 1:2.3-4")
        version, dash, release = rest.rpartition("-")
        if not dash:
            version, release = rest, ""
        if not version:
            raise ValueError(f"{text!r} is not a version such as 1:2.3-4")
        return cls(int(epoch), version, release or None)

    def __str__(self) -> str:
        epoch = f"{self.epoch}:" if self.epoch else ""
        return f"{epoch}{self.version}" + (f"-{self.release}" if self.release else "")


def compare_evr(a: Evr, b: Evr) -> int:
    if a.epoch != b.epoch:
        return 1 if a.epoch > b.epoch else -1
    found = rpmvercmp(a.version, b.version)
    if found or a.release is None or b.release is None:
        return found
    return rpmvercmp(a.release, b.release)


def ranges_overlap(flags_a: str | None, evr_a: Evr | None, flags_b: str | None,
                   evr_b: Evr | None) -> bool:
    """Whether a provide and a require overlap (``rpmdsCompare``): no version on either
    side matches everything."""
    if not flags_a or not flags_b or evr_a is None or evr_b is None:
        return True
    a, b = _SENSE[flags_a], _SENSE[flags_b]
    sense = compare_evr(evr_a, evr_b)
    if sense < 0:
        return bool(a & _GREATER or b & _LESS)
    if sense > 0:
        return bool(a & _LESS or b & _GREATER)
    return bool(a & b & (_EQUAL | _LESS | _GREATER))
