"""How the wheelhouse is filled and read (command construction; the real pip runs in
tests/integration/test_release_install.py and 'make wheelhouse')."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from appliance.errors import ExpandError
from appliance.runner import RecordingRunner, Result
from release import wheelhouse
from release.build import REPO

pytestmark = pytest.mark.unit


def _seed(folder: Path) -> None:
    with zipfile.ZipFile(folder / "jinja2-3.1.6-py3-none-any.whl", "w") as archive:
        archive.writestr("jinja2-3.1.6.dist-info/METADATA", "Metadata-Version: 2.1\n")


def test_fill_downloads_for_the_appliance_and_builds_the_sdists(tmp_path: Path) -> None:
    out = tmp_path / "cache"
    out.mkdir()
    _seed(out)  # the recording runner downloads nothing
    offline = (*wheelhouse.pip_argv(), "download", "--isolated", "--no-index")
    missing = Result((), 1, "", "ERROR: No matching distribution found for pip\n")
    runner = RecordingRunner(answers={offline: missing})
    wheels = wheelhouse.fill(out, REPO, runner, lambda line: None)
    assert [w.name for w in wheels] == ["jinja2"]
    check, build, download = runner.calls
    assert check[:len(offline)] == offline  # first: does the cache already resolve?
    assert build[3:5] == ("wheel", "-q") and "--no-deps" in build
    assert sorted(a.split(">")[0] for a in build[-2:]) == ["pykickstart", "pythondialog"]
    assert download[3] == "download"
    for option in ("--only-binary=:all:", "--implementation", "--python-version", "3.11",
                   "manylinux_2_34_x86_64", "manylinux2014_x86_64"):
        assert option in download
    assert "manylinux_2_35_x86_64" not in download
    _, _, deps = wheelhouse.project(REPO)
    assert set(deps) | {"pip", "setuptools>=70.1"} <= set(download)


def test_a_complete_cache_is_not_downloaded_again(tmp_path: Path) -> None:
    _seed(tmp_path)
    runner, said = RecordingRunner(), list[str]()
    wheelhouse.fill(tmp_path, REPO, runner, said.append)
    (offline,) = runner.calls  # the offline resolution succeeded: no pip wheel, no download
    assert "--no-index" in offline
    assert said == [f"{tmp_path} already holds every wheel a release build needs; "
                    "nothing downloaded"]


def test_offline_pip_names_the_missing_distribution(tmp_path: Path) -> None:
    stderr = ("ERROR: Could not find a version that satisfies the requirement psutil<8,>=5.9 "
              "(from expand-appliance) (from versions: none)\n"
              "ERROR: No matching distribution found for psutil<8,>=5.9\n")
    runner = RecordingRunner(answers={(): Result((), 1, "", stderr)})
    with pytest.raises(ExpandError) as raised:
        wheelhouse.closure(tmp_path / "t.whl", tmp_path, tmp_path, runner)
    assert str(raised.value) == (f"--wheels {tmp_path}: no fitting wheel of psutil<8,>=5.9 "
                                 "for the package")
    (argv,) = runner.calls
    assert argv[3:7] == ("download", "--isolated", "--no-index", "--find-links")
