"""``iso inspect``: what a built DVD really holds, read back from the image itself."""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from appliance.errors import ExpandError
from appliance.readers import ReadError, read_bytes, require_file, show_path
from appliance.runner import Runner
from iso import efiboot, xorriso
from iso.checksum import implanted_md5, verify_md5
from iso.disc_repo import base_repodata, product_repodata
from iso.menu import ParsedMenu, parse_grub, parse_isolinux
from kickstart.build import KS_INSTALL_PATH, KS_UPGRADE_PATH
from kickstart.checks import validate_text
from kickstart.scripts import ANSWERS_ON_DISC, PRODUCT_REPO_ON_DISC
from release.repo import check_dvd
from release.repodata_xml import RepodataError

GRUB_CFG = "/EFI/BOOT/grub.cfg"
MENU_SOURCES = ("isolinux", "grub", "efiboot-grub")


@dataclass(frozen=True)
class KickstartState:
    path: str
    present: bool
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RepoPackage:
    name: str
    version_release: str
    arch: str


@dataclass(frozen=True)
class Inspection:
    iso: str
    volid: str
    size_bytes: int
    bios_boot: str | None
    uefi_boot: str | None
    system_area: str
    hybrid_mbr: bool
    gpt: bool
    menus: dict[str, ParsedMenu]
    kickstarts: list[KickstartState]
    answers_on_disc: bool
    md5_implanted: str | None
    md5_ok: bool
    problems: list[str]
    product_repo: list[RepoPackage] | None = None  # None: no /expand/repo on the disc
    closure: dict[str, Any] | None = None  # Closure.as_dict(); None: not judged

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def inspect_iso(runner: Runner, iso: Path, *, verify: bool = True) -> Inspection:
    if not require_file(iso, what="image"):  # missing, a folder, a loop: one line
        raise ExpandError(f"{show_path(iso)}: image is empty")
    header = xorriso.read_volume_header(iso)
    xorriso.check_not_truncated(iso, header)
    first = xorriso.report(runner, iso)
    bios, uefi = first.boot_path("BIOS"), first.boot_path("UEFI")
    isolinux_cfg = str(PurePosixPath(bios).parent / "isolinux.cfg") if bios else None
    wanted = [p for p in (isolinux_cfg, GRUB_CFG, KS_INSTALL_PATH, KS_UPGRADE_PATH,
                          ANSWERS_ON_DISC) if p]
    present = xorriso.report(runner, iso, wanted).present
    problems: list[str] = []
    menus: dict[str, ParsedMenu] = {}
    kickstarts: list[KickstartState] = []
    with tempfile.TemporaryDirectory(prefix="expand-inspect-") as tmp:
        work = Path(tmp)
        pairs = [(p, work / p.lstrip("/")) for p in wanted if p in present]
        if uefi:
            pairs.append((uefi, work / "efiboot.img"))
        if pairs:
            xorriso.extract(runner, iso, pairs)
        if isolinux_cfg and isolinux_cfg in present:
            menus["isolinux"] = parse_isolinux(_text(work, isolinux_cfg))
        if GRUB_CFG in present:
            menus["grub"] = parse_grub(_text(work, GRUB_CFG))
        if uefi:
            try:
                cfg = efiboot.read_grub_cfg(runner, work / "efiboot.img")
                menus["efiboot-grub"] = parse_grub(cfg)
            except ExpandError as exc:
                problems.append(f"UEFI boot image {uefi}: {exc}")
        for path in (KS_INSTALL_PATH, KS_UPGRADE_PATH):
            if path not in present:
                kickstarts.append(KickstartState(path, False))
                problems.append(f"kickstart {path} is not on the disc")
                continue
            found = [str(r) for r in validate_text(_text(work, path), PurePosixPath(path).name)]
            kickstarts.append(KickstartState(path, True, found))
            problems += found
        product, closure = _repository(runner, iso, work / "repodata", problems)
    problems += _menu_problems(menus, header.volid, bios is not None, uefi is not None)
    md5 = implanted_md5(runner, iso)
    md5_ok = bool(md5) and verify and verify_md5(runner, iso)
    if md5 is None:
        problems.append("no media checksum implanted (implantisomd5)")
    elif verify and not md5_ok:
        problems.append("the implanted media checksum does not match the image")
    return Inspection(
        iso=str(iso), volid=header.volid, size_bytes=header.size_bytes,
        bios_boot=bios, uefi_boot=uefi, system_area=first.system_area,
        hybrid_mbr=first.mbr_partitions > 0, gpt=first.gpt, menus=menus,
        kickstarts=kickstarts, answers_on_disc=ANSWERS_ON_DISC in present,
        md5_implanted=md5, md5_ok=md5_ok, problems=problems, product_repo=product,
        closure=closure)


def _repository(runner: Runner, iso: Path, work: Path,
                problems: list[str]) -> tuple[list[RepoPackage] | None, dict[str, Any] | None]:
    """What /expand/repo holds and whether the kickstart can install from this disc."""
    try:
        product = product_repodata(runner, iso, work)
        if product is None:
            problems.append(f"no product repository {PRODUCT_REPO_ON_DISC} on the disc (built "
                            "with --no-repo?): the install stops in %pre")
            return None, None
        packages = [RepoPackage(p.name, p.version_release, p.arch)
                    for p in sorted(product.packages, key=lambda p: p.nevra)]
        closure = check_dvd(base_repodata(runner, iso, work), product)
    except RepodataError as exc:
        problems.append(str(exc))
        return None, None
    problems += [f"closure: {m}" for m in closure.missing]
    return packages, closure.as_dict()


def _text(work: Path, iso_path: str) -> str:
    """A menu or kickstart copied out of the image: at most 1 MiB (a disc is anybody's)."""
    try:
        data = read_bytes(work / iso_path.lstrip("/"), what=iso_path)
    except ReadError as exc:
        raise ExpandError(f"{iso_path} on the disc: {exc.reason}") from None
    return data.decode(errors="replace")


def _menu_problems(menus: dict[str, ParsedMenu], volid: str, bios: bool,
                   uefi: bool) -> list[str]:
    problems = []
    if not bios:
        problems.append("no El Torito BIOS boot record")
    if not uefi:
        problems.append("no El Torito UEFI boot record")
    for source in MENU_SOURCES:
        if source not in menus:
            problems.append(f"menu {source}: not found")
    labels = {source: m.labels for source, m in menus.items()}
    if len({tuple(v) for v in labels.values()}) > 1:
        problems.append("the menus differ: " + "; ".join(
            f"{s}: {', '.join(v)}" for s, v in labels.items()))
    for source, parsed in menus.items():
        for entry in parsed.entries:
            for arg in entry.args:
                if arg.startswith(("inst.ks=hd:LABEL=", "inst.stage2=hd:LABEL=")):
                    label = arg.split("LABEL=", 1)[1].split(":", 1)[0]
                    if label != volid:
                        problems.append(f"menu {source}: {entry.label!r} looks for the disc "
                                        f"labelled {label!r}, but this disc is {volid!r}")
    return problems
