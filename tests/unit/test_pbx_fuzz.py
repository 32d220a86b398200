"""Any TOML data gives a model or reports, never an exception."""

from __future__ import annotations

import copy
import datetime
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pbx.fields import KINDS
from pbx.model import Site
from pbx.show import dump_site
from pbx.site import parse_site

REPO = Path(__file__).resolve().parents[2]
ACME_DATA = tomllib.loads((REPO / "examples" / "site" / "acme.toml").read_text())

FIELD_NAMES = sorted({f.key for k in KINDS for f in k.fields} | {"events"})
SECTION_NAMES = [k.key for k in KINDS]
WORDS = ["550", "recl", "callcenter", "Matutino", "queue:recl", "menu:fax", "fax:ventas",
         "09:00", "17:59", "mon-fri", "pri_net", "gsm", "wav", "_09XXXXXXX", "hangup",
         "America/Montevideo", "Mars/Olympus", "adiaz", "nocturno", "1", ""]

keys = st.one_of(st.sampled_from(FIELD_NAMES + SECTION_NAMES + WORDS), st.text(max_size=8))
scalars = st.one_of(
    st.sampled_from(WORDS), st.text(max_size=12), st.integers(-2, 10**12), st.booleans(),
    st.floats(allow_nan=True), st.times(), st.dates(),
    st.datetimes(timezones=st.just(datetime.UTC)),
)
toml_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                     st.dictionaries(keys, inner, max_size=5)),
    max_leaves=25)


def _outcome(data: dict[str, Any]) -> None:
    site, reports = parse_site(data, "fuzz.toml")
    if site is None:
        assert reports and all(str(r).startswith("fuzz.toml") for r in reports)
    else:
        assert isinstance(site, Site) and reports == []
        dump_site(site)  # a valid model can always be shown


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(keys, toml_values, max_size=6))
def test_arbitrary_tables(data: dict[str, Any]) -> None:
    _outcome(data)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for k, v in data.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found += _paths(v, (*prefix, i))
    return found


ACME_PATHS = _paths(ACME_DATA)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(ACME_PATHS), toml_values), min_size=1, max_size=3))
def test_acme_with_values_replaced(changes: list[tuple[tuple[Any, ...], Any]]) -> None:
    data: Any = copy.deepcopy(ACME_DATA)
    for path, value in changes:
        node = data
        try:
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change replaced a parent
    _outcome(data)
