"""Real OpenSSH servers in network namespaces for the sshd and verify tests (one server,
the host's users; the hub-and-appliances lab is lab/support_lab.py).

Each namespace is made here and deleted in a ``finally``; each sshd runs in the foreground
(``-D -e``) with its own config, host key and PID file, and is stopped by its PID. The
addresses are the support hub network 203.0.113.128/25 (TESTBED.md), inside namespaces only.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from appliance.wait import poll
from lab.support_net import delete_namespaces, keygen
from tests.support import require_tools

__all__ = ["Sshd", "dummy", "ip", "keygen", "link", "namespaces", "port_open", "running_sshd",
           "sshd_config"]

SSHD = "/usr/sbin/sshd"


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@contextmanager
def namespaces(*names: str) -> Iterator[None]:
    """Fresh namespaces (a leftover of a killed run is deleted first), each with lo up."""
    require_tools("ip", "ssh", "ssh-keygen", SSHD)
    try:
        delete_namespaces(list(names))
        for ns in names:
            ip("netns", "add", ns)
            ip("-n", ns, "link", "set", "lo", "up")
        yield
    finally:
        delete_namespaces(list(names))


def link(ns_a: str, addr_a: str, ns_b: str, addr_b: str, name: str) -> None:
    """A veth cable between two namespaces, with an address (``A.B.C.D/P``) on each end."""
    ip("-n", ns_a, "link", "add", f"{name}a", "type", "veth", "peer", "name", f"{name}b",
       "netns", ns_b)
    for ns, end, addr in ((ns_a, f"{name}a", addr_a), (ns_b, f"{name}b", addr_b)):
        ip("-n", ns, "addr", "add", addr, "dev", end)
        ip("-n", ns, "link", "set", end, "up")


def dummy(ns: str, name: str, addr: str) -> None:
    """An interface that only carries an address (the appliance's LAN IP, say): one end
    of a veth pair left inside the namespace (this kernel has no dummy module)."""
    ip("-n", ns, "link", "add", name, "type", "veth", "peer", "name", f"{name}-peer")
    ip("-n", ns, "link", "set", f"{name}-peer", "up")
    ip("-n", ns, "addr", "add", addr, "dev", name)
    ip("-n", ns, "link", "set", name, "up")


@dataclass
class Sshd:
    ns: str
    address: str
    port: int
    host_key: str        # the public host key line ("ssh-ed25519 AAAA...")
    process: subprocess.Popen[bytes]
    log: Path

    def known_hosts_line(self, name: str | None = None) -> str:
        host = name or (self.address if self.port == 22 else f"[{self.address}]:{self.port}")
        return f"{host} {self.host_key}\n"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def sshd_config(folder: Path, port: int, authorized_keys: Path, extra: str = "") -> Path:
    """A config of our own: its host key, PID file, and keys file in ``folder``."""
    host_key = folder / "ssh_host_ed25519_key"
    if not host_key.exists():
        keygen(host_key, "host")
    config = folder / "sshd_config"
    config.write_text(
        f"{extra.strip()}\n" if extra.strip() else ""
    )
    with config.open("a") as fh:
        fh.write(f"Port {port}\nHostKey {host_key}\nPidFile {folder / 'sshd.pid'}\n"
                 f"AuthorizedKeysFile {authorized_keys}\nStrictModes no\n"
                 "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                 "PermitRootLogin prohibit-password\nUsePAM no\n")
    return config


@contextmanager
def running_sshd(ns: str, address: str, port: int, config: Path) -> Iterator[Sshd]:
    """``sshd -D -e -f config`` in ``ns``, up once its port answers, always stopped."""
    log = config.with_name(f"{config.name}.log")
    check = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True,
                           check=False)
    assert check.returncode == 0, f"sshd -t: {check.stderr}"
    host_key = ""
    for line in config.read_text().splitlines():
        if line.startswith("HostKey "):
            host_key = " ".join(Path(f"{line.split()[1]}.pub").read_text().split()[:2])
    with log.open("wb") as out:
        proc = subprocess.Popen(["ip", "netns", "exec", ns, SSHD, "-D", "-e", "-f",
                                 str(config)], stdout=out, stderr=subprocess.STDOUT)
    server = Sshd(ns, address, port, host_key, proc, log)
    try:
        up, _ = poll(lambda: port_open(ns, address, port), bool, timeout=10, interval=0.05)
        assert up, f"sshd in {ns} did not listen on {address}:{port}: {log.read_text()}"
        yield server
    finally:
        server.stop()


def port_open(ns: str, address: str, port: int) -> bool:
    probe = ("import socket,sys\ns=socket.socket()\ns.settimeout(0.5)\n"
             f"sys.exit(s.connect_ex(({address!r},{port})))")
    return subprocess.run(["ip", "netns", "exec", ns, "python3", "-c", probe],
                          capture_output=True, check=False).returncode == 0

