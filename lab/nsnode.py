"""Namespace nodes: a cluster node is a network + mount + UTS + PID namespace on this host.

Each node's private state lives under ``LAB_DIR/nodes/NAME/root`` and is bind-mounted over
/etc/corosync, /etc/pacemaker, /var/lib/corosync, /var/lib/pacemaker, /var/log, /etc/hosts
and /etc/resolv.conf inside the node, so it survives a power cycle like a disk would. /run
and /dev/shm are fresh tmpfs (libqb names shm files by PID and both nodes have the same
PIDs). PID 1 of the node is ``init_main``: it mounts, starts ``corosync -f`` then
``pacemakerd`` and reaps orphans; SIGKILL of it is a clean power-off of the whole node.

Run as ``python -m lab.nsnode init --name NAME --lab-dir DIR`` (by the supervisor only).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from appliance.runner import Result, Runner
from appliance.wait import poll
from lab.nspawn import enter_argv

log = logging.getLogger("expand.lab")

LAB_DIR = Path("/run/expand-lab")
BIND_DIRS = ("/etc/corosync", "/etc/pacemaker", "/var/lib/corosync", "/var/lib/pacemaker",
             "/var/log")
# The node's own name service, as the first boot leaves an appliance: cluster names in
# /etc/hosts and no DNS server (the host's would time out from the node's network, and
# fence agents resolve this host's name: 10 s per call).
BIND_FILES = ("/etc/hosts", "/etc/resolv.conf")
# (path inside the node, owner, group, mode) created in each node's private root.
NODE_DIRS = (
    ("/etc/corosync", "root", "root", 0o755),
    ("/etc/pacemaker", "root", "haclient", 0o750),
    ("/var/lib/corosync", "root", "root", 0o755),
    ("/var/lib/pacemaker", "hacluster", "haclient", 0o750),
    ("/var/lib/pacemaker/cib", "hacluster", "haclient", 0o750),
    ("/var/lib/pacemaker/pengine", "hacluster", "haclient", 0o750),
    ("/var/lib/pacemaker/blackbox", "hacluster", "haclient", 0o750),
    ("/var/lib/pacemaker/cores", "hacluster", "haclient", 0o750),
    ("/var/log", "root", "root", 0o755),
    ("/var/log/corosync", "root", "root", 0o755),
    ("/var/log/pacemaker", "hacluster", "haclient", 0o770),
    ("/var/log/pacemaker/bundles", "hacluster", "haclient", 0o770),
)
STAGING = "/mnt"  # the lab dir is parked here while /run is replaced by a tmpfs
COROSYNC_START_SECONDS = 20.0


def node_root(lab_dir: Path, name: str) -> Path:
    return lab_dir / "nodes" / name / "root"


def pid_file(lab_dir: Path, name: str) -> Path:
    return lab_dir / "nodes" / name / "pid"


def prepare_node_root(lab_dir: Path, name: str) -> Path:
    """Create the node's private directories with the owners the daemons expect."""
    root = node_root(lab_dir, name)
    for path, owner, group, mode in NODE_DIRS:
        host = root / path.lstrip("/")
        host.mkdir(parents=True, exist_ok=True)
        shutil.chown(host, owner, group)
        host.chmod(mode)
    uidgid = Path("/etc/corosync/uidgid.d")
    if uidgid.is_dir():
        shutil.copytree(uidgid, root / "etc/corosync/uidgid.d", dirs_exist_ok=True)
    return root


def holder_argv(lab_dir: Path, name: str, netns: str) -> list[str]:
    """The command that powers a node on; its child is the node's PID 1."""
    return ["nsenter", f"--net=/run/netns/{netns}",
            "unshare", "--mount", "--uts", "--pid", "--fork", "--mount-proc",
            "--propagation", "private", "--kill-child",
            sys.executable, "-m", "lab.nsnode", "init", "--name", name,
            "--lab-dir", str(lab_dir)]


