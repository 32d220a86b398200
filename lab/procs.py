"""The lab's processes as recorded on disk: PID plus start time, so a later ``lab down``
(a new process, maybe after the supervisor died) ends exactly them and never a stranger
that reused the PID."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from appliance.wait import poll


@dataclass(frozen=True)
class Recorded:
    pid: int
    start: int  # clock ticks after boot (/proc/PID/stat field 22)

    def alive(self) -> bool:
        return start_time(self.pid) == self.start


def start_time(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    # After "(comm)": state is field 3, so starttime (22) is index 19; zombies do not count.
    return None if fields[0] == "Z" else int(fields[19])


def record(pid: int) -> Recorded:
    start = start_time(pid)
    if start is None:
        raise ProcessLookupError(pid)
    return Recorded(pid, start)


def save(path: Path, processes: dict[str, Recorded]) -> None:
    data = {name: [p.pid, p.start] for name, p in processes.items()}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data) + "\n")
    tmp.replace(path)


def load(path: Path) -> dict[str, Recorded]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(name): Recorded(int(v[0]), int(v[1])) for name, v in data.items()
            if isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) for x in v)}


def kill_and_wait(processes: list[Recorded], timeout: float = 15.0) -> list[Recorded]:
    """SIGKILL each still-running process, in order (a PID namespace's init first: its
    whole namespace goes with it); returns those still alive after ``timeout``."""
    for proc in processes:
        if proc.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
    _, left = poll(lambda: [p for p in processes if p.alive()], lambda s: not s,
                   timeout=timeout, interval=0.1)
    return left
