"""rpmvercmp, dependency ranges, boolean requires and the closure judgement (pure)."""

from __future__ import annotations

import re

import pytest

from release.closure import check_closure, usually_from
from release.closure_rich import Op, RichError, Simple, parse_rich, satisfied_by
from release.repodata import Dep, Package, Repodata
from release.repodata_evr import Evr, compare_evr, ranges_overlap, rpmvercmp

# (a, b, rpmvercmp(a, b)) -- cases from rpm's own test suite (tests/rpmvercmp.at).
VERCMP = [
    ("1.0", "1.0", 0), ("1.0", "2.0", -1), ("2.0", "1.0", 1), ("2.0.1", "2.0.1", 0),
    ("2.0", "2.0.1", -1), ("2.0.1", "2.0", 1), ("2.0.1a", "2.0.1a", 0),
    ("2.0.1a", "2.0.1", 1), ("2.0.1", "2.0.1a", -1), ("5.5p1", "5.5p1", 0),
    ("5.5p1", "5.5p2", -1), ("5.5p2", "5.5p1", 1), ("5.5p10", "5.5p10", 0),
    ("5.5p1", "5.5p10", -1), ("5.5p10", "5.5p1", 1), ("10xyz", "10.1xyz", -1),
    ("10.1xyz", "10xyz", 1), ("xyz10", "xyz10", 0), ("xyz10", "xyz10.1", -1),
    ("xyz10.1", "xyz10", 1), ("xyz.4", "xyz.4", 0), ("xyz.4", "8", -1), ("8", "xyz.4", 1),
    ("xyz.4", "2", -1), ("2", "xyz.4", 1), ("5.5p2", "5.6p1", -1), ("5.6p1", "5.5p2", 1),
    ("5.6p1", "6.5p1", -1), ("6.5p1", "5.6p1", 1), ("6.0.rc1", "6.0", 1),
    ("6.0", "6.0.rc1", -1), ("10b2", "10a1", 1), ("10a2", "10b2", -1), ("1.0aa", "1.0aa", 0),
    ("1.0a", "1.0aa", -1), ("1.0aa", "1.0a", 1), ("10.0001", "10.0001", 0),
    ("10.0001", "10.1", 0), ("10.1", "10.0001", 0), ("10.0001", "10.0039", -1),
    ("10.0039", "10.0001", 1), ("4.999.9", "5.0", -1), ("5.0", "4.999.9", 1),
    ("20101121", "20101121", 0), ("20101121", "20101122", -1), ("20101122", "20101121", 1),
    ("2_0", "2_0", 0), ("2.0", "2_0", 0), ("2_0", "2.0", 0), ("a", "a", 0), ("a+", "a+", 0),
    ("a+", "a_", 0), ("a_", "a+", 0), ("+a", "+a", 0), ("+a", "_a", 0), ("_a", "+a", 0),
    ("+_", "+_", 0), ("_+", "+_", 0), ("_+", "_+", 0), ("+", "_", 0), ("_", "+", 0),
    ("1.0~rc1", "1.0~rc1", 0), ("1.0~rc1", "1.0", -1), ("1.0", "1.0~rc1", 1),
    ("1.0~rc1", "1.0~rc2", -1), ("1.0~rc2", "1.0~rc1", 1), ("1.0~rc1~git123", "1.0~rc1", -1),
    ("1.0~rc1", "1.0~rc1~git123", 1), ("1.0^", "1.0^", 0), ("1.0^", "1.0", 1),
    ("1.0", "1.0^", -1), ("1.0^git1", "1.0^git1", 0), ("1.0^git1", "1.0", 1),
    ("1.0", "1.0^git1", -1), ("1.0^git1", "1.0^git2", -1), ("1.0^git2", "1.0^git1", 1),
    ("1.0^git1", "1.01", -1), ("1.01", "1.0^git1", 1), ("1.0^20160101", "1.0^20160101", 0),
    ("1.0^20160101", "1.0.1", -1), ("1.0.1", "1.0^20160101", 1),
    ("1.0^20160101^git1", "1.0^20160101^git1", 0), ("1.0^20160102", "1.0^20160101^git1", 1),
    ("1.0^20160101^git1", "1.0^20160102", -1), ("1.0~rc1^git1", "1.0~rc1^git1", 0),
    ("1.0~rc1^git1", "1.0~rc1", 1), ("1.0~rc1", "1.0~rc1^git1", -1),
    ("1.0^git1~pre", "1.0^git1~pre", 0),
    ("1.0^git1", "1.0^git1~pre", 1), ("1.0^git1~pre", "1.0^git1", -1), ("1.10", "1.9", 1),
    ("3.11.7", "3.12", -1),
]


