"""Answers → TOML text, in the same layout as the examples; secrets are left out by default."""

from __future__ import annotations

import json
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network
from typing import Any

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


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, IPv4Address | IPv4Network):
        return json.dumps(str(value))
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # JSON string escapes are valid TOML basic strings


def dump_answers(
    answers: Answers, *, include_secrets: bool = False, header: Iterable[str] = ()
) -> str:
    lines = [f"# {h}" for h in header]
    current = None
    for key, value in field_values(answers).items():
        fld_secret = any(f.key == key and f.secret for f in FIELDS)
        if fld_secret and not include_secrets:
            continue
        section, _, name = key.rpartition(".")
        if section != current:
            if section:
                lines += ["", f"[{section}]"]
            current = section
        lines.append(f"{name or key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"
