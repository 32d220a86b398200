"""Repodata read straight from an image: the base DVD's BaseOS/AppStream and a built
DVD's ``/expand/repo``. One xorriso run copies the ``repodata/`` folders out (a process
per file costs seconds on a 10 GB DVD); nothing else is extracted."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from appliance.runner import Runner
from iso import xorriso
from kickstart.scripts import PRODUCT_REPO_ON_DISC
from release.repo import BASE_REPOS, load_base
from release.repodata import REPOMD, Fetch, Repodata, load_repodata
from release.repodata_xml import RepodataError


def image_repodata(runner: Runner, iso: Path, work: Path, folders: Sequence[str],
                   what: str) -> Fetch:
    """Copy ``FOLDER/repodata`` of each of ``folders`` out of the image into ``work``; the
    ``Fetch`` returned reads them there (a file the image lacks: one line naming it)."""
    wanted = [f"{folder}/repodata" for folder in folders]
    present = xorriso.report(runner, iso, wanted).present
    argv = ["xorriso", "-osirrox", "on", "-indev", str(iso)]
    for iso_path in (w for w in wanted if w in present):
        argv += ["-extract", iso_path, str(work / iso_path.lstrip("/"))]
    if len(argv) > 5:
        work.mkdir(parents=True, exist_ok=True)
        runner.run(argv, timeout=600)
    root = os.path.realpath(work)

    def fetch(path: str) -> Path:
        host = work / path.lstrip("/")
        # A symlink on the disc (Rock Ridge) must not make us read the host's files.
        inside = os.path.realpath(host).startswith(root + os.sep)
        if not inside or host.is_symlink() or not host.is_file():
            raise RepodataError(f"{what} /{path.lstrip('/')}: not on the disc")
        return host
    return fetch


def base_repodata(runner: Runner, iso: Path, work: Path) -> list[Repodata]:
    """BaseOS and AppStream of a vendor DVD (or of a built eXpand DVD, which keeps them)."""
    fetch = image_repodata(runner, iso, work / "base", [f"/{r}" for r in BASE_REPOS],
                           "the base DVD")
    try:
        return load_base(fetch)
    except RepodataError as exc:
        if str(exc).endswith(f"{REPOMD}: not on the disc"):
            raise RepodataError(f"{exc} (a boot or minimal image? the eXpand DVD is built "
                                "from the full install DVD)") from None
        raise


def product_repodata(runner: Runner, iso: Path, work: Path) -> Repodata | None:
    """``/expand/repo`` of a built DVD; None when the disc has none."""
    fetch = image_repodata(runner, iso, work / "product", [PRODUCT_REPO_ON_DISC], "the DVD")
    repomd = f"{PRODUCT_REPO_ON_DISC}/{REPOMD}"
    try:
        fetch(repomd)
    except RepodataError:
        return None
    return load_repodata(lambda rel: fetch(f"{PRODUCT_REPO_ON_DISC}/{rel}"),
                         f"the DVD {PRODUCT_REPO_ON_DISC}")
