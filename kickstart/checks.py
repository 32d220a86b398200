"""Kickstart checks: pykickstart's RHEL 9 syntax, plus what syntax cannot see.

pykickstart (and ``ksvalidator``) accept a RAID whose member partition is never defined, a
mount point used twice, or a layout without an EFI system partition; anaconda then fails
mid-install, or the box does not boot under UEFI. Our kickstart's partitioning comes from a
``%pre`` at install time, so its ``%include`` is replaced by the layouts that this toolkit's
``kickstart/disks.py`` writes for one and two disks, BIOS and UEFI, and each is checked.
The embedded ``%pre`` is never executed: validating a file must not run code from it.
"""

from __future__ import annotations

import re
import shlex
import sys
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pykickstart.constants import KS_SCRIPT_PRE
from pykickstart.errors import KickstartError, KickstartParseWarning
from pykickstart.parser import KickstartParser
from pykickstart.version import RHEL9, makeVersion

from appliance.errors import ExpandError
from appliance.readers import read_stream, read_text, show_path, shown
from appliance.reports import Report
from kickstart import disks
from kickstart.build import INCLUDE_LINE

GIB = 1024
_PRE_MODE = re.compile(r"""sys\.exit\(main\(\["--mode", ['"](install|upgrade)['"]\]\)\)""")
_NOT_MOUNTS = ("swap", "none", "biosboot", "prepboot", "appleboot")
_MEMBER_PREFIXES = ("raid.", "pv.", "btrfs.")


class _CollectingParser(KickstartParser):  # type: ignore[misc]
    """Keeps parsing after a bad command and remembers every error with its line."""

    def __init__(self, handler: Any) -> None:
        super().__init__(handler, followIncludes=False, errorsAreFatal=False)
        self.problems: list[KickstartError] = []

    def _tryFunc(self, fn: Callable[[], Any]) -> None:
        try:
            fn()
        except KickstartError as exc:
            self.problems.append(exc)


def _line_report(source: str, lineno: int | None, message: str) -> Report:
    # "FILE:LINE: message" (the Report key stays empty so the line sits next to the file).
    where = f"{source}:{lineno}" if lineno else source
    return Report(where, "", message)


def _unsplittable_line(text: str) -> int | None:
    for lineno, line in enumerate(text.splitlines(), start=1):
        try:
            shlex.split(line, comments=True)
        except ValueError:
            return lineno
    return None


def parse_reports(text: str, source: str) -> tuple[Any | None, list[Report]]:
    """Parse with the RHEL 9 handler; syntax errors and parser warnings become reports."""
    handler = makeVersion(RHEL9)
    parser = _CollectingParser(handler)
    reports: list[Report] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parser.readKickstartFromString(text)
        except KickstartError as fatal:
            parser.problems.append(fatal)
        except ValueError as exc:  # shlex: "No closing quotation" ends pykickstart's parse
            lineno = _unsplittable_line(text)
            line = text.splitlines()[lineno - 1] if lineno else ""
            return None, [_line_report(source, lineno, f"{str(exc).lower()} in "
                                                       f"{shown(line.strip())}")]
        except (IndexError, KeyError, TypeError, AttributeError) as exc:
            # pykickstart trips on some malformed lines (e.g. one that is just '') instead
            # of reporting them: name the line it was on, not a traceback.
            line = str(getattr(parser, "_line", "")).strip()
            return None, [Report(source, "", f"cannot parse the line {shown(line)} "
                                             f"({type(exc).__name__} in pykickstart)")]
    for problem in parser.problems:
        message = " ".join(str(problem.message).split())
        reports.append(_line_report(source, problem.lineno, message))
    for warning in caught:
        if not issubclass(warning.category, KickstartParseWarning):
            continue
        message = str(warning.message)
        # One BIOS boot partition per disk is intended (each disk must boot alone).
        if "mountpoint biosboot has already been defined" in message:
            continue
        reports.append(Report(source, "", message))
    return (handler if not parser.problems else None), reports


def _mounts(handler: Any) -> Iterable[tuple[str, int | None, Any]]:
    """Every mount-carrying command, in file order."""
    found = [(kind, data.lineno, data) for kind in ("partition", "raid", "logvol", "btrfs")
             for data in getattr(handler, kind).dataList()]
    return sorted(found, key=lambda item: item[1] or 0)


