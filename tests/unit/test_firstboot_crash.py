"""Crash safety: SIGKILL the apply right after each step in turn, rerun, same final tree."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest

from firstboot import paths
from firstboot.engine import KILL_AFTER_ENV
from firstboot.steps import default_steps
from tests.unit.firstboot_support import AUTHKEY, EXAMPLES, apply_cli, seed_root, tree

KILL_POINTS = [s.name for s in default_steps()] + ["report"]
ALWAYS_RERUN = {s.name for s in default_steps() if s.secret_inputs}


def final_tree(root: Path) -> dict[str, str]:
    """The tree with the report's statuses folded: a resumed step says "already-done"."""
    files = tree(root, skip=(paths.LOG,), mask=True)
    report: dict[str, Any] = json.loads(files[paths.REPORT].split("\n", 1)[1])
    for step in report["steps"]:
        step["status"] = "done" if step["status"] == "already-done" else step["status"]
    files[paths.REPORT] = json.dumps(report, sort_keys=True)
    return files


@pytest.fixture(scope="module", params=["rocky9", "debian12"])
def reference(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    platform: str = request.param
    root = seed_root(tmp_path_factory.mktemp("reference"), platform)
    proc = apply_cli(EXAMPLES / "primary.toml", root)
    assert proc.returncode == 0, proc.stderr
    return platform, final_tree(root)


@pytest.mark.parametrize("point", KILL_POINTS)
def test_killed_after_step_then_rerun_gives_the_same_tree(
        tmp_path: Path, reference: tuple[str, dict[str, str]], point: str) -> None:
    platform, expected = reference
    root = seed_root(tmp_path / "root", platform)
    killed = apply_cli(EXAMPLES / "primary.toml", root, env={KILL_AFTER_ENV: point})
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    journal = json.loads((root / paths.JOURNAL.lstrip("/")).read_text())
    done_before = journal["done"]
    assert done_before[-1] == (point if point != "report" else default_steps()[-1].name)
    assert (root / paths.SENTINEL.lstrip("/")).exists()  # not finished: still pending
    key_before = tree(root).get(AUTHKEY)

    rerun = apply_cli(EXAMPLES / "primary.toml", root)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    report = json.loads((root / paths.REPORT.lstrip("/")).read_text())
    statuses = {s["name"]: s["status"] for s in report["steps"]}
    for name in done_before:
        # Steps with secret inputs cannot be keyed by the journal: they always run again.
        assert statuses[name] == ("done" if name in ALWAYS_RERUN else "already-done")
    assert final_tree(root) == expected
    if key_before is not None:  # the cluster step ran: the rerun kept the key (and code)
        assert tree(root)[AUTHKEY] == key_before


def test_kill_hook_is_inert_without_the_variable(tmp_path: Path) -> None:
    root = seed_root(tmp_path / "root", "rocky9")
    proc = apply_cli(EXAMPLES / "primary.toml", root, env={KILL_AFTER_ENV: "no-such-step"})
    assert proc.returncode == 0
