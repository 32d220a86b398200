"""Closure of the DVD: can the kickstart install everything it names, and everything the
product repository's packages require, from the base DVD plus the product repository?

Pure: repodata in, a ``Closure`` out. What dnf would resolve at install time is judged the
way rpm does: names and provides with versions (``rpmvercmp``), file requires against the
file lists of primary, boolean requires.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from appliance.errors import ExpandError
from release.closure_rich import RichError, is_rich, leaves, parse_rich, satisfied_by
from release.repodata import Dep, Package, Repodata
from release.repodata_evr import ranges_overlap

KICKSTART = "the kickstart's %packages"
# Where a release engineer usually finds a missing package for a Rocky/Alma 9 DVD.
SOURCES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("pacemaker", "corosync", "pcs", "fence-agents", "resource-agents"),
     "the vendor's HighAvailability repository"),
    (("drbd", "kmod-drbd"), "ELRepo"),
    (("asterisk",), "your Asterisk build"),
    (("expand-appliance",), "'expandctl release build' (its --out folder)"),
)
DEFAULT_SOURCE = "BaseOS/AppStream of the same minor release, or EPEL"


@dataclass(frozen=True)
class Missing:
    requirement: str
    needed_by: tuple[str, ...]
    usually_from: str

    def __str__(self) -> str:
        return (f"{self.requirement}: needed by {', '.join(self.needed_by)}; "
                f"usually from {self.usually_from}")


@dataclass(frozen=True)
class Closure:
    checked: int  # distinct requirements judged
    missing: tuple[Missing, ...]

    @property
    def ok(self) -> bool:
        return not self.missing

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "checked": self.checked,
                "missing": [{"requirement": m.requirement, "needed_by": list(m.needed_by),
                             "usually_from": m.usually_from} for m in self.missing]}


class ClosureFailed(ExpandError):
    """The refusal of ``iso build``: what is missing, who needs it, where to get it."""

    def __init__(self, closure: Closure) -> None:
        self.closure = closure
        lines = [f"{len(closure.missing)} of {closure.checked} requirements of the DVD are "
                 "not provided by the base DVD or the product repository (nothing written; "
                 "add the folders that hold them with --repo DIR):"]
        lines += [f"  {m}" for m in closure.missing]
        super().__init__("\n".join(lines))


def usually_from(name: str) -> str:
    for prefixes, source in SOURCES:
        # "drbd" covers drbd-utils and drbd9x-utils, "pcs" not pcsc-lite.
        if any(re.match(rf"{re.escape(p)}(\d|-|$)", name) for p in prefixes):
            return source
    return DEFAULT_SOURCE


class Universe:
    """Every package anaconda can install from: who provides a name, who holds a file."""

    def __init__(self, repos: Iterable[Repodata]) -> None:
        self.provides: dict[str, list[tuple[Dep, str]]] = defaultdict(list)
        self.files: dict[str, list[str]] = defaultdict(list)
        self.groups: dict[str, tuple[str, ...]] = {}
        for repo in repos:
            for pkg in repo.packages:
                self._add(pkg)
            for group, names in repo.groups.items():
                self.groups.setdefault(group, names)

    def _add(self, pkg: Package) -> None:
        if pkg.arch == "src":
            return
        who = pkg.nevra
        self.provides[pkg.name].append((Dep(pkg.name, "EQ", pkg.evr), who))
        for dep in pkg.provides:
            self.provides[dep.name].append((dep, who))
        for path in pkg.files:
            self.files[path].append(who)

    def providers(self, dep: Dep) -> frozenset[str]:
        found = {who for provide, who in self.provides.get(dep.name, ())
                 if ranges_overlap(provide.flags, provide.evr, dep.flags, dep.evr)}
        if dep.name.startswith("/"):
            found.update(self.files.get(dep.name, ()))
        return frozenset(found)

    def satisfied(self, requirement: str | Dep) -> bool:
        dep = requirement if isinstance(requirement, Dep) else Dep(requirement)
        if is_rich(dep.name):
            return bool(satisfied_by(parse_rich(dep.name), self.providers))
        return bool(self.providers(dep))


def check_closure(base: Sequence[Repodata], product: Sequence[Repodata],
                  packages: Sequence[str], groups: Sequence[str] = ("core",)) -> Closure:
    """``packages``/``groups``: what the kickstart's %packages names (without the '@')."""
    universe = Universe([*base, *product])
    needs: dict[str, list[str]] = defaultdict(list)
    deps: dict[str, Dep] = {}
    for group in groups:
        if group not in universe.groups:
            needs[f"@{group} (comps group)"].append(KICKSTART)
            continue
        for name in universe.groups[group]:
            _need(needs, deps, Dep(name), f"@{group}")
    for name in packages:
        _need(needs, deps, Dep(name), KICKSTART)
    for repo in product:
        for pkg in repo.packages:
            for dep in pkg.requires:
                _need(needs, deps, dep, pkg.nevra)
    missing = []
    for text, who in needs.items():
        wanted = deps.get(text)
        if wanted is not None and _judge(universe, wanted):
            continue
        missing.append(Missing(text, tuple(dict.fromkeys(who)), _source_of(wanted)))
    return Closure(len(needs), tuple(sorted(missing, key=lambda m: m.requirement)))


def _need(needs: dict[str, list[str]], deps: dict[str, Dep], dep: Dep, who: str) -> None:
    text = str(dep)
    needs[text].append(who)
    deps[text] = dep


def _judge(universe: Universe, dep: Dep) -> bool:
    try:
        return universe.satisfied(dep)
    except RichError:
        return False  # listed as missing: dnf would refuse it as well


def _source_of(dep: Dep | None) -> str:
    if dep is None:
        return "the comps file of the base DVD's BaseOS repository"
    names = [d.name for d in leaves(parse_rich(dep.name))] if _parses(dep.name) else [dep.name]
    sources = list(dict.fromkeys(usually_from(n) for n in names if not n.startswith("/")))
    return " or ".join(sources) if sources else DEFAULT_SOURCE


def _parses(text: str) -> bool:
    if not is_rich(text):
        return False
    try:
        parse_rich(text)
    except RichError:
        return False
    return True
