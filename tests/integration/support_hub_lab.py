"""A real support hub for the tests: OpenSSH sshd in its own network namespace, configured
by ``expandctl support hub-config``, with key lines from ``hub-add`` and the claim program
from ``hub-install``; an appliance namespace beside it (203.0.113.128/25) with a banner
service standing in for the appliance's sshd.

The tunnel user exists only inside the hub's mount namespace (a private copy of
/etc/passwd, shadow and group is bind-mounted there), so the host's users are never
touched. Files live below /run (no world-writable parent: sshd's StrictModes stays on).
Everything started is stopped by its PID, and the namespaces deleted, even on failure.
The namespaces, users and sshd are lab/support_net.py's (the support lab's own pieces);
what is here is the hub's view the stand-in clients need (support_hub_client.py: a
paramiko client that does what the real daemon never would, to prove the hub refuses it).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.wait import poll
from lab.support_net import (
    Sshd,
    create_bridge_network,
    delete_namespaces,
    keygen,
    write_users,
)
from tests.support import require_tools
from tunnel.support.hub import HubFiles, add_site
from tunnel.support.hub_keys import parse_public_key
from tunnel.support.hub_proc import read_process

EXPANDCTL = str(Path(sys.executable).parent / "expandctl")
PYTHON = sys.executable
HUB_IP, APPL_IP = "203.0.113.129", "203.0.113.140"
PREFIX = 25
USER, UID = "xtunnel", 64123
BANNER_PORT = 2222
BANNER = b"appliance-sshd-stand-in\n"
SYSTEM_PYTHON = "/usr/bin/python3"  # the tunnel user cannot run a venv below /root
CLIENT = str(Path(__file__).with_name("support_hub_client.py"))


@dataclass
class Hub:
    base: Path
    hub_ns: str
    appl_ns: str
    server: Sshd | None = None
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)
    keys: dict[str, Path] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def registry(self) -> Path:
        return self.base / "registry.toml"

    @property
    def authorized_keys(self) -> Path:
        return self.base / "authorized_keys"

    @property
    def config(self) -> Path:
        return self.base / "sshd_config"

    @property
    def known_hosts(self) -> Path:
        return self.base / "known_hosts"

    @property
    def home(self) -> Path:
        return self.base / "homes" / USER

    @property
    def sshd(self) -> subprocess.Popen[bytes] | None:
        return self.server.proc if self.server else None

    def in_ns(self, ns: str, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", ns, *argv]

    def ssh_argv(self, site: str, *args: str, command: tuple[str, ...] = ()) -> list[str]:
        """OpenSSH client in the appliance namespace with SITE's key, host key pinned."""
        # The caller's options first: ssh keeps the first value of each.
        return self.in_ns(self.appl_ns, "ssh", "-F", "none", *args, "-i", str(self.keys[site]),
                          "-o", f"UserKnownHostsFile={self.known_hosts}",
                          "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                          "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=5",
                          "-o", "LogLevel=ERROR", f"{USER}@{HUB_IP}", *command)

    def ssh(self, site: str, *args: str, command: tuple[str, ...] = (),
            timeout: float = 20) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.ssh_argv(site, *args, command=command),
                              capture_output=True, text=True,
                              timeout=timeout, check=False, stdin=subprocess.DEVNULL)

    def start(self, argv: list[str], log: Path | None = None) -> subprocess.Popen[bytes]:
        out = log.open("wb") if log else subprocess.DEVNULL
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        self.started.append(proc)
        return proc

    def client(self, site: str, *args: str) -> subprocess.Popen[str]:
        """The paramiko appliance stand-in (support_hub_client.py), JSON lines on stdout."""
        argv = self.in_ns(self.appl_ns, PYTHON, CLIENT, "--host", HUB_IP, "--user", USER,
                          "--key", str(self.keys[site]), "--known-hosts",
                          str(self.known_hosts), "--port", str(self.ports[site]),
                          "--target", f"127.0.0.1:{BANNER_PORT}", *args)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.PIPE if "--wait" in args
                                else subprocess.DEVNULL, text=True)
        self.started.append(proc)  # type: ignore[arg-type]
        return proc

    def expandctl(self, *args: str, ns: str | None = None,
                  check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [EXPANDCTL, *args]
        proc = subprocess.run(self.in_ns(ns, *argv) if ns else argv, capture_output=True,
                              text=True, timeout=60, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"expandctl {' '.join(args)}: exit {proc.returncode}\n"
                                 f"{proc.stdout}{proc.stderr}")
        return proc

    def banner_via_hub(self, port: int) -> bytes | None:
        """What a client on the hub gets from localhost:PORT (None: nothing listens)."""
        code = ("import socket,sys\ntry:\n s=socket.create_connection(('127.0.0.1',"
                f"{port}),3)\n s.settimeout(3)\n sys.stdout.write(s.recv(100).decode())\n"
                "except OSError as e:\n sys.exit(1)\n")
        proc = subprocess.run(self.in_ns(self.hub_ns, PYTHON, "-c", code),
                              capture_output=True, timeout=20, check=False)
        return proc.stdout if proc.returncode == 0 else None

    def listening(self, port: int) -> bool:
        out = subprocess.run(self.in_ns(self.hub_ns, "cat", "/proc/net/tcp"),
                             capture_output=True, text=True, check=True).stdout
        return any(line.split()[1] == f"0100007F:{port:04X}" and line.split()[3] == "0A"
                   for line in out.splitlines()[1:])

    def sessions(self) -> list[int]:
        """PIDs of the tunnel user's sshd session processes (children of the monitors)."""
        assert self.sshd is not None
        return [p.pid for p in _descendants(self.sshd.pid)
                if p.uid == UID and p.comm == "sshd"]

    def list_json(self) -> dict[str, Any]:
        out = self.expandctl("support", "list", "--json", "--registry", str(self.registry),
                             ns=self.hub_ns).stdout
        data: dict[str, Any] = json.loads(out)
        return data


def _descendants(pid: int) -> list[Any]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            process = read_process(int(entry.name))
            if process:
                children.setdefault(process.ppid, []).append(process.pid)
    found, stack = [], list(children.get(pid, []))
    while stack:
        child = stack.pop()
        process = read_process(child)
        if process:
            found.append(process)
        stack.extend(children.get(child, []))
    return found


def _run(*argv: str) -> None:
    subprocess.run(list(argv), check=True, capture_output=True, timeout=30)


BASE_CONFIG = """\
Port 22
ListenAddress {ip}
HostKey {base}/host_ed25519
PidFile {base}/sshd.pid
UsePAM no
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile none
LogLevel VERBOSE
Subsystem sftp /usr/lib/openssh/sftp-server
"""


@contextlib.contextmanager
def hub_lab(sites: tuple[str, ...] = ("acme", "beta"), *, via_cli: bool = True) -> Iterator[Hub]:
    """The hub and an appliance namespace; ``via_cli=False`` registers the sites through
    the library (a hundred expandctl starts would take a minute)."""
    require_tools("sshd", "ssh", "ssh-keygen", "ip", "unshare")
    base = Path(tempfile.mkdtemp(prefix="xtun-hub-", dir="/run"))
    base.chmod(0o755)
    tag = f"xth{os.getpid() % 100000}"
    hub = Hub(base, f"{tag}-hub", f"{tag}-appl")
    names = [f"{tag}-br", hub.hub_ns, hub.appl_ns]
    try:
        write_users(base, {USER: UID})
        host_pub = keygen(base / "host_ed25519", "hub").split()
        hub.known_hosts.write_text(f"{HUB_IP} {host_pub[0]} {host_pub[1]}\n")
        hub.expandctl("support", "hub-install", "--to", str(base / "claim"),
                      "--python", SYSTEM_PYTHON)
        for site in sites:
            key = base / f"{site}_ed25519"
            keygen(key, f"root@{site}")
            hub.keys[site] = key
            hub.ports[site] = _add(hub, site, key, via_cli)
        block = hub.expandctl("support", "hub-config", "--user", USER, "--authorized-keys",
                              str(hub.authorized_keys)).stdout
        hub.config.write_text(BASE_CONFIG.format(ip=HUB_IP, base=base) + "\n" + block)
        delete_namespaces(names)
        create_bridge_network(names[0], {hub.hub_ns: HUB_IP, hub.appl_ns: APPL_IP}, PREFIX)
        hub.server = Sshd("hub", hub.hub_ns, hub.config, base / "sshd.log", base, (HUB_IP, 22))
        hub.server.start()
        hub.start(hub.in_ns(hub.appl_ns, PYTHON, "-c", BANNER_SERVER))
        up, _ = poll(lambda: _banner_up(hub), bool, timeout=10, interval=0.05)
        assert up, "the appliance's banner service did not start"
        yield hub
    finally:
        _stop(hub)
        delete_namespaces(names)
        shutil.rmtree(base, ignore_errors=True)


def _add(hub: Hub, site: str, key: Path, via_cli: bool) -> int:
    claim = str(hub.base / "claim")
    if not via_cli:
        public = parse_public_key(Path(f"{key}.pub").read_text(), f"{key}.pub")
        files = HubFiles(hub.registry, hub.authorized_keys)
        return add_site(files, site, public, claim_command=claim).port
    added = json.loads(hub.expandctl(
        "support", "hub-add", site, f"{key}.pub", "--registry", str(hub.registry),
        "--authorized-keys", str(hub.authorized_keys), "--claim-command", claim,
        "--json").stdout)
    port: int = added["port"]
    return port


BANNER_SERVER = f"""
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", {BANNER_PORT})); s.listen(16)
while True:
    c, _ = s.accept(); c.sendall({BANNER!r}); c.close()
"""


def _banner_up(hub: Hub) -> bool:
    proc = subprocess.run(hub.in_ns(hub.appl_ns, PYTHON, "-c",
                                    "import socket; socket.create_connection(('127.0.0.1', "
                                    f"{BANNER_PORT}), 1).close()"),
                          capture_output=True, check=False)
    return proc.returncode == 0


def _stop(hub: Hub) -> None:
    """Sessions first (sshd reaps them), then sshd and everything else, by PID."""
    if hub.sshd is not None:
        for process in _descendants(hub.sshd.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGCONT)
                os.kill(process.pid, signal.SIGTERM)
    for proc in reversed(hub.started):
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGCONT)
        proc.terminate()
    deadline = time.monotonic() + 5
    for proc in hub.started:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    if hub.server is not None:
        hub.server.stop()


def free_port_of(hub: Hub) -> int:
    """A port no site holds, inside the registry's range (for 'another listen port')."""
    taken = set(hub.ports.values())
    return next(p for p in range(20000, 30000) if p not in taken)
