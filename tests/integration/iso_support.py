"""Shared helpers of the iso integration tests: ISO fixtures' builders."""

from __future__ import annotations

from pathlib import Path

from appliance.runner import Runner
from iso.build import AddTree, BuildOptions, build_iso
from iso.demo_base import build_demo_base
from tests.support import HEAVY_LOCK, heavy_lock

__all__ = ["HEAVY_LOCK", "build_demo_and_branded", "heavy_lock"]

def build_demo_and_branded(folder: Path, answers: Path | None = None,
                           add: Path | None = None) -> tuple[Path, Path]:
    """The demo base and the branded ISO built from it (a few seconds with a warm cache)."""
    runner = Runner()
    base = build_demo_base(folder / "base.iso", runner)
    adds = (AddTree.parse(str(add)),) if add else ()
    out = folder / "expand.iso"
    build_iso(BuildOptions(base, out, answers=answers, add=adds), runner)
    return base, out
