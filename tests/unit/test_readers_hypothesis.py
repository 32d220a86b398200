"""Arbitrary bytes and arbitrary TOML/JSON to every reader: the answer is a value or a clear
error (ExpandError, ValidationFailed, or reports), never another exception."""

from __future__ import annotations

import contextlib
import json
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance import readers
from appliance.answers import check_file
from appliance.errors import ExpandError
from appliance.fields import FIELDS
from appliance.filesink import FileSink
from appliance.reports import Report, ValidationFailed
from firstboot import paths
from firstboot.engine import read_report
from firstboot.host import load_host
from firstboot.journal import load_journal
from firstboot.report import status, status_lines
from hardware_profiles.snapshot import load_facts
from kickstart.checks import validate_file, validate_text

FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# TOML/JSON punctuation with a few letters, so the parsers get past the first character.
TOMLISH = st.text(alphabet=st.sampled_from(list("[]{}=.,\"'#\\\n \tab1-:_\x00\xff")), max_size=300)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=20)
TOML_SCALARS = (st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
                | st.text(max_size=30) | st.lists(st.text(max_size=10), max_size=3))
SECTION_KEYS: dict[str, list[str]] = {}
for _fld in FIELDS:
    _section, _, _name = _fld.key.rpartition(".")
    SECTION_KEYS.setdefault(_section, []).append(_name)


def toml_string(text: str) -> str:
    # JSON escapes are TOML basic-string escapes, except that TOML has no surrogate pairs.
    return json.dumps(text, ensure_ascii=False)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(tables: dict[str, Any]) -> str:
    lines = []
    for key, value in tables.items():
        if isinstance(value, dict):
            lines.append(f"[{toml_string(key)}]")
            lines += [f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()]
        else:
            lines.insert(0, f"{toml_string(key)} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


NESTED_TABLES = st.dictionaries(
    st.text(max_size=10),
    st.recursive(TOML_SCALARS, lambda inner: st.dictionaries(st.text(max_size=6), inner,
                                                              max_size=3), max_leaves=12),
    max_size=5)
# Shaped like answers (known sections and keys), with any values: reaches every check.
ANSWERS_LIKE = st.fixed_dictionaries({}, optional={
    section or "mode": (st.fixed_dictionaries({}, optional={k: TOML_SCALARS for k in keys})
                        if section else TOML_SCALARS)
    for section, keys in SECTION_KEYS.items()})


def with_file(data: bytes, read: Callable[[Path], Any]) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input"
        path.write_bytes(data)
        return read(path)


def answers_outcome(path: Path) -> None:
    answers, reports = check_file(path)
    assert (answers is None) == bool(reports)
    for report in reports:
        assert isinstance(report, Report) and str(path) in str(report)
        assert len(str(report)) < 1000


def must_be_clean(read: Callable[[Path], Any], data: bytes) -> None:
    try:
        with_file(data, read)
    except (ExpandError, ValidationFailed) as exc:
        assert "\n" not in str(exc) or isinstance(exc, ValidationFailed)


def in_root(relative: str, data: bytes, read: Callable[[Path], Any]) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        target = root / relative.lstrip("/")
        target.parent.mkdir(parents=True)
        target.write_bytes(data)
        return read(root)


def journal_both_ways(root: Path) -> None:
    load_journal(FileSink(root))  # lenient: a Journal or None, never an exception
    with contextlib.suppress(ExpandError):
        load_journal(FileSink(root), strict=True)


def report_and_status(root: Path) -> None:
    try:
        read_report(root)
        status_lines(status(root))
    except ExpandError:
        pass


READERS: dict[str, Callable[[bytes], None]] = {
    "answers": lambda data: with_file(data, answers_outcome),
    "toml": lambda data: must_be_clean(readers.load_toml, data),
    "json": lambda data: must_be_clean(readers.load_json, data),
    "journal": lambda data: in_root(paths.JOURNAL, data, journal_both_ways),
    "report": lambda data: in_root(paths.REPORT, data, report_and_status),
    "facts": lambda data: must_be_clean(load_facts, data),
    "host-facts": lambda data: must_be_clean(load_host, data),
    "kickstart": lambda data: must_be_clean(validate_file, data),
}


@FAST
@given(st.sampled_from(sorted(READERS)), st.binary(max_size=400))
def test_arbitrary_bytes(reader: str, data: bytes) -> None:
    READERS[reader](data)


@FAST
@given(st.sampled_from(sorted(READERS)), TOMLISH)
def test_arbitrary_tomlish_text(reader: str, text: str) -> None:
    READERS[reader](text.encode())


@FAST
@given(st.sampled_from(["journal", "report", "facts", "host-facts", "json"]), JSON_VALUES)
def test_arbitrary_json(reader: str, value: Any) -> None:
    READERS[reader](json.dumps(value).encode())


@FAST
@given(NESTED_TABLES)
def test_arbitrary_nested_tables(tables: dict[str, Any]) -> None:
    READERS["answers"](toml_document(tables).encode())


@FAST
@given(ANSWERS_LIKE)
def test_answers_shaped_with_any_values(tables: dict[str, Any]) -> None:
    READERS["answers"](toml_document(tables).encode())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("partraid/ -=\"'\\%#abc12\t")),
                        max_size=40), max_size=6))
