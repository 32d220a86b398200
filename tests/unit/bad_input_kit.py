"""The shared pieces of the bad-input corpora: file kinds, a case (``Run``), one run of a
whole corpus through the forked CLI (tests/unit/cli_fork.py), and the refusal rules.

A corpus is a dict of name -> maker; a maker writes its bad input below the case folder
and returns the command line and what stderr must name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.unit.cli_fork import ForkCase, ForkResult, run_forked, tree_state

MIB = 1024 * 1024
MAX_OUTPUT = 4096


@dataclass
class Run:
    argv: list[str]
    named: str  # must appear in stderr: the file or the argument
    stdin: bytes = b""
    watched: Path | None = None  # a root whose tree must not change (default: the case dir)
    case: Path | None = None
    result: ForkResult | None = None
    before: str = ""
    after: str = ""


Maker = Callable[[Path], Run]
FileKind = Callable[[Path], None]


def write(data: bytes) -> FileKind:
    def make(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return make


def directory(path: Path) -> None:
    path.mkdir(parents=True)


def symlink_loop(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(path.name)


def fifo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)


def run_corpus(cases: Mapping[str, Maker], factory: pytest.TempPathFactory,
               label: str) -> dict[str, Run]:
    """Every case in its own folder, all in one forked run; trees recorded before and after.

    A case whose name ends in ``no-permission`` runs as nobody when the tests run as root
    (a mode-0 file stops only a user who is not root).
    """
    base = factory.mktemp(label)
    io_dir = factory.mktemp(f"{label}-io")  # outside the watched trees
    runs: dict[str, Run] = {}
    forks = []
    for name, make in cases.items():
        case = base / name
        case.mkdir()
        run = runs[name] = make(case)
        run.case = case
        (io_dir / f"{name}.in").write_bytes(run.stdin)
        forks.append(ForkCase(run.argv, case, io_dir / f"{name}.in",
                              drop_root=name.endswith("no-permission") and os.geteuid() == 0))
        run.before = tree_state(run.watched or case)
    for run, result in zip(runs.values(), run_forked(forks, io_dir), strict=True):
        assert run.case is not None
        run.after = tree_state(run.watched or run.case)
        run.result = result
    return runs


def check_refusal(run: Run, *, exit_code: int | None = None, max_lines: int | None = None,
                  named_chars: int | None = None) -> str:
    """Assert the rules every refusal keeps; returns the output shown on failure, for more.

    ``exit_code`` None: any code >= 1. ``max_lines``: of stderr (1 = one clear line).
    """
    assert run.result is not None
    out = run.result.stdout.decode(errors="replace")
    err = run.result.stderr.decode(errors="replace")
    shown = f"{run.argv}: exit {run.result.returncode}\nstdout: {out[:2000]}\nstderr: {err[:2000]}"
    if exit_code is None:
        assert run.result.returncode >= 1, shown
    else:
        assert run.result.returncode == exit_code, shown
    assert "Traceback" not in out + err, shown
    assert run.named[:named_chars] in err, shown
    if max_lines is not None:
        assert len(err.strip().splitlines()) <= max_lines, shown
    assert len(out) + len(err) < MAX_OUTPUT, shown
    assert run.before == run.after, "something was written\n" + shown
    return shown
