"""The Debian mirror the lab's root filesystems come from: the host's own apt sources.

The first ``deb`` source of a Debian release suite (``bookworm``, ``stable``, ...) with the
``main`` component, in the order apt reads them: /etc/apt/sources.list, then the files of
/etc/apt/sources.list.d (one-line ``*.list`` and deb822 ``*.sources``) by name. Security,
updates and backports suites are never it (debootstrap needs the main archive). ``lab up
--mirror URL`` overrides it; no address is written in the code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from appliance.errors import ExpandError

ETC_APT = Path("/etc/apt")
# Release suites of the Debian archive (codenames and aliases); "bookworm-updates",
# "bookworm-security", "bookworm-backports" are not among them on purpose.
DEBIAN_SUITES = frozenset({
    "buster", "bullseye", "bookworm", "trixie", "forky", "duke", "sid",
    "oldoldstable", "oldstable", "stable", "testing", "unstable",
})
SCHEMES = ("http", "https", "file")  # what debootstrap fetches from
MAX_SOURCES_BYTES = 1 << 20


@dataclass(frozen=True)
class Source:
    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]
    where: str  # file (and line) it came from


def check_mirror_url(url: str, what: str = "--mirror") -> str:
    """``url`` when debootstrap can fetch from it; otherwise one clear error."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not (parts.netloc or parts.scheme == "file"):
        raise ExpandError(f"{what} {url[:200]!r}: not an http://, https:// or file:// URL "
                          "of a Debian mirror")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise ExpandError(f"{what} {url[:200]!r}: spaces or control characters in the URL")
    return url.rstrip("/")


def source_files(etc_apt: Path = ETC_APT) -> list[Path]:
    """The files apt reads, in its order."""
    parts = etc_apt / "sources.list.d"
    found = [etc_apt / "sources.list"]
    if parts.is_dir():
        found += sorted(p for p in parts.iterdir() if p.suffix in (".list", ".sources"))
    return found


def one_line_sources(text: str, where: str) -> Iterator[Source]:
    """``deb [options] URI SUITE COMPONENT...`` lines (sources.list(5), one-line style)."""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        line = re.sub(r"\[[^\]]*\]", " ", line)  # [arch=amd64 signed-by=...]
        words = line.split()
        if len(words) < 3 or words[0] != "deb":
            continue
        yield Source(words[1], (words[2],), tuple(words[3:]), f"{where}:{number}")


def deb822_sources(text: str, where: str) -> Iterator[Source]:
    """Stanzas of ``Types:``, ``URIs:``, ``Suites:``, ``Components:`` (deb822 style)."""
    stanzas: list[dict[str, str]] = [{}]
    key = ""
    for raw in text.splitlines():
        if raw.lstrip().startswith("#"):
            continue
        if not raw.strip():
            if stanzas[-1]:
                stanzas.append({})
            continue
        if raw[:1] in (" ", "\t") and key:  # a continuation line
            stanzas[-1][key] += " " + raw.strip()
            continue
        name, sep, value = raw.partition(":")
        if sep:
            key = name.strip().lower()
            stanzas[-1][key] = value.strip()
    for index, fields in enumerate(s for s in stanzas if s):
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").strip().lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            yield Source(uri, tuple(fields.get("suites", "").split()),
                         tuple(fields.get("components", "").split()),
                         f"{where} (stanza {index + 1})")


def is_debian_main(source: Source) -> bool:
    return ("main" in source.components
            and any(s in DEBIAN_SUITES for s in source.suites)
            and urlsplit(source.uri).scheme in SCHEMES)


def host_mirror(etc_apt: Path = ETC_APT) -> str:
    """The host's Debian main archive, from its apt sources; one clear error without one."""
    read: list[str] = []
    for path in source_files(etc_apt):
        try:
            with open(path, "rb") as fh:
                text = fh.read(MAX_SOURCES_BYTES).decode(errors="replace")
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ExpandError(f"{path}: cannot read: {exc.strerror}") from exc
        read.append(str(path))
        parse = deb822_sources if path.suffix == ".sources" else one_line_sources
        for source in parse(text, str(path)):
            if is_debian_main(source):
                return check_mirror_url(source.uri, f"{source.where}: URI")
    files = ", ".join(read) or (", ".join(str(p) for p in source_files(etc_apt))
                                + ": none exists")
    raise ExpandError(
        f"no Debian mirror in the host's apt sources (read: {files}; looked for a 'deb' "
        f"source of a Debian release suite with component main, e.g. bookworm); "
        f"name one with --mirror URL")
