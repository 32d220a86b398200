"""Site file → every problem at once as reports, or the model. Nothing here writes anything.

``parse_site`` returns the model *and* the reports; ``load_site`` raises ``ValidationFailed``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from appliance.readers import ReadError, cut, load_toml
from appliance.reports import Report, ValidationFailed
from pbx.crosschecks import cross_check
from pbx.fields import BY_KEY, KINDS, Kind
from pbx.model import Site, build

Parsed = dict[str, Any]


def normalize_key(key: str) -> str:
    return key.replace("_", "-")


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.reports: list[Report] = []

    def report(self, key: str, message: str) -> None:
        self.reports.append(Report(self.source, key, message))

    def record(self, kind: Kind, table: Mapping[str, Any], where: str) -> dict[str, Any]:
        """One record's checked values (fields that failed are left out)."""
        given: dict[str, Any] = {}
        values: dict[str, Any] = {}
        children = {child.key: child for child in kind.children}
        for raw_key, value in table.items():
            key = normalize_key(str(raw_key))
            full = f"{where}.{cut(key)}"
            if key in children:
                values[key] = self.collection(children[key], value, full)
            elif key not in kind.by_key:
                self.report(full, "unknown key" + self._hint(kind, key))
            elif key in given:
                self.report(full, "given twice (kebab- and snake-case)")
            else:
                given[key] = value
        for child in kind.children:
            values.setdefault(child.key, {})
        for fld in kind.fields:
            full = f"{where}.{fld.key}"
            if fld.key not in given:
                if fld.required:
                    self.report(full, f"is required ({fld.help})")
                else:
                    values[fld.key] = fld.default
                continue
            value, problem = fld.check(given[fld.key])
            if problem:
                self.report(full, problem)
            else:
                values[fld.key] = value
        return values

    def collection(self, kind: Kind, table: Any, where: str) -> dict[str, dict[str, Any]]:
        if not isinstance(table, Mapping):
            self.report(where, f"is not a table of {kind.help}: write [{where}.NAME]")
            return {}
        records: dict[str, dict[str, Any]] = {}
        for raw_id, sub in table.items():
            rid, problem = kind.id_check(raw_id)
            full = f"{where}.{cut(str(raw_id))}"
            if problem or rid is None:
                self.report(full, f"bad name: {problem}")
            elif not isinstance(sub, Mapping):
                self.report(full, f"is not a table: write [{where}.{raw_id}] with its keys")
            elif rid in records:
                self.report(full, "given twice")
            else:
                records[rid] = self.record(kind, sub, f"{where}.{rid}")
        return records

    @staticmethod
    def _hint(kind: Kind, key: str) -> str:
        known = [f.key for f in kind.fields] + [c.key for c in kind.children]
        close = difflib.get_close_matches(key, known, n=1)
        if close:
            return f" (did you mean {close[0]}?)"
        return f" (known: {', '.join(known)})" if len(known) <= 8 else ""

    def site(self, data: Mapping[str, Any]) -> Parsed:
        parsed: Parsed = {}
        for raw_key, value in data.items():
            key = normalize_key(str(raw_key))
            kind = BY_KEY.get(key)
            if kind is None:
                self.report(cut(key), f"unknown section [{cut(str(raw_key))}] (known: "
                            f"{', '.join(k.key for k in KINDS)})")
            elif key in parsed:
                self.report(key, "given twice (kebab- and snake-case)")
            elif kind.collection:
                parsed[key] = self.collection(kind, value, key)
            elif not isinstance(value, Mapping):
                self.report(key, f"is not a table: write [{key}] with its keys")
                parsed[key] = {}
            else:
                parsed[key] = self.record(kind, value, key)
        for kind in KINDS:
            if kind.key not in parsed:
                parsed[kind.key] = {} if kind.collection else self.record(kind, {}, kind.key)
        return parsed


def checked_values(data: Mapping[str, Any], source: str) -> tuple[Parsed, list[Report]]:
    """Each record's fields checked on their own (kind → name → values), and the problems."""
    parser = _Parser(source)
    return parser.site(data), parser.reports


def parse_site(data: Mapping[str, Any], source: str, *, audio_dir: Path | None = None
               ) -> tuple[Site | None, list[Report]]:
    """``audio_dir``: the prompts folder to check against (default: the site's, if it exists)."""
    parsed, reports = checked_values(data, source)
    bad = {r.key for r in reports}
    reports += cross_check(parsed, source, skip=bad, audio_dir=audio_dir)
    if reports:
        return None, reports
    return build(parsed), []


def read_site(path: Path) -> tuple[dict[str, Any] | None, list[Report]]:
    try:
        return load_toml(path, what="site file"), []
    except ReadError as exc:
        return None, [Report(exc.source, "", exc.reason)]


def check_file(path: Path, *, audio_dir: Path | None = None) -> tuple[Site | None, list[Report]]:
    data, reports = read_site(path)
    if data is None:
        return None, reports
    return parse_site(data, str(path), audio_dir=audio_dir)


def load_site(path: Path, *, audio_dir: Path | None = None) -> Site:
    site, reports = check_file(path, audio_dir=audio_dir)
    if site is None:
        raise ValidationFailed(reports)
    return site
