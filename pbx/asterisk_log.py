"""An Asterisk JSON log judged: which WARNING/ERROR lines are about our files.

A message is about one of our files when it names it (with or without a line), when it
comes from a module that reads it (``MODULES_OF``), or when the loader says one of those
modules (or one modules.conf names) declined. The rest are listed apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# Files the proof writes itself: where it lives, what it logs.
OWN_FILES = frozenset({"asterisk.conf", "logger.conf"})
# Which modules read each file: a message from their sources (the JSON log's
# "location.filename" as compiled: "res_pjsip/config_transport.c", "pbx_config.c") is about
# that file even when it names none, and so is the loader's word that one of them declined.
MODULES_OF: Mapping[str, tuple[str, ...]] = {
    "pjsip.conf": ("res_pjsip", "res_sorcery_config"),
    "extensions.conf": ("pbx_config", "pbx"),
    "queues.conf": ("app_queue",),
    "voicemail.conf": ("app_voicemail",),
    "musiconhold.conf": ("res_musiconhold",),
    "chan_dahdi.conf": ("chan_dahdi", "sig_pri", "sig_analog"),
    "res_fax.conf": ("res_fax",),
    # Not manager.c or http.c: they log every module's action registrations too.
}
_LINE_OF = re.compile(r"\bline (\d+) of '?([\w.\-/]+\.conf)'?")
_FILE_LINE = re.compile(r"'?([\w.\-/]+\.conf)'?[:, ]+line (\d+)")
_LINE_OF_NOTHING = re.compile(r"\bline (\d+) of\s*$")
_NAMED = re.compile(r"([\w.\-]+\.conf)\b")


@dataclass(frozen=True)
class OurFiles:
    """What makes a log line about our files: their names, the modules modules.conf names."""

    names: frozenset[str]
    modules: frozenset[str]

    @classmethod
    def of(cls, config_dir: Path, given: Sequence[str]) -> OurFiles:
        names = frozenset(PurePosixPath(g).name for g in given) - OWN_FILES
        modules: frozenset[str] = frozenset()
        if "modules.conf" in given:
            text = (config_dir / "modules.conf").read_text(errors="replace")
            modules = frozenset(re.findall(r"\b(\w+)\.so\b",
                                           re.sub(r"(?<!\\);.*", "", text)))
        return cls(names, modules)


def log_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


@dataclass(frozen=True)
class _Entry:
    level: str
    message: str
    source: str  # C source file that logged it
    thread: int


def _entries(path: Path) -> list[_Entry]:
    """The JSON log's lines (main/logger.c format_log_json); anything else is skipped."""
    entries = []
    for raw in log_text(path).splitlines():
        try:
            logmsg = json.loads(raw)["logmsg"]
            entries.append(_Entry(str(logmsg["level"]).upper(),
                                  " ".join(str(logmsg["message"]).split()),
                                  str(logmsg["location"]["filename"]),
                                  int(json.loads(raw)["identifiers"]["lwp"])))
        except (ValueError, KeyError, TypeError):
            continue
    return entries


def log_messages(path: Path, ours_by: OurFiles) -> tuple[list[str], list[str]]:
    """WARNING/ERROR lines of the proof's JSON log: (about our files, about the rest)."""
    ours: list[str] = []
    others: list[str] = []
    entries = _entries(path)
    for index, entry in enumerate(entries):
        if entry.level not in ("WARNING", "ERROR"):
            continue
        where = _where(entry.message, entry.source, ours_by)
        unnamed = _LINE_OF_NOTHING.search(entry.message)
        if where is None and unnamed:
            # Sorcery's option errors say "at line N of" and no file; the same thread
            # names the file right after ("... from configuration file 'pjsip.conf'").
            later = (_where(e.message, e.source, ours_by) for e in entries[index + 1:index + 8]
                     if e.thread == entry.thread)
            file = next((w for w in later if w), None)
            where = f"{file.split(':')[0]}:{unnamed.group(1)}" if file else None
        if where:
            ours.append(f"{where}: {entry.level}: {entry.message}")
        else:
            others.append(f"{entry.source}: {entry.level}: {entry.message}")
    return ours, others


def _where(message: str, source: str, ours: OurFiles) -> str | None:
    """``file:line`` (or ``file``) of ours a message is about, None when none of ours."""
    names = ours.names
    for pattern, file_group, line_group in ((_LINE_OF, 2, 1), (_FILE_LINE, 1, 2)):
        found = pattern.search(message)
        if found and PurePosixPath(found.group(file_group)).name in names:
            return f"{PurePosixPath(found.group(file_group)).name}:{found.group(line_group)}"
    named = {PurePosixPath(n).name for n in _NAMED.findall(message)}
    if named:
        # A message naming files is about those (sorcery also loads geolocation.conf...).
        return next((n for n in sorted(named) if n in names), None)
    module = _module_of(source)
    for name, modules in MODULES_OF.items():
        if name not in names:
            continue
        if module in modules or (module.startswith("res_pjsip") and "res_pjsip" in modules):
            return name
        if module == "loader" and any(re.search(rf"\b{m}\b", message)
                                      for m in modules if m != "pbx"):
            return name
    if (module == "loader" and "modules.conf" in names
            and any(re.search(rf"\b{re.escape(m)}(\.so)?\b", message) for m in ours.modules)):
        return "modules.conf"
    return None


def _module_of(source: str) -> str:
    """"res_pjsip/config_transport.c" → "res_pjsip"; "pbx_config.c" → "pbx_config"."""
    first = PurePosixPath(source).parts[0] if source else ""
    return first.removesuffix(".c")
