"""Booted systemd-nspawn nodes with the toolkit inside, on a test network in namespaces.

Network: one "switch" namespace holds two bridges, ``lan`` (198.51.100.0/24; the switch
itself answers as the gateway 198.51.100.1) and ``ic`` (the HA interconnect). Each node
gets its own namespace with ``eth0`` on the LAN bridge and ``eth1`` on the interconnect
bridge (veth pairs). Nothing is configured on the host's side.

Running commands inside: without ``--register`` there is no machined, so ``machinectl``
and ``systemd-run -M`` cannot reach the node. ``nsenter -t LEADER -a -r -w`` (LEADER =
the node's PID 1 as the host sees it) enters every namespace and the node's root: the
command sees the node's systemd, D-Bus, files and network. ``Node.run`` does that.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from appliance.errors import ExpandError
from appliance.paths import EXPANDCTL
from appliance.runner import Result, Runner
from appliance.wait import poll
from lab.rootfs import NODE_VENV, REPO, ensure_rootfs, toolkit_packages

log = logging.getLogger("expand.lab")

NODE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
GATEWAY = "198.51.100.1/24"
BOOT_TIMEOUT = 90.0
DEAD = "(container exited)"  # wait_booted's answer once the node's process is gone
ROCKY_OS_RELEASE = ('NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\n'
                    'VERSION_ID="9.4"\nPRETTY_NAME="Rocky Linux 9.4 (lab stand-in)"\n')


@dataclass
class Node:
    name: str
    netns: str
    base: Path                  # holds upper/, work/, merged/ and console.log
    runner: Runner
    proc: subprocess.Popen[bytes] | None = None
    leader: int = 0

    @property
    def root(self) -> Path:
        return self.base / "merged"

    def run(self, argv: Sequence[str], *, input: str | None = None, check: bool = True,
            timeout: float = 120) -> Result:
        """Run a command inside the booted node (all its namespaces, its root)."""
        if not self.leader:
            raise ExpandError(f"node {self.name} is not booted")
        return self.runner.run([*enter_argv(self.leader), *argv],
                               input=input, check=check, timeout=timeout)


def enter_argv(leader: int) -> list[str]:
    """The prefix that runs a command inside a booted node: every namespace of its PID 1,
    its root and working directory, and a clean environment."""
    return ["nsenter", "-t", str(leader), "-a", "-r", "-w",
            "env", "-i", f"PATH={NODE_PATH}", "LANG=C.UTF-8", "HOME=/root"]


def boot_argv(root: Path, machine: str, netns: str, *extra: str) -> list[str]:
    """``systemd-nspawn`` booting ``root`` in the network namespace ``netns``."""
    return ["systemd-nspawn", "-b", "-D", str(root), "-M", machine, "--register=no",
            "--keep-unit", f"--network-namespace-path=/run/netns/{netns}",
            "--capability=CAP_NET_ADMIN,CAP_NET_RAW", "--resolv-conf=off", "--timezone=off",
            "--link-journal=no", "--console=read-only", *extra]


def wait_booted(run: Callable[..., Result], name: str, *,
                alive: Callable[[], bool] = lambda: True, timeout: float = BOOT_TIMEOUT,
                console: Path | None = None) -> None:
    """Until the node's systemd is up ("degraded": a unit failed, the node still serves);
    ``run`` runs a command inside the node. Stops early when ``alive()`` turns false."""

    def probe() -> str:
        if not alive():
            return DEAD
        return str(run(["systemctl", "is-system-running"], check=False).stdout.strip())

    booted, state = poll(probe, lambda s: s in ("running", "degraded", DEAD),
                         timeout=timeout, interval=0.2)
    if booted and state != DEAD:
        return
    why = "its container exited" if state == DEAD else f"state {state!r}"
    raise ExpandError(f"lab node {name} did not boot in {timeout:.0f} s ({why})"
                      + (f"; see {console}" if console else ""))


def mask_wait_online(root: Path) -> None:
    # No DHCP server on the lab LAN: waiting to be "online" would hold the boot 60 s.
    for unit in ("NetworkManager-wait-online.service", "systemd-networkd-wait-online.service"):
        mask = root / "etc/systemd/system" / unit
        mask.unlink(missing_ok=True)
        mask.symlink_to("/dev/null")


@dataclass
class Lab:
    """A switch namespace and nodes; ``close()`` tears everything down (idempotent)."""

    workdir: Path
    runner: Runner = field(default_factory=Runner)
    token: str = field(default_factory=lambda: secrets.token_hex(3))
    nodes: list[Node] = field(default_factory=list)

    @property
    def switch(self) -> str:
        return f"exsw-{self.token}"

    def start(self) -> None:
        ip = ["ip", "-n", self.switch]
        self.runner.run(["ip", "netns", "add", self.switch])
        self.runner.run([*ip, "link", "set", "lo", "up"])
        for bridge in ("lan", "ic"):
            self.runner.run([*ip, "link", "add", bridge, "type", "bridge"])
            self.runner.run([*ip, "link", "set", bridge, "up"])
        self.runner.run([*ip, "addr", "add", GATEWAY, "dev", "lan"])

    def add_node(self, name: str, *, rootfs: Path | None = None,
                 dhcp_like: str | None = None, os_release: str | None = None) -> Node:
        """Create, populate and boot a node; ``dhcp_like`` pre-sets eth0 as a DHCP lease would
        (address/prefix plus a default route via the switch); ``os_release`` replaces the
        node's /etc/os-release (ROCKY_OS_RELEASE: the toolkit takes the RHEL-family path)."""
        rootfs = rootfs or ensure_rootfs(runner=self.runner)
        node = Node(name, f"exnd-{self.token}-{name}", self.workdir / name, self.runner)
        self.nodes.append(node)
        self._network(node, dhcp_like)
        self._overlay(node, rootfs)
        install_toolkit(node.root)
        if os_release is not None:
            (node.root / "etc/os-release").unlink()
            (node.root / "etc/os-release").write_text(os_release)
        mask_wait_online(node.root)
        self._boot(node)
        return node

    def _network(self, node: Node, dhcp_like: str | None) -> None:
        run = self.runner.run
        run(["ip", "netns", "add", node.netns])
        run(["ip", "-n", node.netns, "link", "set", "lo", "up"])
        for index, bridge in enumerate(("lan", "ic")):
            outer = f"{bridge}-{node.name}"[:15]
            run(["ip", "-n", self.switch, "link", "add", outer, "type", "veth",
                 "peer", "name", f"eth{index}", "netns", node.netns])
            run(["ip", "-n", self.switch, "link", "set", outer, "master", bridge, "up"])
            run(["ip", "-n", node.netns, "link", "set", f"eth{index}", "up"])
        if dhcp_like:
            run(["ip", "-n", node.netns, "addr", "add", dhcp_like, "dev", "eth0"])
            run(["ip", "-n", node.netns, "route", "add", "default", "via",
                 GATEWAY.split("/")[0]])

    def _overlay(self, node: Node, rootfs: Path) -> None:
        mount_overlay(rootfs, node.base, self.runner)

    def _boot(self, node: Node) -> None:
        console = open(node.base / "console.log", "wb")  # noqa: SIM115 - lives with the node
        argv = boot_argv(node.root, node.name, node.netns)
        log.info("+ %s", " ".join(argv))
        # A long-lived process: Runner.run waits for exit, so this one is started directly.
        node.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=console,
                                     stderr=subprocess.STDOUT)
        console.close()
        proc = node.proc
        node.leader = wait_for_leader(proc.pid)
        wait_booted(node.run, node.name, alive=lambda: proc.poll() is None,
                    console=node.base / "console.log")

    def close(self) -> None:
        for node in reversed(self.nodes):
            _stop(node)
            with contextlib.suppress(ExpandError):
                self.runner.run(["umount", "-l", str(node.root)], check=False)
            with contextlib.suppress(ExpandError):
                self.runner.run(["ip", "netns", "delete", node.netns], check=False)
            shutil.rmtree(node.base, ignore_errors=True)
        self.nodes.clear()
        with contextlib.suppress(ExpandError):
            self.runner.run(["ip", "netns", "delete", self.switch], check=False)


