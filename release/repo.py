"""The product repository of the DVD (``/expand/repo``): the folders of RPMs a release
engineer passes with ``iso build --repo DIR``, made one repository with createrepo_c, and
checked for closure against the base DVD's BaseOS/AppStream before anything is written.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ExpandError
from appliance.readers import is_directory, show_path
from appliance.runner import Runner
from kickstart.build import KickstartOptions, build_handler
from release.closure import Closure, ClosureFailed, check_closure
from release.repodata import Fetch, Repodata, load_repodata

BASE_REPOS = ("BaseOS", "AppStream")
RPM_LEAD = b"\xed\xab\xee\xdb"
MAX_RPMS = 20_000
DIGEST_BATCH = 500  # paths per rpm -K run (argv stays far below ARG_MAX)


@dataclass(frozen=True)
class ProductRepo:
    root: Path  # the finished folder: Packages/ and repodata/
    repodata: Repodata
    size_bytes: int


def kickstart_packages() -> tuple[list[str], list[str]]:
    """(packages, groups) the install kickstart's %packages names, read from the handler
    the DVD's kickstart is rendered from (so the two cannot drift apart)."""
    handler = build_handler(KickstartOptions())
    groups = [g.name for g in handler.packages.groupList]
    return list(handler.packages.packageList), groups


def collect_rpms(folders: Sequence[Path]) -> list[Path]:
    """Every binary RPM below the folders; one line naming the folder or file otherwise."""
    found: dict[str, Path] = {}
    for folder in folders:
        if not is_directory(folder):
            raise ExpandError(f"--repo {show_path(folder)}: not a folder")
        rpms = sorted(_rpms_below(folder))
        if not rpms:
            raise ExpandError(f"--repo {show_path(folder)}: no binary .rpm files in it")
        for rpm in rpms:
            _check_lead(rpm)
            other = found.setdefault(rpm.name, rpm)
            if other != rpm and not _same_file_content(other, rpm):
                raise ExpandError(f"--repo: {rpm.name} is in {show_path(other.parent)} and "
                                  f"{show_path(rpm.parent)} with different contents")
        if len(found) > MAX_RPMS:
            raise ExpandError(f"--repo {show_path(folder)}: more than {MAX_RPMS} RPMs")
    return sorted(found.values(), key=lambda p: p.name)


def _rpms_below(folder: Path) -> list[Path]:
    out = []
    for where, dirs, files in os.walk(folder):  # symlinked folders are not followed
        dirs[:] = sorted(d for d in dirs if d != "repodata")
        for name in files:
            path = Path(where, name)
            if name.endswith(".rpm") and not name.endswith(".src.rpm") and path.is_file():
                out.append(path)
    return out


def _check_lead(rpm: Path) -> None:
    try:
        with rpm.open("rb") as fh:
            lead = fh.read(4)
    except OSError as exc:
        raise ExpandError(f"{show_path(rpm)}: cannot read: {exc.strerror}") from None
    if lead != RPM_LEAD:
        raise ExpandError(f"{show_path(rpm)}: not an RPM package (no RPM lead)")


def _same_file_content(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as fa, b.open("rb") as fb:
        return all(x == y for x, y in zip(iter(lambda: fa.read(1 << 20), b""),
                                          iter(lambda: fb.read(1 << 20), b""), strict=False))


def check_digests(runner: Runner, rpms: Sequence[Path]) -> None:
    """``rpm -K``: a truncated or damaged download is refused here, not by dnf mid-install.
    (createrepo_c reads only the header, and exits 0 even on a package it cannot read.)"""
    for start in range(0, len(rpms), DIGEST_BATCH):
        batch = rpms[start:start + DIGEST_BATCH]
        if _digests_ok(runner, batch):
            continue
        bad = [show_path(r) for r in batch if not _digests_ok(runner, [r])]
        raise ExpandError(f"--repo: damaged RPM (its digests do not match, a truncated "
                          f"download?): {', '.join(bad[:5]) or show_path(batch[0])}")


def _digests_ok(runner: Runner, rpms: Sequence[Path]) -> bool:
    argv = ["rpm", "-K", "--nosignature", "--", *(str(r) for r in rpms)]
    return runner.run(argv, check=False, timeout=1800).returncode == 0


def build_product_repo(runner: Runner, folders: Sequence[Path], work: Path) -> ProductRepo:
    """``work``/Packages with every RPM (hard links where possible) and its repodata."""
    rpms = collect_rpms(folders)
    check_digests(runner, rpms)
    packages = work / "Packages"
    packages.mkdir(parents=True)
    for rpm in rpms:
        target = packages / rpm.name
        try:
            os.link(rpm, target)
        except OSError:  # another filesystem, or links not allowed
            shutil.copyfile(rpm, target)
        target.chmod(0o644)
    runner.run(["createrepo_c", "--quiet", "--no-database", str(work)], timeout=1800)
    repodata = load_repodata(lambda rel: work / rel, "the product repository")
    listed = {Path(p.location).name for p in repodata.packages}
    unread = [r.name for r in rpms if r.name not in listed]
    if unread:
        raise ExpandError(f"--repo: createrepo_c could not read {', '.join(unread[:5])} "
                          "(a damaged RPM?)")
    size = sum(p.stat().st_size for p in packages.iterdir())
    return ProductRepo(work, repodata, size)


def load_base(fetch: Fetch, label: str = "the base DVD") -> list[Repodata]:
    """BaseOS and AppStream of the vendor DVD; ``fetch`` maps a path on it to a local file."""
    return [load_repodata(_under(fetch, name), f"{label} /{name}") for name in BASE_REPOS]


def _under(fetch: Fetch, name: str) -> Callable[[str], Path]:
    return lambda rel: fetch(f"/{name}/{rel}")


def check_dvd(base: Sequence[Repodata], product: Repodata) -> Closure:
    packages, groups = kickstart_packages()
    return check_closure(base, [product], packages, groups)


def require_closure(base: Sequence[Repodata], product: Repodata) -> Closure:
    closure = check_dvd(base, product)
    if not closure.ok:
        raise ClosureFailed(closure)
    return closure