@pytest.mark.parametrize(("a", "b", "expected"), VERCMP)
def test_rpmvercmp_agrees_with_rpm(a: str, b: str, expected: int) -> None:
    assert rpmvercmp(a, b) == expected


def test_evr_parse_and_compare() -> None:
    assert Evr.parse("1:2.3-4") == Evr(1, "2.3", "4")
    assert Evr.parse("2.3") == Evr(0, "2.3", None)
    assert compare_evr(Evr(1, "1.0", "1"), Evr(0, "9.9", "9")) == 1  # the epoch wins
    assert compare_evr(Evr(0, "1.3", "32.el9"), Evr(0, "1.3")) == 0  # no release: any
    for bad in ("", "x:1", "1:", "-1"):
        with pytest.raises(ValueError, match="is not a version"):
            Evr.parse(bad)


@pytest.mark.parametrize(("provide", "require", "met"), [
    (("EQ", "3.11.7-1.el9"), ("GE", "3.11"), True),
    (("EQ", "3.11.7-1.el9"), ("GE", "3.12"), False),
    (("EQ", "3.11.7-1.el9"), ("LT", "3.11.7-2"), True),
    (("EQ", "3.11.7-1.el9"), ("EQ", "3.11.7"), True),
    (("EQ", "3.11.7-1.el9"), ("GT", "3.11.7"), False),
    (("EQ", "2:3.5.9-24.el9"), ("GE", "3.6"), True),  # epoch 2 beats epoch 0
    ((None, None), ("GE", "99"), True),  # an unversioned provide matches every version
    (("GE", "2.0"), ("LT", "3.0"), True),
    (("LE", "2.0"), ("GE", "3.0"), False),
])
def test_ranges_overlap_like_rpmdscompare(provide: tuple[str | None, str | None],
                                          require: tuple[str, str], met: bool) -> None:
    p_evr = Evr.parse(provide[1]) if provide[1] else None
    assert ranges_overlap(provide[0], p_evr, require[0], Evr.parse(require[1])) is met


def _pkg(name: str, version: str = "1.0", release: str = "1", *, provides: tuple[Dep, ...] = (),
         requires: tuple[Dep, ...] = (), files: tuple[str, ...] = ()) -> Package:
    return Package(name, "noarch", Evr(0, version, release), provides=provides,
                   requires=requires, files=files)


def _providers(*names: str) -> dict[str, frozenset[str]]:
    return {n: frozenset({n}) for n in names}


@pytest.mark.parametrize(("text", "available", "met"), [
    ("(a or b)", {"b"}, True),
    ("(a or b)", set(), False),
    ("(a and b)", {"a"}, False),
    ("(a and (b or c))", {"a", "c"}, True),
    ("(a if b)", set(), True),  # b cannot be installed: nothing needed
    ("(a if b)", {"b"}, False),
    ("(a if b else c)", {"c"}, True),
    ("(a unless b)", {"b"}, True),
    ("(libc.so.6()(64bit) or musl)", {"libc.so.6()(64bit)"}, True),
    ("(a >= 1.0 or b)", {"a"}, True),
])
def test_boolean_requires(text: str, available: set[str], met: bool) -> None:
    table = _providers(*available)
    node = parse_rich(text)
    assert bool(satisfied_by(node, lambda d: table.get(d.name, frozenset()))) is met


