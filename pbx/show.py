"""The model back as data (for ``--json``) or as a site file with every default filled in.

Secret fields (extension and trunk secrets, PINs) are always left out.
"""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from typing import Any

from pbx import checks
from pbx.fields import KINDS, Kind
from pbx.model import Site


def _values(record: Any, kind: Kind) -> dict[str, Any]:
    data: dict[str, Any] = {}
    names = {f.name for f in fields(record)}
    for fld in kind.fields:
        attr = fld.key.replace("-", "_")
        if fld.secret or attr not in names:
            continue
        value = getattr(record, attr)
        if fld.check in (checks.digit_map, checks.value_map):
            value = dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        data[fld.key] = value
    for child in kind.children:
        data[child.key] = {ev.id: _values(ev, child)
                           for ev in getattr(record, child.key.replace("-", "_"))}
    return data


def site_data(site: Site) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for kind in KINDS:
        value = getattr(site, kind.key.replace("-", "_"))
        if kind.collection:
            data[kind.key] = {rec.id: _values(rec, kind) for rec in value}
        elif is_dataclass(value):
            data[kind.key] = _values(value, kind)
    data["recording"]["stores"] = site.recording.stored.stores
    return data


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value), ensure_ascii=False)


def _key(name: str) -> str:
    return name if name.replace("-", "").replace("_", "").isalnum() and name.isascii() \
        else json.dumps(name)


def dump_site(site: Site) -> str:
    lines: list[str] = []

    def table(header: str, values: dict[str, Any], kind: Kind) -> None:
        lines.extend(["", f"[{header}]"])
        children = {c.key: c for c in kind.children}
        for key, value in values.items():
            if key == "stores":
                lines.append(f"# stores: {value}")
            elif key not in children:
                lines.append(f"{key} = {_toml(value)}")
        for key, child in children.items():
            for cid, sub in values[key].items():
                table(f"{header}.{key}.{_key(cid)}", sub, child)

    data = site_data(site)
    for kind in KINDS:
        if kind.collection:
            for rid, values in data[kind.key].items():
                table(f"{kind.key}.{_key(rid)}", values, kind)
        else:
            table(kind.key, data[kind.key], kind)
    return "\n".join(lines).lstrip("\n") + "\n"
