"""Checks of the vendor DVD before anything is written: refuse early, say why."""

from __future__ import annotations

import configparser
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ExpandError
from appliance.readers import require_file, show_path
from appliance.runner import Runner
from iso import xorriso
from iso.checksum import implanted_md5, verify_md5

log = logging.getLogger("expand.iso")

RHEL_FAMILIES = ("Rocky Linux", "AlmaLinux", "Red Hat Enterprise Linux", "CentOS Stream",
                 "CentOS", "Oracle Linux", "EuroLinux", "Navy Linux")
# Where the Rocky/Alma 9 DVD keeps what the branded menus point at.
REQUIRED = ("/.treeinfo", "/.discinfo", "/isolinux/isolinux.cfg", "/isolinux/vmlinuz",
            "/isolinux/initrd.img", "/images/pxeboot/vmlinuz", "/images/pxeboot/initrd.img",
            "/EFI/BOOT/grub.cfg")
@dataclass(frozen=True)
class BaseDvd:
    path: Path
    volid: str
    size_bytes: int
    product: str  # e.g. "Rocky Linux 9.4"
    efiboot_path: str  # from the UEFI El Torito record, e.g. /images/efiboot.img
    system_area: str
    had_md5: bool


def check_base(runner: Runner, base: Path, *, verify_checksum: bool = True) -> BaseDvd:
    """Everything that must hold before remastering ``base``; raises ExpandError.

    ``verify_checksum`` reads the whole base with checkisomd5; ``iso build`` passes False
    on its default path, which checks the same sum while copying (iso.onepass).
    """
    if not require_file(base, what="base DVD"):  # missing, a folder, a loop: one line
        raise ExpandError(f"{show_path(base)}: base DVD is empty (an interrupted download?)")
    header = xorriso.read_volume_header(base)
    xorriso.check_not_truncated(base, header)
    info = xorriso.report(runner, base, REQUIRED)
    if not info.bios:
        raise ExpandError(f"{base}: no El Torito BIOS boot record: not an install DVD")
    if not info.uefi:
        raise ExpandError(f"{base}: no El Torito UEFI boot record (a BIOS-only image?); "
                          "the eXpand DVD must boot on UEFI servers too")
    efiboot = info.boot_path("UEFI")
    if not efiboot:
        raise ExpandError(f"{base}: the UEFI boot record names no image file")
    missing = [p for p in REQUIRED if p not in info.present]
    if missing:
        raise ExpandError(f"{base}: not a RHEL-family install DVD: missing {', '.join(missing)}")
    product = _check_tree_info(runner, base)
    had_md5 = implanted_md5(runner, base) is not None
    if had_md5 and verify_checksum:
        log.info("verifying the base's implanted checksum")
        if not verify_md5(runner, base):
            raise corrupt_base(base)
    return BaseDvd(base, header.volid, header.size_bytes, product, efiboot,
                   info.system_area, had_md5)


def corrupt_base(base: Path) -> ExpandError:
    """The one message for a base whose bytes fail its implanted checksum."""
    return ExpandError(f"{base}: corrupt: the implanted media checksum does not match "
                       "(download it again)")


def _check_tree_info(runner: Runner, base: Path) -> str:
    with tempfile.TemporaryDirectory(prefix="expand-base-") as tmp:
        tree, disc = Path(tmp) / "treeinfo", Path(tmp) / "discinfo"
        xorriso.extract(runner, base, [("/.treeinfo", tree), ("/.discinfo", disc)])
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(tree.read_text(errors="replace"))
        except configparser.Error as exc:
            raise ExpandError(f"{base}: /.treeinfo is unreadable: {exc}") from exc
        disc_lines = disc.read_text(errors="replace").splitlines()
    family = _field(parser, ("release", "name"), ("general", "family"))
    version = _field(parser, ("release", "version"), ("general", "version")) or "?"
    arch = _field(parser, ("tree", "arch"), ("general", "arch"))
    if not any(family.startswith(f) for f in RHEL_FAMILIES):
        raise ExpandError(f"{base}: /.treeinfo names {family or 'no product'!r}, not a "
                          f"RHEL-family release ({', '.join(RHEL_FAMILIES[:3])}, ...)")
    disc_arch = disc_lines[2].strip() if len(disc_lines) > 2 else ""
    if arch != "x86_64" or disc_arch not in ("", "x86_64"):
        raise ExpandError(f"{base}: architecture {arch or disc_arch!r}, not x86_64")
    return f"{family} {version}"


def _field(parser: configparser.ConfigParser, *where: tuple[str, str]) -> str:
    """The first of several places a .treeinfo key may be (productmd 1.x vs older)."""
    for section, key in where:
        value = parser.get(section, key, fallback="")
        if value:
            return value.strip()
    return ""


def needed_bytes(base: BaseDvd, extra_trees: list[Path], extra_bytes: int = 0) -> int:
    """Room OUT needs: the base, what is added, and slack for new directory records."""
    added = extra_bytes + sum(tree_size(t) for t in extra_trees)
    return base.size_bytes + added + 64 * 1024 * 1024


def tree_size(tree: Path) -> int:
    """Bytes of a file, or of all regular files below a folder."""
    if tree.is_file():
        return tree.stat().st_size
    total = 0
    for folder, _, files in os.walk(tree):
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink():
                total += path.stat().st_size
    return total