def test_with_needs_one_package_for_both_sides() -> None:
    table = {"a": frozenset({"p1"}), "b": frozenset({"p2"})}
    node = parse_rich("(a with b)")
    assert satisfied_by(node, lambda d: table.get(d.name, frozenset())) == frozenset()
    versioned = parse_rich("(a >= 1:2.0-3 or b)")
    assert isinstance(versioned, Op) and versioned.args[0] == parse_rich("(a >= 1:2.0-3)")
    assert versioned.args[0] == Simple(Dep("a", "GE", Evr(1, "2.0", "3")))


@pytest.mark.parametrize(("text", "message"), [
    ("(a or", "missing ')'"), ("(a or b) c", "after the closing"), ("(a xor b)", "not one of"),
    ("(a or b and c)", "mixed operators"), ("(or b)", "name is missing"),
    ("(a >= x:1 or b)", "is not a version"), ("(" * 100 + "a" + ")" * 100, "nested deeper"),
    ("a or b", "starts with '('"), ("(a if b if c)", "one condition"),
])
def test_bad_boolean_requires(text: str, message: str) -> None:
    with pytest.raises(RichError, match=re.escape(message)):
        parse_rich(text)


def test_closure_names_what_is_missing_who_needs_it_and_where_from() -> None:
    base = Repodata("base /BaseOS", (
        _pkg("bash", provides=(Dep("/bin/sh"),), files=("/usr/bin/bash",)),
        _pkg("python3.11", "3.11.7", files=("/usr/bin/python3.11",)),
        _pkg("kernel"),
    ), {"core": ("bash", "kernel")})
    product = Repodata("product", (
        _pkg("expand-appliance", "3.2.0", requires=(
            Dep("python3.11", "GE", Evr(0, "3.11")), Dep("/bin/sh"), Dep("/usr/bin/python3.11"),
            Dep("pacemaker"), Dep("(drbd9x-utils or drbd-utils)"), Dep("asterisk"),
            Dep("python3.11", "GE", Evr(0, "3.12")), Dep("(broken or"))),))
    closure = check_closure([base], [product], ["expand-appliance", "pacemaker", "chrony"],
                            ["core", "nonesuch"])
    assert not closure.ok
    found = {m.requirement: m for m in closure.missing}
    assert set(found) == {"pacemaker", "(drbd9x-utils or drbd-utils)", "asterisk",
                          "python3.11 >= 3.12", "(broken or", "chrony", "@nonesuch (comps group)"}
    assert found["pacemaker"].needed_by == ("the kickstart's %packages",
                                            "expand-appliance-3.2.0-1.noarch")
    assert "HighAvailability" in found["pacemaker"].usually_from
    assert found["(drbd9x-utils or drbd-utils)"].usually_from == "ELRepo"
    assert found["asterisk"].usually_from == "your Asterisk build"
    assert "EPEL" in found["chrony"].usually_from
    assert "comps" in found["@nonesuch (comps group)"].usually_from


def test_closure_ok_when_everything_is_provided() -> None:
    base = Repodata("base", (_pkg("kernel"), _pkg("bash")), {"core": ("bash",)})
    product = Repodata("product", (_pkg("expand-appliance", requires=(Dep("kernel"),)),))
    closure = check_closure([base], [product], ["expand-appliance"])
    assert closure.ok and closure.checked == 3
    assert closure.as_dict() == {"ok": True, "checked": 3, "missing": []}


@pytest.mark.parametrize(("name", "source"), [
    ("pacemaker-libs", "the vendor's HighAvailability repository"),
    ("fence-agents-ipmilan", "the vendor's HighAvailability repository"),
    ("pcsc-lite", "BaseOS/AppStream of the same minor release, or EPEL"),
    ("drbd9x-utils", "ELRepo"), ("kmod-drbd9x", "ELRepo"),
    ("asterisk-pjsip", "your Asterisk build"),
    ("expand-appliance", "'expandctl release build' (its --out folder)"),
])
def test_usually_from(name: str, source: str) -> None:
    assert usually_from(name) == source