def layout_reports(handler: Any, source: str, key: str = "",
                   firmware: str | None = None) -> list[Report]:
    """Partitioning problems syntax does not catch. ``firmware``: "uefi", "bios" or None."""
    def report(lineno: int | None, message: str) -> Report:
        return Report(source, key, message) if key else _line_report(source, lineno, message)

    out: list[Report] = []
    parts = handler.partition.dataList()
    raids = handler.raid.dataList()
    defined = {p.mountpoint for p in parts if p.mountpoint.startswith(_MEMBER_PREFIXES)}
    seen: dict[str, int | None] = {}
    for _kind, lineno, data in _mounts(handler):
        mount = data.mountpoint
        if not mount or mount in _NOT_MOUNTS or mount.startswith(_MEMBER_PREFIXES):
            continue
        if mount in seen:
            out.append(report(lineno, f"mount point {mount} is used twice "
                                      f"(first at line {seen[mount]})"))
        else:
            seen[mount] = lineno
    for raid in raids:
        if raid.preexist:
            continue
        for member in raid.members:
            if member not in defined:
                out.append(report(raid.lineno, f"raid {raid.mountpoint}: member {member} is "
                                               f"not defined by any 'part {member}'"))
        level = str(raid.level).upper().replace("RAID", "")
        if level == "1" and len(raid.members) < 2:
            out.append(report(raid.lineno, f"raid {raid.mountpoint}: RAID1 needs 2 members, "
                                           f"has {len(raid.members)}"))
    only_use = set(handler.ignoredisk.onlyuse)
    for part in parts:
        if part.disk and only_use and part.disk not in only_use:
            out.append(report(part.lineno, f"part {part.mountpoint} --ondisk={part.disk}: "
                                           "disk not in 'ignoredisk --only-use'"))
    if not parts and not raids and not handler.autopart.autopart \
            and not handler.mount.dataList():
        return [*out, report(None, "no partitioning: no part/raid/autopart/mount command")]
    esps = [p for p in parts if p.mountpoint.startswith("/boot/efi")
            and (p.fstype == "efi" or p.onPart)]
    if firmware != "bios" and not any(p.mountpoint == "/boot/efi" for p in esps):
        out.append(report(None, "no EFI system partition (part /boot/efi --fstype=efi): "
                                "the disc boots UEFI machines, which need one"))
    if firmware == "uefi":
        disks_used = {p.disk for p in parts if p.disk}
        for disk in sorted(disks_used - {p.disk for p in esps}):
            out.append(report(None, f"disk {disk} has no EFI system partition: it cannot "
                                    "boot alone when the other disk fails"))
    if firmware == "bios" and handler.clearpart.disklabel == "gpt":
        boot_disks = {p.disk for p in parts if p.mountpoint == "biosboot"}
        for disk in sorted({p.disk for p in parts if p.disk} - boot_disks):
            out.append(report(None, f"disk {disk} has no BIOS boot partition (GPT + BIOS)"))
    return out


def pre_mode(handler: Any) -> str | None:
    """Which of our layouts the kickstart's %pre writes: "install", "upgrade" or None."""
    for script in handler.scripts:
        if script.type == KS_SCRIPT_PRE:
            found = _PRE_MODE.search(script.script)
            if found and disks.INCLUDE_PATH in script.script:
                return found.group(1)
    return None


def scenarios(mode: str) -> list[tuple[str, str, str]]:
    """(name, firmware, include text) for each case the %pre handles."""
    out = []
    for firmware in ("bios", "uefi"):
        if mode == "install":
            for count in (1, 2):
                found = [disks.Disk(f"sd{chr(97 + i)}", 500 * GIB * 1024) for i in range(count)]
                layout = disks.choose_layout(found, [], firmware == "uefi", 32 * GIB)
                out.append((f"{count} disk(s), {firmware}", firmware,
                            disks.install_include(layout)))
        else:
            for probe in (_BLKID_MIRRORED, _BLKID_PLAIN):
                text, mirrored = disks.upgrade_include(disks.parse_blkid(probe),
                                                       firmware == "uefi")
                name = "mirrored" if mirrored else "single disk"
                out.append((f"upgrade of {name}, {firmware}", firmware, text))
    return out


_BLKID_MIRRORED = """DEVNAME=/dev/sda4\nLABEL=box:data\nTYPE=linux_raid_member\n
DEVNAME=/dev/sda1\nLABEL=EXPAND-ESP1\nTYPE=vfat\n\nDEVNAME=/dev/sdb1\nLABEL=EXPAND-ESP2\nTYPE=vfat\n"""
_BLKID_PLAIN = """DEVNAME=/dev/sda5\nLABEL=expand-data\nTYPE=xfs\n
DEVNAME=/dev/sda1\nLABEL=EXPAND-ESP1\nTYPE=vfat\n"""


def validate_text(text: str, source: str) -> list[Report]:
    handler, reports = parse_reports(text, source)
    if handler is None:
        return reports
    mode = pre_mode(handler) if INCLUDE_LINE in text else None
    if mode is None:
        if INCLUDE_LINE in text:
            reports.append(Report(source, "", f"{INCLUDE_LINE.strip()} but no eXpand %pre "
                                              "writes it: partitioning cannot be checked"))
        return reports + layout_reports(handler, source)
    for name, firmware, include in scenarios(mode):
        combined, problems = parse_reports(text.replace(INCLUDE_LINE, include, 1), source)
        key = f"layout [{name}]"
        reports += [Report(source, key, r.message) for r in problems]
        if combined is not None:
            reports += layout_reports(combined, source, key, firmware)
    return reports


def validate_file(path: str | Path) -> list[Report]:
    """Validate a file, or standard input for "-" (both at most 1 MiB of UTF-8 text)."""
    if str(path) == "-":
        stdin = getattr(sys.stdin, "buffer", None)
        if stdin is None:
            raise ExpandError("-: cannot read kickstart: standard input is closed")
        return validate_text(read_stream(stdin, "-", what="kickstart"), "-")
    return validate_text(read_text(path, what="kickstart"), show_path(path))
