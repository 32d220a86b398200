"""``lab down``: end every process the lab started and remove everything it made.

Nodes end by the PIDs the supervisor recorded (``nodes/NAME/procs.json``: the holder,
nsenter/unshare or systemd-nspawn, and the node's PID 1), each with its start time, so a
node goes even when the supervisor that started it was killed, and a PID reused by another
process is never touched. Safe on a half-built or already-gone lab.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
from pathlib import Path

from appliance.errors import ExpandError
from appliance.runner import Runner
from lab import netns, procs
from lab.fence_agent import SOCKET_NAME, request
from lab.nsnode import LAB_DIR

log = logging.getLogger("expand.lab")

SUPERVISOR_RECORD = "supervisor.json"
NODE_RECORD = "procs.json"
SHUTDOWN_SECONDS = 30


def node_record(lab_dir: Path, name: str) -> Path:
    return lab_dir / "nodes" / name / NODE_RECORD


def _node_dirs(lab_dir: Path) -> list[Path]:
    nodes = lab_dir / "nodes"
    return sorted(p for p in nodes.iterdir() if p.is_dir()) if nodes.is_dir() else []


def down(lab_dir: Path = LAB_DIR) -> list[str]:
    """Tear everything down; returns what was done. Raises (and keeps the lab's records
    for another try) only when a recorded process would not end."""
    runner = Runner()
    done = []
    if (lab_dir / SOCKET_NAME).exists():
        with contextlib.suppress(OSError):
            request(lab_dir, "shutdown", SHUTDOWN_SECONDS)
            done.append("nodes powered off")
    supervisor = list(procs.load(lab_dir / SUPERVISOR_RECORD).values())
    if any(p.alive() for p in supervisor):
        procs.kill_and_wait(supervisor)
        done.append("supervisor stopped")
    stuck = []
    for node_dir in _node_dirs(lab_dir):
        recorded = procs.load(node_dir / NODE_RECORD)
        # PID 1 first: SIGKILL of a PID namespace's init ends every process in it.
        order = [recorded[k] for k in ("init", "holder") if k in recorded]
        if any(p.alive() for p in order):
            left = procs.kill_and_wait(order)
            stuck += [f"{node_dir.name}: pid {p.pid}" for p in left]
            done.append(f"{node_dir.name} powered off")
    if stuck:
        raise ExpandError(f"lab down: processes did not end ({', '.join(stuck)}); "
                          f"{lab_dir} kept: run 'expandctl lab down' again")
    netns.delete_network(runner)
    done.append("namespaces deleted")
    for node_dir in _node_dirs(lab_dir):
        # an appliance node's disk and its Asterisk root (overlays)
        for merged, what in ((node_dir / "merged", "disk"),
                             (node_dir / "asterisk" / "merged", "Asterisk root")):
            if os.path.ismount(merged):
                runner.run(["umount", "-l", str(merged)], check=False)
                done.append(f"{node_dir.name}'s {what} unmounted")
    if lab_dir.exists():
        subprocess.run(["rm", "-rf", "--one-file-system", str(lab_dir)], check=False)
    return done
