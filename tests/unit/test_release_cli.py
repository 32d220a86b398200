"""``expandctl release``: --help teaches; bad input gets one line naming the argument or the
wheel, exit 1, nothing written (each case the real CLI, forked)."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.cli_fork import ForkCase, run_forked, tree_state

pytestmark = pytest.mark.unit

GOOD = "jinja2-3.1.6-py3-none-any.whl"


def _wheel(folder: Path, filename: str, *, metadata: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / filename, "w") as archive:
        name = filename.split("-")[0]
        archive.writestr(f"{name}-1.0.dist-info/{'METADATA' if metadata else 'RECORD'}",
                         "Metadata-Version: 2.1\n")


def _binary(folder: Path) -> None:
    folder.mkdir()
    (folder / GOOD).write_bytes(os.urandom(4096))


def _huge(folder: Path) -> None:
    folder.mkdir()
    with open(folder / GOOD, "wb") as fh:
        fh.truncate(256 * 1024**2)  # sparse: 256 MiB of zeros


def _nested(folder: Path) -> None:
    deep = folder.joinpath(*["d"] * 200)  # wheels are looked for at the top only
    deep.mkdir(parents=True)
    _wheel(deep, GOOD)


def _directory(folder: Path) -> None:
    (folder / GOOD).mkdir(parents=True)


# (name, how to make --wheels DIR in the case folder, words the one line must hold)
WHEELHOUSES: list[tuple[str, Callable[[Path], object], str]] = [
    ("missing", lambda d: None, "folder not found"),
    ("a file", lambda d: d.write_text("x"), "not a folder"),
    ("empty", lambda d: d.mkdir(), "holds no wheel"),
    ("binary .whl", _binary, "not a zip archive"),
    ("huge .whl", _huge, "not a zip archive"),
    ("a folder named .whl", _directory, "not a zip archive"),
    ("deeply nested", _nested, "holds no wheel"),
    ("zip without metadata", lambda d: _wheel(d, GOOD, metadata=False), "no .dist-info"),
    ("not a wheel name", lambda d: _wheel(d, "garbage.whl"), "not a wheel file name"),
    ("cp312", lambda d: _wheel(d, "markupsafe-3.0.4-cp312-cp312-manylinux_2_17_x86_64.whl"),
     "tag cp312-cp312-manylinux_2_17_x86_64 does not fit"),
    ("manylinux_2_39", lambda d: _wheel(
        d, "cryptography-50.0.2-cp311-abi3-manylinux_2_39_x86_64.whl"),
     "tag cp311-abi3-manylinux_2_39_x86_64 does not fit"),
]


def _check_refused(tmp_path: Path, cases: list[tuple[ForkCase, str]]) -> None:
    before = [tree_state(case.cwd) for case, _ in cases]
    io_dir = tmp_path / "io"
    io_dir.mkdir()
    results = run_forked([case for case, _ in cases], io_dir)
    for (case, words), result, state in zip(cases, results, before, strict=True):
        err = result.stderr.decode()
        assert result.returncode == 1, (case.argv, err)
        assert words in err and err.count("\n") == 1, (case.argv, err)
        assert err.startswith("expandctl: error: ") and "Traceback" not in err
        assert result.stdout == b""
        assert tree_state(case.cwd) == state, case.argv  # nothing written


def test_bad_wheelhouses_are_refused(tmp_path: Path) -> None:
    cases = []
    for index, (_, make, words) in enumerate(WHEELHOUSES):
        cwd = tmp_path / f"case{index}"
        cwd.mkdir()
        make(cwd / "wheels")
        cases.append((ForkCase(["release", "build", "--wheels", "wheels", "--out", "dist"],
                               cwd), words))
    _check_refused(tmp_path, cases)


def test_bad_out_and_release_are_refused(tmp_path: Path) -> None:
    cwd = tmp_path / "case"
    cwd.mkdir()
    _wheel(cwd / "wheels", GOOD)
    (cwd / "a-file").write_text("x")
    (cwd / "locked").mkdir(mode=0o555)
    build = ["release", "build", "--wheels", "wheels"]
    cases = [
        (ForkCase([*build, "--out", "a-file"], cwd), "--out a-file: exists and is not a folder"),
        (ForkCase([*build, "--out", "no/such/dist"], cwd), "parent is not an existing folder"),
        (ForkCase([*build, "--out", "a-file/dist"], cwd), "parent is not an existing folder"),
        (ForkCase([*build, "--out", "locked/dist"], cwd, drop_root=True), "not writable"),
        (ForkCase([*build, "--out", "dist", "--release", "1-2"], cwd), "--release '1-2'"),
        (ForkCase(["release", "wheels", "--out", "a-file"], cwd),
         "--out a-file: exists and is not a folder"),
        (ForkCase(["release", "wheels", "--out", "locked/cache"], cwd, drop_root=True),
         "--out locked/cache: cannot create it (Permission denied)"),
    ]
    os.chmod(cwd, 0o755)
    _check_refused(tmp_path, cases)


def test_help_teaches(tmp_path: Path) -> None:
    argvs = [["release", "--help"], ["release", "build", "--help"],
             ["release", "wheels", "--help"]]
    results = run_forked([ForkCase(a, tmp_path) for a in argvs], tmp_path)
    assert all(r.returncode == 0 for r in results)
    top, build, wheels = (r.stdout.decode() for r in results)
    assert "build" in top and "wheels" in top
    for text in (build, wheels):
        assert "examples:" in text and "exit codes:" in text
    assert "--wheels DIR" in build and "--release N" in build and "--json" in build
    assert "/var/cache/expand/release-wheels" in wheels