def test_kickstart_lines(lines: list[str]) -> None:
    reports = validate_text("\n".join(lines), "ks.cfg")
    assert all(isinstance(r, Report) for r in reports)


@FAST
@given(st.text(max_size=200), st.integers(min_value=1, max_value=80))
def test_cut_is_short(text: str, limit: int) -> None:
    assert len(readers.cut(text, limit)) <= limit + 1
    assert len(readers.shown(text, limit)) <= limit + 1
    assert len(readers.cut_middle(text * 10)) <= 4 * readers.SHOWN_CHARS + 1


def toml_string_any_style(text: str, style: int) -> str:
    """The same text as a basic, literal or multi-line literal TOML string, where it can be."""
    printable = all(c == "\t" or (c >= " " and c != "\x7f") for c in text)
    if style == 1 and printable and "'" not in text:
        return f"'{text}'"
    if style == 2 and printable and "'" not in text:
        return f"'''{text}'''"
    if style == 3:
        return f'"""{toml_string(text)[1:-1]}"""'
    return toml_string(text)


@FAST
@given(st.lists(st.tuples(st.text(alphabet=st.sampled_from(list("[]{}#'\"\\.=, ab\n")),
                                  max_size=20), st.integers(0, 3)), max_size=6),
       st.integers(0, 3))
def test_a_valid_document_is_never_refused(values: list[tuple[str, int]], nesting: int) -> None:
    """Brackets, quotes and dots inside strings and comments do not count as depth."""
    body = "\n".join(f"k{i} = {'[' * nesting}{toml_string_any_style(text, style)}"
                     f"{']' * nesting} # [[{{{{'\"" for i, (text, style) in enumerate(values))
    document = f"[t.\"a.b\".c]\n{body}\n"
    assert readers.parse_toml(document, "x") == tomllib.loads(document)


def test_depth_scanners_bound_the_parsers() -> None:
    """What the scanners let through, the parsers take without recursing too deep."""
    ok = "a = " + "[" * readers.MAX_DEPTH + "]" * readers.MAX_DEPTH
    assert readers.parse_toml(ok, "x")["a"]
    deep = "a = " + "[" * (readers.MAX_DEPTH + 1) + "]" * (readers.MAX_DEPTH + 1)
    for text, parse in ((deep, readers.parse_toml), (deep[4:], readers.parse_json)):
        try:
            parse(text, "x")
        except readers.ReadError as exc:
            assert "nested more than" in str(exc)
        else:
            raise AssertionError("too deep, yet parsed")
    # brackets inside strings and comments do not count
    assert readers.toml_depth('a = "[[[[" # [[[[\nb = \'{{{{\'\n') == 0
    assert readers.json_depth('["[[[[\\"[[[["]') == 1