def read_pid(lab_dir: Path, name: str) -> int | None:
    try:
        pid = int(pid_file(lab_dir, name).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


class NodeRunner(Runner):
    """Runs commands inside a node: a namespace node's network, mount, UTS and PID
    namespaces (the host's files otherwise), or all of a booted appliance node's."""

    def __init__(self, pid: int, inner: Runner | None = None, *, appliance: bool = False
                 ) -> None:
        super().__init__()
        self.pid = pid
        self.inner = inner or Runner()
        self.appliance = appliance

    def prefix(self) -> list[str]:
        if self.appliance:
            return enter_argv(self.pid)
        return ["nsenter", "-t", str(self.pid), "-n", "-m", "-u", "-p", "--"]

    def interactive_argv(self, argv: Sequence[str], cwd: str) -> list[str]:
        """``lab exec``: a namespace node shares the host's files, so the caller's working
        directory is kept; an appliance node starts in its own /."""
        if self.appliance:
            return [*self.prefix(), *argv]
        return [*self.prefix()[:-1], f"--wd={cwd}", "--", *argv]

    def run(self, argv: Sequence[str], *, input: str | bytes | None = None,
            check: bool = True, env: Mapping[str, str] | None = None,
            cwd: Path | None = None, timeout: float | None = None) -> Result:
        return self.inner.run([*self.prefix(), *argv], input=input, check=check, env=env,
                              cwd=cwd, timeout=timeout)


# ---- inside the node (PID 1) -------------------------------------------------------------

def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def mount_node(name: str, lab_dir: Path) -> None:
    root = node_root(lab_dir, name)
    _mount("--bind", str(lab_dir), STAGING)
    _mount("-t", "sysfs", "sysfs", "/sys")
    # The lab fence agent appears in /usr/sbin of the node only (read-only overlay).
    _mount("-t", "overlay", "overlay", "-o", f"lowerdir={lab_dir / 'agent'}:/usr/sbin",
           "/usr/sbin")
    # ... and the lab service's OCF agent as ocf:expand:responder.
    _mount("-t", "overlay", "overlay", "-o",
           f"lowerdir={lab_dir / 'ocf'}:/usr/lib/ocf/resource.d", "/usr/lib/ocf/resource.d")
    # /var/lib is the host's, seen through a per-node overlay: what the node writes there
    # (e.g. its data directory /var/lib/expand/data) stays its own. The cluster state
    # directories are then bound on top.
    upper, work = root.parent / "varlib-upper", root.parent / "varlib-work"
    upper.mkdir(exist_ok=True)
    work.mkdir(exist_ok=True)
    _mount("-t", "overlay", "overlay", "-o",
           f"lowerdir=/var/lib,upperdir={upper},workdir={work}", "/var/lib")
    for path in (*BIND_DIRS, *BIND_FILES):
        _mount("--bind", str(root / path.lstrip("/")), path)
    _mount("-t", "tmpfs", "-o", "mode=755", "tmpfs", "/run")
    _mount("-t", "tmpfs", "-o", "mode=1777", "tmpfs", "/dev/shm")
    os.makedirs(str(lab_dir), exist_ok=True)
    _mount("--move", STAGING, str(lab_dir))


def start_daemons(name: str) -> None:
    corosync_log = open("/var/log/corosync/stdout.log", "ab")  # noqa: SIM115 - lives with PID 1
    subprocess.Popen(["corosync", "-f"], stdout=corosync_log, stderr=corosync_log,
                     stdin=subprocess.DEVNULL)
    # pacemakerd wants corosync answering; after the timeout it is started anyway (its
    # own log then says what it misses).
    poll(lambda: subprocess.run(["corosync-cfgtool", "-s"], capture_output=True,
                                check=False).returncode, lambda rc: rc == 0,
         timeout=COROSYNC_START_SECONDS, interval=0.1)
    pcmk_log = open("/var/log/pacemaker/stdout.log", "ab")  # noqa: SIM115
    subprocess.Popen(["pacemakerd"], stdout=pcmk_log, stderr=pcmk_log,
                     stdin=subprocess.DEVNULL)
    # What expand-ha-seal.service does on an appliance at boot (ha/grow.py): a grown
    # primary turns wait_for_all on once the secondary has joined; else it exits at once.
    subprocess.Popen([str(Path(sys.executable).parent / "expandctl"), "--log-file",
                      "/var/log/expand/ha-seal.log", "ha", "seal", "--wait"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)


def reap_forever() -> None:
    while True:
        try:
            os.wait()
        except ChildProcessError:
            time.sleep(0.5)


def init_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lab.nsnode")
    parser.add_argument("command", choices=["init"])
    parser.add_argument("--name", required=True)
    parser.add_argument("--lab-dir", type=Path, default=LAB_DIR)
    args = parser.parse_args(argv)
    socket.sethostname(args.name)
    mount_node(args.name, args.lab_dir)
    start_daemons(args.name)
    reap_forever()
    return 0


if __name__ == "__main__":
    sys.exit(init_main())
