"""Answers → TOML text, in the same layout as the examples; secrets are left out by default."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network
from typing import Any

import tomli_w

from appliance.answers import Answers
from appliance.fields import FIELDS


def field_values(answers: Answers) -> dict[str, Any]:
    """``{"section.key": value}`` for every field, read back from the model."""
    values: dict[str, Any] = {}
    for fld in FIELDS:
        obj: Any = answers
        for part in fld.key.split("."):
            obj = getattr(obj, part.replace("-", "_"))
        values[fld.key] = obj
    return values


def _plain(value: Any) -> Any:
    """A model value as TOML holds it: addresses and networks as strings, tuples as arrays."""
    if isinstance(value, IPv4Address | IPv4Network):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def answers_data(answers: Answers, *, include_secrets: bool = False) -> dict[str, Any]:
    """The answers as TOML tables (``{"mode": ..., "nodes": {...}}``), in the table's order."""
    data: dict[str, Any] = {}
    values = field_values(answers)
    for fld in FIELDS:
        value = values[fld.key]
        if (fld.secret and not include_secrets) or value is None:
            continue
        section, _, name = fld.key.rpartition(".")
        table = data.setdefault(section, {}) if section else data
        table[name] = _plain(value)
    return data


def _comment(text: str) -> list[str]:
    """``# ...`` lines for a header: a TOML comment ends at a newline and allows no other
    control character but tab (a file name may hold any of them)."""
    def clean(line: str) -> str:
        return "".join("?" if unicodedata.category(c) == "Cc" and c != "\t" else c
                       for c in line)

    return [f"# {clean(line)}".rstrip() for line in text.splitlines() or [""]]


def dump_answers(
    answers: Answers, *, include_secrets: bool = False, header: Iterable[str] = ()
) -> str:
    """TOML that tomllib reads back to the same answers (written by tomli-w, which escapes
    what TOML needs and writes any Unicode text as UTF-8; hand-made JSON escapes turned a
    character outside the BMP into a surrogate pair TOML refuses)."""
    comments = [line for h in header for line in _comment(h)]
    body = tomli_w.dumps(answers_data(answers, include_secrets=include_secrets))
    return "".join(f"{line}\n" for line in comments) + body
