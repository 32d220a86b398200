"""Pieces of the support lab (lab/support_lab.py): network namespaces on one bridge,
OpenSSH servers run in them, each in a private mount namespace whose /etc/passwd, shadow
and group are the lab's copies (the lab's users exist only there: the host is untouched),
and ``Site``, one appliance: its files, sshd and tunnel daemon.

Every process is started here and stopped by its PID, with its whole tree (an sshd's
sessions are its children); namespaces are deleted by name. Nothing here prints.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.errors import ExpandError
from appliance.wait import poll

SSHD = "/usr/sbin/sshd"
LAB_USERS = ("passwd", "shadow", "group")


class SupportLabError(ExpandError):
    """The lab could not be built or a step of it failed (the message says which)."""


def run(*argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """A short command; a failure raises with its stderr."""
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                          check=False, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise SupportLabError(f"{' '.join(argv[:6])} exited {proc.returncode}: "
                              f"{proc.stderr.strip()[-500:]}")
    return proc


def in_ns(ns: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


def create_bridge_network(bridge_ns: str, members: dict[str, str], prefix: int) -> None:
    """``bridge_ns`` with a bridge, and each member namespace (name → IPv4) on it by a
    veth whose bridge end is the port ``p-<n>`` (a cut cable is that port down)."""
    for ns in (bridge_ns, *members):
        run("ip", "netns", "add", ns)
        run("ip", "-n", ns, "link", "set", "lo", "up")
    run("ip", "-n", bridge_ns, "link", "add", "br0", "type", "bridge")
    run("ip", "-n", bridge_ns, "link", "set", "br0", "up")
    for number, (ns, address) in enumerate(members.items()):
        port = f"p-{number}"
        run("ip", "-n", bridge_ns, "link", "add", port, "type", "veth", "peer", "name",
            "eth0", "netns", ns)
        run("ip", "-n", bridge_ns, "link", "set", port, "master", "br0", "up")
        run("ip", "-n", ns, "addr", "add", f"{address}/{prefix}", "dev", "eth0")
        run("ip", "-n", ns, "link", "set", "eth0", "up")


def delete_namespaces(names: list[str]) -> None:
    listed = set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                                check=False).stdout.split())
    for ns in names:
        if ns in listed:
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True, check=False)


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                text = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(text[text.rindex(")") + 2:].split()[1]), []).append(int(name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def signal_tree(pid: int, signum: int) -> None:
    for member in descendants(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signum)


def stop_tree(proc: subprocess.Popen[bytes], *, gently: bool = False) -> None:
    """The process and all below it gone; ``gently``: SIGTERM first (a daemon's clean exit)."""
    if proc.poll() is None and gently:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
    signal_tree(proc.pid, signal.SIGCONT)
    signal_tree(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


def write_users(root: Path, users: dict[str, int]) -> None:
    """The host's passwd, shadow and group plus ``users`` (name → uid, a home each)."""
    texts = {name: Path(f"/etc/{name}").read_text() for name in LAB_USERS}
    for user, uid in users.items():
        home = root / "homes" / user
        home.mkdir(parents=True)
        os.chown(home, uid, uid)
        texts["passwd"] += f"{user}:x:{uid}:{uid}::{home}:/bin/sh\n"
        texts["shadow"] += f"{user}:*:20000:0:99999:7:::\n"
        texts["group"] += f"{user}:x:{uid}:\n"
    for name, text in texts.items():
        (root / name).write_text(text)
    (root / "shadow").chmod(0o640)


def banner(ns: str, host: str, port: int, timeout: float = 1) -> str:
    """The first line the service at HOST:PORT in ``ns`` sends, or '' (nothing there)."""
    code = ("import socket,sys\ntry:\n s=socket.create_connection((sys.argv[1],int(sys.argv[2])),"
            "float(sys.argv[3]))\n s.settimeout(float(sys.argv[3]))\n"
            " print(s.recv(200).decode(errors='replace').strip())\nexcept OSError:\n pass\n")
    proc = subprocess.run(in_ns(ns, sys.executable, "-c", code, host, str(port), str(timeout)),
                          capture_output=True, text=True, timeout=timeout + 10, check=False)
    return proc.stdout.strip()


@dataclass
class Sshd:
    """One OpenSSH server: foreground (-D -e), its own config, PID file and log."""

    name: str
    ns: str
    config: Path
    log: Path
    users: Path  # the folder with the lab's passwd, shadow and group
    listen: tuple[str, int]
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10) -> None:
        mounts = " && ".join(f"mount --bind {self.users / name} /etc/{name}"
                             for name in LAB_USERS)
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privsep chroot
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                in_ns(self.ns, "unshare", "--mount", "--propagation", "private", "sh", "-c",
                      f"{mounts} && exec {SSHD} -D -e -f {self.config}"),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        up, _ = poll(lambda: banner(self.ns, *self.listen, timeout=0.5),
                     lambda line: line.startswith("SSH-2.0"), timeout=timeout, interval=0.1)
        if not up:
            raise SupportLabError(f"the {self.name} sshd did not start; its log: "
                                  f"{self.log.read_text()[-800:]}")

    def freeze(self, frozen: bool) -> None:
        """SIGSTOP (a hub that silently stops answering) or SIGCONT, sessions included."""
        if self.proc is not None:
            signal_tree(self.proc.pid, signal.SIGSTOP if frozen else signal.SIGCONT)

    def stop(self) -> None:
        """The server and all its sessions gone (a machine restarted)."""
        if self.proc is not None:
            stop_tree(self.proc)
            self.proc = None


def sshd_config(path: Path, *, listen: tuple[str, int], host_key: Path,
                authorized_keys: str, extra: str = "", log_level: str = "VERBOSE") -> Path:
    host, port = listen
    path.write_text(f"ListenAddress {host}\nPort {port}\nHostKey {host_key}\n"
                    f"PidFile {path}.pid\nAuthorizedKeysFile {authorized_keys}\n"
                    "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
                    f"KbdInteractiveAuthentication no\nPermitRootLogin no\nLogLevel {log_level}\n"
                    + extra)
    return path


def keygen(path: Path, comment: str = "lab") -> str:
    """A new ed25519 key pair (private 0600, no passphrase); its public line."""
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path))
    return Path(f"{path}.pub").read_text().strip()


@dataclass
class Site:
    """One appliance of the lab: its namespace, files, sshd and tunnel daemon."""

    name: str
    ns: str
    ip: str
    port: int  # the hub's localhost:PORT leading to this appliance's sshd
    folder: Path
    sshd: Sshd
    bridge_port: str  # its cable: the bridge's end of its veth
    daemon: subprocess.Popen[bytes] | None = None

    @property
    def key(self) -> Path:
        """The appliance's tunnel key (private, 0600)."""
        return self.folder / "tunnel_key"

    @property
    def public_key(self) -> str:
        return Path(f"{self.key}.pub").read_text().strip()

    @property
    def config(self) -> Path:
        return self.folder / "tunnel.toml"

    @property
    def daemon_log(self) -> Path:
        return self.folder / "daemon.log"

    def state(self) -> dict[str, Any]:
        """The daemon's state file ({} before it wrote one)."""
        try:
            data: dict[str, Any] = json.loads((self.folder / "tunnel.json").read_text())
        except (OSError, ValueError):
            return {}
        return data