@contextlib.contextmanager
def lab(workdir: Path, runner: Runner | None = None) -> Iterator[Lab]:
    the_lab = Lab(workdir, runner or Runner())
    try:
        the_lab.start()
        yield the_lab
    finally:
        the_lab.close()


def mount_overlay(rootfs: Path, base: Path, runner: Runner) -> Path:
    """``base/merged``: a writable view of ``rootfs``; changes land in ``base/upper``."""
    for sub in ("upper", "work", "merged"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    options = f"lowerdir={rootfs},upperdir={base / 'upper'},workdir={base / 'work'}"
    runner.run(["mount", "-t", "overlay", "overlay", "-o", options, str(base / "merged")])
    return base / "merged"


@contextlib.contextmanager
def scratch_root(base: Path, runner: Runner | None = None) -> Iterator[Path]:
    """An overlay of the cached root, not booted (for --root runs and offline checks)."""
    runner = runner or Runner()
    merged = mount_overlay(ensure_rootfs(runner=runner), base, runner)
    try:
        yield merged
    finally:
        runner.run(["umount", "-l", str(merged)], check=False)
        shutil.rmtree(base, ignore_errors=True)


def run_in_root(root: Path, argv: Sequence[str], runner: Runner | None = None,
                check: bool = True) -> Result:
    """Run one command in a root without booting it (``systemd-nspawn`` as a chroot)."""
    return (runner or Runner()).run(
        ["systemd-nspawn", "-q", "-D", str(root), "--register=no", "--keep-unit",
         "--resolv-conf=off", "--timezone=off", "--link-journal=no", "--private-network",
         *argv], check=check, timeout=120)


def install_toolkit(root: Path) -> None:
    """This checkout's packages into the node, importable from the root's venv, and the
    ``expandctl`` command; the sentinel and unit as the kickstart leaves them."""
    from firstboot import paths
    from firstboot.unit import unit_text

    src = root / "opt/expand/src"
    shutil.rmtree(src, ignore_errors=True)
    for package in toolkit_packages():  # all of them: a command imports its neighbours
        if (REPO / package).is_dir():
            shutil.copytree(REPO / package, src / package,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    site = next((root / NODE_VENV.lstrip("/") / "lib").glob("python3*/site-packages"))
    (site / "expand-src.pth").write_text("/opt/expand/src\n")
    # Where the product package puts the command (the units name it there).
    expandctl = root / EXPANDCTL.lstrip("/")
    expandctl.write_text(f"#!{NODE_VENV}/bin/python3\nimport sys\n"
                         "from appliance.cli import main\nsys.exit(main())\n")
    expandctl.chmod(0o755)
    unit = unit_text()
    for target, text in ((paths.UNIT_PATH, unit), (paths.SENTINEL, "")):
        host = root / target.lstrip("/")
        host.parent.mkdir(parents=True, exist_ok=True)
        host.write_text(text)


def wait_for_leader(nspawn_pid: int, timeout: float = 30.0) -> int:
    """The node's PID 1, as the host numbers it: a descendant of nspawn that is PID 1 in
    its own PID namespace."""
    found, leader = poll(lambda: _namespace_init(nspawn_pid), lambda p: p is not None,
                         timeout=timeout, interval=0.05)
    if not found or leader is None:
        raise ExpandError(f"systemd-nspawn (pid {nspawn_pid}) started no container init")
    return leader


def _namespace_init(pid: int) -> int | None:
    for child in _descendants(pid):
        nspid = _status_field(child, "NSpid").split()
        if len(nspid) > 1 and nspid[-1] == "1":
            return child
    return None


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            ppid = _status_field(int(entry.name), "PPid")
            if ppid.isdigit():
                children.setdefault(int(ppid), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _status_field(pid: int, name: str) -> str:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _stop(node: Node) -> None:
    """Power the node off: SIGKILL of its PID 1 ends every process in it; then nspawn."""
    proc = node.proc
    if proc is None:
        return
    if node.leader:
        with contextlib.suppress(ProcessLookupError):
            os.kill(node.leader, signal.SIGKILL)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    node.proc = None
    node.leader = 0
