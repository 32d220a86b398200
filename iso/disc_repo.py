"""Repodata read straight from an image: the base DVD's BaseOS/AppStream and a built
DVD's ``/expand/repo``, extracted file by file with xorriso (nothing else is copied out)."""

from __future__ import annotations

from pathlib import Path

from appliance.runner import Runner
from iso import xorriso
from kickstart.scripts import PRODUCT_REPO_ON_DISC
from release.repo import load_base
from release.repodata import REPOMD, Fetch, Repodata, load_repodata
from release.repodata_xml import RepodataError


def image_fetch(runner: Runner, iso: Path, work: Path, what: str) -> Fetch:
    """A ``Fetch`` that copies one file of the image into ``work``; a file the image does
    not hold is one RepodataError naming it."""
    def fetch(path: str) -> Path:
        iso_path = "/" + path.lstrip("/")
        host = work / iso_path.lstrip("/")
        if host.is_file():
            return host
        if iso_path not in xorriso.report(runner, iso, [iso_path]).present:
            raise RepodataError(f"{what} {iso_path}: not on the disc")
        xorriso.extract(runner, iso, [(iso_path, host)])
        return host
    return fetch


def base_repodata(runner: Runner, iso: Path, work: Path) -> list[Repodata]:
    """BaseOS and AppStream of a vendor DVD (or of a built eXpand DVD, which keeps them)."""
    fetch = image_fetch(runner, iso, work / "base", "the base DVD")
    try:
        return load_base(fetch)
    except RepodataError as exc:
        if str(exc).endswith(f"{REPOMD}: not on the disc"):
            raise RepodataError(f"{exc} (a boot or minimal image? the eXpand DVD is built "
                                "from the full install DVD)") from None
        raise


def product_repodata(runner: Runner, iso: Path, work: Path) -> Repodata | None:
    """``/expand/repo`` of a built DVD; None when the disc has none."""
    repomd = f"{PRODUCT_REPO_ON_DISC}/{REPOMD}"
    if repomd not in xorriso.report(runner, iso, [repomd]).present:
        return None
    fetch = image_fetch(runner, iso, work / "product", "the DVD")
    return load_repodata(lambda rel: fetch(f"{PRODUCT_REPO_ON_DISC}/{rel}"),
                         f"the DVD {PRODUCT_REPO_ON_DISC}")
