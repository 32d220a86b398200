"""A repository's metadata as the closure check needs it: packages, provides, requires,
files, and the comps groups (for ``@core``).

``load_repodata(fetch, label)`` reads ``repodata/repomd.xml`` and the primary and group
files it names; ``fetch`` turns a path inside the repository into a local file, so the
same code reads a folder and a DVD image (``iso`` extracts the files with xorriso).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from release.repodata_evr import FLAGS, SYMBOLS, Evr
from release.repodata_xml import RepodataError, walk_xml

REPOMD = "repodata/repomd.xml"
MAX_REPOMD = 4 * 1024 * 1024
MAX_PRIMARY = 1024 * 1024 * 1024  # Rocky 9 AppStream's is ~40 MiB uncompressed
MAX_COMPS = 64 * 1024 * 1024
GROUP_TYPES = ("group", "group_gz", "group_xz", "group_zst")
INSTALLED_REQ_TYPES = ("mandatory", "default")  # what anaconda installs for "@group"

Fetch = Callable[[str], Path]


@dataclass(frozen=True)
class Dep:
    """One provide or require: ``name [FLAGS evr]``; rich requires keep their text in name."""

    name: str
    flags: str | None = None
    evr: Evr | None = None

    def __str__(self) -> str:
        if self.flags and self.evr:
            return f"{self.name} {SYMBOLS[self.flags]} {self.evr}"
        return self.name


@dataclass(frozen=True)
class Package:
    name: str
    arch: str
    evr: Evr
    summary: str = ""
    location: str = ""
    provides: tuple[Dep, ...] = ()
    requires: tuple[Dep, ...] = ()
    files: tuple[str, ...] = ()

    @property
    def nevra(self) -> str:
        return f"{self.name}-{self.evr}.{self.arch}"

    @property
    def version_release(self) -> str:
        return str(self.evr)


@dataclass(frozen=True)
class Repodata:
    label: str  # e.g. "base DVD /BaseOS"
    packages: tuple[Package, ...]
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)


def load_repodata(fetch: Fetch, label: str) -> Repodata:
    """Raises RepodataError (one line naming the file) when anything is unusable."""
    hrefs = _repomd(fetch(REPOMD), f"{label}/{REPOMD}")
    if "primary" not in hrefs:
        raise RepodataError(f"{label}/{REPOMD}: names no primary metadata")
    primary = hrefs["primary"]
    packages = _primary(fetch(primary), f"{label}/{primary}")
    groups: dict[str, tuple[str, ...]] = {}
    group_href = next((hrefs[t] for t in GROUP_TYPES if t in hrefs), None)
    if group_href is not None:
        groups = _comps(fetch(group_href), f"{label}/{group_href}")
    return Repodata(label, tuple(packages), groups)


def _safe_href(href: str, label: str) -> str:
    """A location inside the repository (never ``/etc/...`` or ``../..``)."""
    pure = PurePosixPath(href)
    if not href or pure.is_absolute() or ".." in pure.parts or "\0" in href:
        raise RepodataError(f"{label}: location {href[:80]!r} is outside the repository")
    return str(pure)


def _repomd(path: Path, label: str) -> dict[str, str]:
    hrefs: dict[str, str] = {}
    kind: list[str] = []

    def start(tag: str, attrs: dict[str, str], stack: list[str]) -> None:
        if tag == "data":
            kind[:] = [attrs.get("type", "")]
        elif tag == "location" and stack[-1:] == ["data"] and kind:
            hrefs.setdefault(kind[0], _safe_href(attrs.get("href", ""), label))

    walk_xml(path, label, MAX_REPOMD, start, lambda *_: None)
    return hrefs


def _dep(attrs: dict[str, str], label: str) -> Dep:
    flags = attrs.get("flags") or None
    if flags is not None and flags not in FLAGS:
        raise RepodataError(f"{label}: dependency {attrs.get('name', '')[:80]!r} has "
                            f"flags {flags[:20]!r}")
    evr = None
    if flags and attrs.get("ver"):
        evr = Evr(_epoch(attrs.get("epoch"), label), attrs["ver"], attrs.get("rel") or None)
    return Dep(attrs.get("name", ""), flags, evr)


def _epoch(text: str | None, label: str) -> int:
    if not text:
        return 0
    if not text.isdigit() or len(text) > 10:
        raise RepodataError(f"{label}: epoch {text[:20]!r} is not a number")
    return int(text)


class _PackageBuilder:
    def __init__(self, label: str) -> None:
        self.label = label
        self.fields: dict[str, str] = {}
        self.evr = Evr(0, "")
        self.provides: list[Dep] = []
        self.requires: list[Dep] = []
        self.files: list[str] = []

    def build(self) -> Package:
        name = self.fields.get("name", "")
        if not name or not self.evr.version:
            raise RepodataError(f"{self.label}: a package without a name or version")
        return Package(name, self.fields.get("arch", ""), self.evr,
                       self.fields.get("summary", ""), self.fields.get("location", ""),
                       tuple(self.provides), tuple(self.requires), tuple(self.files))


def _primary(path: Path, label: str) -> list[Package]:
    packages: list[Package] = []
    current: list[_PackageBuilder] = []

    def start(tag: str, attrs: dict[str, str], stack: list[str]) -> None:
        if tag == "package" and stack == ["metadata"]:
            current[:] = [_PackageBuilder(label)]
        if not current:
            return
        pkg = current[0]
        if tag == "version" and stack[-1:] == ["package"]:
            pkg.evr = Evr(_epoch(attrs.get("epoch"), label), attrs.get("ver", ""),
                          attrs.get("rel") or None)
        elif tag == "location" and stack[-1:] == ["package"]:
            pkg.fields["location"] = _safe_href(attrs.get("href", ""), label)
        elif tag == "entry" and stack[-1:] == ["provides"]:
            pkg.provides.append(_dep(attrs, label))
        elif tag == "entry" and stack[-1:] == ["requires"]:
            dep = _dep(attrs, label)
            if not dep.name.startswith("rpmlib("):  # rpm's own features, not packages
                pkg.requires.append(dep)

    def end(tag: str, text: str, stack: list[str]) -> None:
        if not current:
            return
        if tag in ("name", "arch", "summary") and stack[-1:] == ["package"]:
            current[0].fields[tag] = text.strip()
        elif tag == "file" and stack[-1:] == ["format"]:
            current[0].files.append(text.strip())
        elif tag == "package" and stack == ["metadata"]:
            packages.append(current[0].build())
            current.clear()

    walk_xml(path, label, MAX_PRIMARY, start, end)
    return packages


def _comps(path: Path, label: str) -> dict[str, tuple[str, ...]]:
    groups: dict[str, tuple[str, ...]] = {}
    group_id: list[str] = []
    installed: list[str] = []
    kinds: list[str] = []  # type of the packagereq being read

    def start(tag: str, attrs: dict[str, str], stack: list[str]) -> None:
        if tag == "group" and stack == ["comps"]:
            group_id.clear()
            installed.clear()
        elif tag == "packagereq" and "group" in stack:
            kinds[:] = [attrs.get("type", "default")]

    def end(tag: str, text: str, stack: list[str]) -> None:
        if tag == "id" and stack == ["comps", "group"]:
            group_id[:] = [text.strip()]
        elif tag == "packagereq" and "group" in stack and kinds[:1] and \
                kinds[0] in INSTALLED_REQ_TYPES:
            installed.append(text.strip())
        elif tag == "group" and stack == ["comps"] and group_id:
            groups[group_id[0]] = tuple(installed)

    walk_xml(path, label, MAX_COMPS, start, end)
    return groups
