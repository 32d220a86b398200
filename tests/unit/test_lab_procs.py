"""Recorded lab processes: a PID with its start time, so a reused PID is never killed."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lab import procs


def test_record_save_load_and_kill(tmp_path: Path) -> None:
    child = subprocess.Popen(["sleep", "60"])
    try:
        rec = procs.record(child.pid)
        procs.save(tmp_path / "procs.json", {"holder": rec})
        assert procs.load(tmp_path / "procs.json") == {"holder": rec}
        assert rec.alive()
        assert procs.kill_and_wait([rec], timeout=5) == []
        child.wait(timeout=5)
        assert not rec.alive()
    finally:
        child.kill()
        child.wait()


def test_a_reused_pid_is_not_the_recorded_process(tmp_path: Path) -> None:
    child = subprocess.Popen(["sleep", "60"])
    try:
        real = procs.record(child.pid)
        stranger = procs.Recorded(child.pid, real.start + 1)  # same PID, another start
        assert not stranger.alive()
        assert procs.kill_and_wait([stranger], timeout=1) == []
        assert child.poll() is None, "a process that is not the recorded one was killed"
    finally:
        child.kill()
        child.wait()


def test_unreadable_records_are_empty(tmp_path: Path) -> None:
    assert procs.load(tmp_path / "missing.json") == {}
    (tmp_path / "bad.json").write_text('{"holder": [1, "x"], "init": 3}')
    assert procs.load(tmp_path / "bad.json") == {}
    (tmp_path / "list.json").write_text("[1, 2]")
    assert procs.load(tmp_path / "list.json") == {}
