"""Shared helpers of the iso integration tests: ISO fixtures' builders."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from appliance.runner import Runner
from iso import demo_repo
from iso.build import AddTree, BuildOptions, build_iso
from iso.demo_base import build_demo_base
from iso.demo_kernel import DEFAULT_CACHE
from tests.support import HEAVY_LOCK, heavy_lock

__all__ = ["HEAVY_LOCK", "build_demo_and_branded", "demo_repos", "heavy_lock",
           "product_standin"]

PRODUCT = demo_repo.StandIn("expand-appliance", "3.2.0", "1",
                            requires=demo_repo.PRODUCT_REQUIRES)


def product_standin(folder: Path, package: demo_repo.StandIn = PRODUCT) -> Path:
    """``folder`` holding a stand-in of the product package (what release build makes)."""
    demo_repo.build_rpms(Runner(), [package], folder)
    return folder


def demo_repos(folder: Path) -> list[Path]:
    """Every --repo folder the demo DVD needs: the stand-in product package and the DEMO
    vendor folders (HighAvailability, ELRepo-DRBD, Asterisk)."""
    runner = Runner()
    vendor = demo_repo.write_vendor_folders(runner, folder / "vendor", DEFAULT_CACHE)
    return [product_standin(folder / "dist"), *vendor]


def build_demo_and_branded(folder: Path, answers: Path | None = None,
                           add: Path | None = None,
                           repos: Sequence[Path] | None = None) -> tuple[Path, Path]:
    """The demo base and the branded ISO built from it (a few seconds with a warm cache),
    with the full demo repository unless ``repos`` says otherwise."""
    runner = Runner()
    base = build_demo_base(folder / "base.iso", runner)
    adds = (AddTree.parse(str(add)),) if add else ()
    out = folder / "expand.iso"
    chosen = tuple(demo_repos(folder) if repos is None else repos)
    build_iso(BuildOptions(base, out, answers=answers, add=adds, repos=chosen), runner)
    return base, out


@contextlib.contextmanager
def tmpfs(folder: Path, options: str) -> Iterator[Path]:
    """``folder`` as a tmpfs mounted with ``options`` (size=..., ro) for the block."""
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "expand-test", str(folder)],
                   check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)
