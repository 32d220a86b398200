"""``iso build``: the vendor DVD in, the branded eXpand install DVD out.

Order matters for "nothing left behind": every check (answers, kickstarts, base DVD,
the product repository's closure, output folder) runs before the first byte of OUT is
written, and OUT appears only by a final rename of a finished, checksummed image.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from appliance.answers import load_answers
from appliance.answers_toml import dump_answers
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.readers import is_directory, show_path
from appliance.reports import ValidationFailed
from appliance.runner import Result, Runner
from appliance.volume_label import check_volume_label, label_problem
from iso import efiboot, menu, xorriso
from iso.base import BaseDvd, check_base, needed_bytes, tree_size
from iso.checksum import implant_md5
from iso.disc_repo import base_repodata
from iso.onepass import append_session
from iso.output import check_output_folder, staged_output
from iso.progress import Progress, ProgressCallback, no_progress
from iso.remaster import Mapping, rewrite_image, run_watching
from kickstart.build import (
    KS_INSTALL_PATH,
    KS_UPGRADE_PATH,
    KickstartOptions,
    render_install,
    render_upgrade,
)
from kickstart.checks import validate_text
from kickstart.scripts import ANSWERS_ON_DISC, PRODUCT_REPO_ON_DISC
from release.closure import Closure
from release.repo import ProductRepo, build_product_repo, require_closure

log = logging.getLogger("expand.iso")

VERSION_RE = re.compile(r"^\d+(\.\d+){0,3}$")
ADD_ROOT = "/expand"  # --add DIR lands at /expand/<name of DIR> unless told otherwise
PRODUCT_DISC_PATH = PurePosixPath(PRODUCT_REPO_ON_DISC)


@dataclass(frozen=True)
class AddTree:
    host: Path
    iso_path: str

    @classmethod
    def parse(cls, spec: str) -> AddTree:
        """``DIR`` or ``DIR:/path/on/disc``."""
        host, sep, dest = spec.partition(":")
        path = Path(host)
        if not path.is_dir():
            raise ExpandError(f"--add {spec}: {host} is not a folder")
        iso_path = dest if sep else f"{ADD_ROOT}/{path.resolve().name}"
        pure = PurePosixPath(iso_path)
        if not pure.is_absolute() or ".." in pure.parts or str(pure) == "/":
            raise ExpandError(f"--add {spec}: the place on the disc must be an absolute "
                              "folder path such as /expand/repo")
        return cls(path, str(pure))


@dataclass(frozen=True)
class BuildOptions:
    base: Path
    out: Path
    version: str = "3.2"
    previous: str = "3.1"
    volid: str | None = None
    add: tuple[AddTree, ...] = ()
    answers: Path | None = None
    timeout_s: int = menu.DEFAULT_TIMEOUT_S
    verify_base: bool = True
    rewrite: bool = False  # compact single-session image instead of copy + appended session
    repos: tuple[Path, ...] = ()  # folders of RPMs: /expand/repo, checked for closure
    no_repo: bool = False  # a menu-only test disc: the install stops in %pre


@dataclass(frozen=True)
class BuildResult:
    out: Path
    volid: str
    base_product: str
    size_bytes: int
    menu_title: str
    entries: list[str]
    kickstarts: list[str]
    added: list[str] = field(default_factory=list)
    product_packages: list[str] = field(default_factory=list)  # NEVRAs in /expand/repo
    closure_checked: int = 0  # requirements found provided (0: --no-repo)
    answers_on_disc: str | None = None
    remaster_s: float = 0.0
    total_s: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in self.__dict__.items()}


def build_iso(opts: BuildOptions, runner: Runner,
              progress: ProgressCallback = no_progress) -> BuildResult:
    start = time.monotonic()
    for name, value in (("--version", opts.version), ("--previous", opts.previous)):
        if not VERSION_RE.match(value):
            raise ExpandError(f"{name} {value!r} is not a version such as 3.2")
    timeout = menu.timeout_problem(opts.timeout_s)
    if timeout:
        raise ExpandError(f"--menu-timeout {timeout}")
    answers_text = _answers_text(opts.answers)
    if opts.volid is not None:
        check_volume_label(opts.volid, "--volid")
    if os.path.realpath(opts.out) == os.path.realpath(opts.base):  # no raise on a loop
        raise ExpandError("--out must differ from --base (the base is read while writing)")
    _check_repo_options(opts)
    progress(Progress("checking the base DVD"))
    base = check_base(runner, opts.base, verify_checksum=opts.verify_base and opts.rewrite)
    volid = base.volid if opts.volid is None else opts.volid
    problem = label_problem(volid)
    if problem:  # only the base's own label can get here: --volid was checked above
        raise ExpandError(f"{opts.base}: volume label {volid!r} {problem}; "
                          "give the new disc one with --volid LABEL")
    spec = menu.MenuSpec(volid, opts.version, opts.previous, _abs(KS_INSTALL_PATH),
                         _abs(KS_UPGRADE_PATH), opts.timeout_s)
    with tempfile.TemporaryDirectory(prefix="expand-iso-build-") as tmp:
        product, closure = _product_repo(runner, opts, base, Path(tmp), progress)
        check_output_folder(opts.out, needed_bytes(base, [a.host for a in opts.add],
                                                   product.size_bytes if product else 0))
        maps = _prepare(runner, base, spec, answers_text, Path(tmp))
        maps += [Mapping(a.host, a.iso_path) for a in opts.add]
        if product is not None:
            maps.append(Mapping(product.root, PRODUCT_REPO_ON_DISC))
        with staged_output(opts.out) as partial:
            expected = base.size_bytes + sum(tree_size(m.host) for m in maps)
            if opts.rewrite:
                seconds = rewrite_image(runner, base.path, partial, volid, maps, expected,
                                        progress)
                run_watching(lambda: _implant(runner, partial), partial, 0,
                             "implanting the media checksum", progress)
            else:  # one pass: copy, the base's checksum checked, the output's implanted
                seconds = append_session(runner, base, partial, volid, maps, expected,
                                         progress, verify=opts.verify_base)
            size = partial.stat().st_size
    return BuildResult(
        out=opts.out, volid=volid, base_product=base.product, size_bytes=size,
        menu_title=spec.title, entries=[e.label for e in menu.entries(spec)],
        kickstarts=[spec.ks_install, spec.ks_upgrade], added=[a.iso_path for a in opts.add],
        answers_on_disc=ANSWERS_ON_DISC if answers_text else None,
        product_packages=[p.nevra for p in product.repodata.packages] if product else [],
        closure_checked=closure.checked if closure else 0,
        remaster_s=round(seconds, 2), total_s=round(time.monotonic() - start, 2))


def _check_repo_options(opts: BuildOptions) -> None:
    if opts.repos and opts.no_repo:
        raise ExpandError("--repo and --no-repo exclude each other")
    for folder in opts.repos:  # before the base's checksum check, which takes a while
        if not is_directory(folder):
            raise ExpandError(f"--repo {show_path(folder)}: not a folder")
    for add in opts.add:
        pure = PurePosixPath(add.iso_path)
        if pure == PRODUCT_DISC_PATH or PRODUCT_DISC_PATH in pure.parents:
            raise ExpandError(f"--add {add.host}:{add.iso_path}: {PRODUCT_REPO_ON_DISC} is "
                              "made by --repo DIR (checked for closure), not by --add")


def _product_repo(runner: Runner, opts: BuildOptions, base: BaseDvd, work: Path,
                  progress: ProgressCallback) -> tuple[ProductRepo | None, Closure | None]:
    """The checked product repository in ``work``, or a refusal before anything is written."""
    if opts.no_repo:
        log.warning("--no-repo: a menu-only test disc; its install stops in %%pre (no "
                    "%s on the disc)", PRODUCT_REPO_ON_DISC)
        return None, None
    if not opts.repos:
        raise ExpandError("no product repository: give --repo DIR (the folder of "
                          "expand-appliance-*.rpm from 'expandctl release build', and the "
                          "HighAvailability, DRBD and Asterisk RPMs), or --no-repo for a "
                          "menu-only test disc")
    progress(Progress("building the product repository (createrepo_c)"))
    product = build_product_repo(runner, opts.repos, work / "product-repo")
    progress(Progress("checking the package closure against the base DVD"))
    base_repos = base_repodata(runner, base.path, work / "base-repodata")
    return product, require_closure(base_repos, product.repodata)


def _implant(runner: Runner, iso: Path) -> Result:
    implant_md5(runner, iso)
    return Result((), 0, "", "")


def _abs(path: str) -> str:
    return "/" + path.lstrip("/")


def _answers_text(path: Path | None) -> str | None:
    """The answers file as it goes on the disc: validated, secrets left out."""
    if path is None:
        return None
    answers = load_answers(path)  # ValidationFailed lists every problem
    if answers.secrets():
        log.warning("%s holds passwords or keys: they are left out of the disc; the "
                    "first-boot wizard asks for them", path)
    return dump_answers(answers, header=[
        f"eXpand answers from {path.name}, pre-filled by the first-boot wizard.",
        "Passwords and keys are never stored on the disc."])


def _prepare(runner: Runner, base: BaseDvd, spec: menu.MenuSpec, answers_text: str | None,
             work: Path) -> list[Mapping]:
    """Kickstarts, menus, the edited UEFI boot image and answers, as files to map in."""
    sink = FileSink(work)
    ks_opts = KickstartOptions(volid=spec.volid, version=spec.version,
                               previous=spec.previous, answers_on_media=answers_text is not None)
    kickstarts = {spec.ks_install: render_install(ks_opts),
                  spec.ks_upgrade: render_upgrade(ks_opts)}
    reports = []
    for iso_path, text in kickstarts.items():
        reports += validate_text(text, PurePosixPath(iso_path).name)
    if reports:
        raise ValidationFailed(reports)
    maps = []
    for iso_path, text in kickstarts.items():
        sink.write(f"/ks{iso_path}", text)
        maps.append(Mapping(sink.target(f"/ks{iso_path}"), iso_path))
    sink.write("/isolinux.cfg", menu.render_isolinux(spec))
    sink.write("/grub.cfg", menu.render_grub(spec))
    maps.append(Mapping(work / "isolinux.cfg", "/isolinux/isolinux.cfg"))
    maps.append(Mapping(work / "grub.cfg", "/EFI/BOOT/grub.cfg"))
    efiboot_img = work / "efiboot.img"
    xorriso.extract(runner, base.path, [(base.efiboot_path, efiboot_img)])
    efiboot.read_grub_cfg(runner, efiboot_img)  # refuse an image without one, clearly
    efiboot.write_grub_cfg(runner, efiboot_img, work / "grub.cfg")
    maps.append(Mapping(efiboot_img, base.efiboot_path))
    if answers_text is not None:
        sink.write("/answers.toml", answers_text)
        maps.append(Mapping(work / "answers.toml", ANSWERS_ON_DISC))
    for m in maps:
        os.chmod(m.host, 0o644)
    return maps
