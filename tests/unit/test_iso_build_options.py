"""Options of iso build that are refused before any tool runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from appliance.errors import ExpandError
from appliance.runner import RecordingRunner
from iso.build import AddTree, BuildOptions, build_iso


def test_add_goes_under_expand_by_default(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    assert AddTree.parse(str(repo)) == AddTree(repo, "/expand/repo")
    assert AddTree.parse(f"{repo}:/extra/pkgs").iso_path == "/extra/pkgs"


@pytest.mark.parametrize("dest", ["relative", "/", "/a/../b"])
def test_add_rejects_odd_places(tmp_path: Path, dest: str) -> None:
    with pytest.raises(ExpandError, match="absolute folder path"):
        AddTree.parse(f"{tmp_path}:{dest}")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("version", "three", "--version 'three'"), ("previous", "3.1 beta", "--previous"),
    ("volid", "eXpand 3.2", "contains spaces")])
def test_bad_options_refused_before_any_command(tmp_path: Path, field: str, value: str,
                                                message: str) -> None:
    runner = RecordingRunner()
    changes: dict[str, Any] = {field: value}
    opts = dataclasses.replace(BuildOptions(tmp_path / "base.iso", tmp_path / "out.iso"),
                               **changes)
    with pytest.raises(ExpandError, match=message):
        build_iso(opts, runner)
    assert runner.calls == []


def test_out_must_not_be_the_base(tmp_path: Path) -> None:
    with pytest.raises(ExpandError, match="must differ"):
        build_iso(BuildOptions(tmp_path / "a.iso", tmp_path / "a.iso"), RecordingRunner())
