"""A support hub and an appliance in network namespaces, each with its own real sshd, for
the tunnel daemon's tests (203.0.113.128/25: the hub .129, the appliance .130).

A bridge namespace joins them, so a cut is the appliance's cable pulled at the switch:
its own interface stays up and packets just vanish. Both sshds run in a private mount
namespace whose /etc/passwd and /etc/shadow are copies with the test users added (the
hub's tunnel user, the appliance's support login): nothing on the host changes.
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
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.wait import poll
from tests.support import require_tools

EXPANDCTL = str(Path(sys.executable).parent / "expandctl")
# Names of this process's own: two runs at once (this worktree's tests, bench/tunnel.py,
# another worktree's copy) must never delete each other's namespaces.
PREFIX = f"xtd{os.getpid() % 100000}"
BRIDGE_NS, HUB_NS, APP_NS = f"{PREFIX}-br", f"{PREFIX}-hub", f"{PREFIX}-app"
HUB_IP, APP_IP, NET_PREFIX = "203.0.113.129", "203.0.113.130", 25
TUNNEL_USER, SUPPORT_USER = "xtdtunnel", "xtdsupport"
TUNNEL_UID, SUPPORT_UID = 64731, 64732
FORWARD_PORT = 20017
SSHD = "/usr/sbin/sshd"

CLAIM = Path(__file__).parent / "data" / "tunnel_claim.py"


def run(*argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                          check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr}")
    return proc


def keygen(path: Path, comment: str) -> str:
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path))
    return path.with_suffix(".pub").read_text().strip()


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (sshd's sessions are its children)."""
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


def banner(ns: str, port: int, timeout: float = 2) -> str:
    """The first line the service at localhost:PORT in ``ns`` sends, or '' (none)."""
    code = ("import socket,sys\ntry:\n s=socket.create_connection(('localhost',int(sys.argv[1])),"
            "float(sys.argv[2]))\n s.settimeout(float(sys.argv[2]))\n"
            " print(s.recv(200).decode(errors='replace').strip())\nexcept OSError:\n pass\n")
    proc = run("ip", "netns", "exec", ns, sys.executable, "-c", code, str(port), str(timeout),
               check=False, timeout=timeout + 10)
    return proc.stdout.strip()


@dataclass
class Sshd:
    name: str
    ns: str
    config: Path
    log: Path
    root: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        script = (f"mount --bind {self.root}/passwd /etc/passwd && "
                  f"mount --bind {self.root}/shadow /etc/shadow && "
                  f"exec {SSHD} -D -e -f {self.config}")
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, "unshare", "--mount", "--propagation",
                 "private", "sh", "-c", script], stdout=out, stderr=subprocess.STDOUT)
        port = 22
        ok, _ = poll(lambda: banner(self.ns, port, 0.5) if self.name == "app" else
                     self.hub_banner(), lambda b: b.startswith("SSH-2.0"), timeout=10,
                     interval=0.1)
        assert ok, f"{self.name} sshd did not start: {self.log.read_text()[-2000:]}"

    def hub_banner(self) -> str:
        code = ("import socket,sys\ntry:\n s=socket.create_connection((sys.argv[1],22),0.5)\n"
                " s.settimeout(0.5)\n print(s.recv(100).decode().strip())\nexcept OSError:\n"
                " pass\n")
        return run("ip", "netns", "exec", self.ns, sys.executable, "-c", code, HUB_IP,
                   check=False).stdout.strip()

    def stop(self) -> None:
        """The server and all its sessions, gone (a restarted machine)."""
        if self.proc is None:
            return
        signal_tree(self.proc.pid, signal.SIGCONT)
        signal_tree(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def freeze(self, frozen: bool) -> None:
        assert self.proc is not None
        signal_tree(self.proc.pid, signal.SIGSTOP if frozen else signal.SIGCONT)


def sshd_config(root: Path, name: str, host_key: Path, listen: str, extra: str) -> Path:
    path = root / f"{name}_sshd_config"
    path.write_text(textwrap.dedent(f"""\
        ListenAddress {listen}
        HostKey {host_key}
        PidFile {root}/{name}.pid
        AuthorizedKeysFile {root}/authorized/%u
        StrictModes no
        UsePAM no
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        PermitRootLogin no
        LogLevel DEBUG1
        """) + textwrap.dedent(extra))
    return path


def hub_extra() -> str:
    return f"""\
        Match User {TUNNEL_USER}
            AuthenticationMethods publickey
            PermitTTY no
            X11Forwarding no
            AllowAgentForwarding no
            AllowTcpForwarding remote
            PermitOpen none
            AllowStreamLocalForwarding no
            ClientAliveInterval 10
            ClientAliveCountMax 3
        """


@dataclass
class Lab:
    root: Path
    hub: Sshd
    app: Sshd
    app_pub: str
    engineer_key: Path
    config: Path
    daemon: subprocess.Popen[bytes] | None = None
    daemon_log: Path = field(default=Path("/dev/null"))

    # -- the daemon --------------------------------------------------------------------
    def start_daemon(self, notify_socket: Path | None = None) -> None:
        self.daemon_log = self.root / "daemon.log"
        env = dict(os.environ)
        if notify_socket is not None:  # as systemd would: sd_notify datagrams go there
            env["NOTIFY_SOCKET"] = str(notify_socket)
        with self.daemon_log.open("ab") as out:
            self.daemon = subprocess.Popen(
                ["ip", "netns", "exec", APP_NS, EXPANDCTL, "tunnel", "--config",
                 str(self.config), "run"], stdout=out, stderr=subprocess.STDOUT, env=env)

    def stop_daemon(self) -> None:
        if self.daemon is not None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(10)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait(5)
            self.daemon = None

    def state(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads((self.root / "tunnel.json").read_text())
        except (OSError, ValueError):
            return {}
        return data

    def wait_state(self, wanted: str, timeout: float) -> dict[str, Any]:
        ok, last = poll(self.state, lambda s: s.get("state") == wanted, timeout=timeout,
                        interval=0.05)
        assert ok, f"tunnel state {last} is not {wanted}; daemon log:\n{self.log_tail()}"
        return last

    def wait_state_not(self, left: str, timeout: float) -> dict[str, Any]:
        ok, last = poll(self.state, lambda s: s.get("state") != left, timeout=timeout,
                        interval=0.05)
        assert ok, f"tunnel state is still {left}; daemon log:\n{self.log_tail()}"
        return last

    def log_tail(self, size: int = 3000) -> str:
        return self.daemon_log.read_text()[-size:] if self.daemon_log.exists() else ""

    # -- through the forward -----------------------------------------------------------
    def forward_banner(self) -> str:
        """The appliance sshd's banner seen on the hub at localhost:PORT ('' if none)."""
        return banner(HUB_NS, FORWARD_PORT, 1)

    def wait_forward(self, timeout: float) -> float:
        """Seconds until the forward reaches the appliance's sshd again."""
        start = time.monotonic()
        ok, last = poll(self.forward_banner, lambda b: b.startswith("SSH-2.0"),
                        timeout=timeout, interval=0.05)
        assert ok, f"no banner through the forward ({last!r}); daemon log:\n{self.log_tail()}"
        return time.monotonic() - start

    def engineer_ssh(self, *command: str, direct: bool = False
                     ) -> subprocess.CompletedProcess[str]:
        """A real ssh client on the hub, through localhost:PORT to the appliance's sshd
        (``direct``: on the appliance itself, to its sshd on 127.0.0.1:22, no tunnel)."""
        ns, port = (APP_NS, 22) if direct else (HUB_NS, FORWARD_PORT)
        return run("ip", "netns", "exec", ns, "ssh", "-F", "none", "-p", str(port),
                   "-i", str(self.engineer_key), "-o", "BatchMode=yes",
                   "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
                   "-o", f"UserKnownHostsFile={self.root}/engineer_known_hosts",
                   "-o", "ConnectTimeout=5", f"{SUPPORT_USER}@localhost", *command,
                   check=False)

    def cable(self, connected: bool) -> None:
        run("ip", "-n", BRIDGE_NS, "link", "set", "app-port", "up" if connected else "down")

    def renumber(self, address: str) -> None:
        """The appliance comes back with another address (a new DHCP lease, a NAT
        rebinding): nothing of its old connection ever reaches the hub again, not even a
        FIN or RST, so the hub's old session holds the port until its ClientAlive ends it."""
        run("ip", "-n", APP_NS, "addr", "flush", "dev", "eth0")
        run("ip", "-n", APP_NS, "addr", "add", f"{address}/{NET_PREFIX}", "dev", "eth0")

    def window(self, *args: str) -> None:
        run(EXPANDCTL, "tunnel", "--config", str(self.config), *args)

    def status(self) -> subprocess.CompletedProcess[str]:
        return run(EXPANDCTL, "tunnel", "--config", str(self.config), "status", "--json",
                   check=False)

    def hub_key_line(self, line: str) -> None:
        (self.root / "authorized" / TUNNEL_USER).write_text(line + "\n")


def create_network() -> None:
    delete_network()
    for ns in (BRIDGE_NS, HUB_NS, APP_NS):
        run("ip", "netns", "add", ns)
        run("ip", "-n", ns, "link", "set", "lo", "up")
    run("ip", "-n", BRIDGE_NS, "link", "add", "hub0", "type", "bridge")
    run("ip", "-n", BRIDGE_NS, "link", "set", "hub0", "up")
    for port, ns, address in (("hub-port", HUB_NS, HUB_IP), ("app-port", APP_NS, APP_IP)):
        run("ip", "-n", BRIDGE_NS, "link", "add", port, "type", "veth", "peer", "name", "eth0",
            "netns", ns)
        run("ip", "-n", BRIDGE_NS, "link", "set", port, "master", "hub0", "up")
        run("ip", "-n", ns, "addr", "add", f"{address}/{NET_PREFIX}", "dev", "eth0")
        run("ip", "-n", ns, "link", "set", "eth0", "up")


def delete_network() -> None:
    listed = run("ip", "netns", "list").stdout.split()
    for ns in (BRIDGE_NS, HUB_NS, APP_NS):
        if ns in listed:
            run("ip", "netns", "delete", ns, check=False)


def write_users(root: Path) -> None:
    homes = root / "homes"
    passwd = Path("/etc/passwd").read_text()
    shadow = Path("/etc/shadow").read_text()
    for user, uid in ((TUNNEL_USER, TUNNEL_UID), (SUPPORT_USER, SUPPORT_UID)):
        home = homes / user
        home.mkdir(parents=True)
        os.chown(home, uid, uid)
        passwd += f"{user}:x:{uid}:{uid}::{home}:/bin/sh\n"
        shadow += f"{user}:*:20000:0:99999:7:::\n"
    (root / "passwd").write_text(passwd)
    (root / "shadow").write_text(shadow)
    (root / "shadow").chmod(0o640)


def tunnel_toml(root: Path, key: Path, timing: dict[str, float]) -> Path:
    path = root / "tunnel.toml"
    lines = ["[hub]", f'host = "{HUB_IP}"', f'user = "{TUNNEL_USER}"',
             f"forward-port = {FORWARD_PORT}", f'known-hosts = "{root}/hub_known_hosts"',
             "[local]", f'key = "{key}"', "[timing]",
             *(f"{k} = {v}" for k, v in timing.items()),
             "[files]", f'state = "{root}/tunnel.json"', f'window = "{root}/window.json"',
             f'engineers = "{root}/engineers.pub"',
             f'engineers-authorized-keys = "{root}/authorized/{SUPPORT_USER}"']
    path.write_text("\n".join(lines) + "\n")
    return path


FAST = {"keepalive-interval": 1, "keepalive-deadline": 1.5, "keepalive-misses": 3,
        "tcp-user-timeout": 5, "connect-timeout": 3, "policy-retry": 30}


@contextlib.contextmanager
def tunnel_lab(timing: dict[str, float] | None = None) -> Iterator[Lab]:
    """The hub and the appliance up (network, keys, both sshds, window open); everything
    torn down afterwards, even on failure. The daemon is the test's to start. The files
    live in a folder of their own: the hub's tunnel user must read its authorized_keys,
    and pytest's tmp_path is private to root."""
    require_tools("ip", "unshare", "ssh", "ssh-keygen", SSHD)
    root = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-", dir="/tmp"))
    root.chmod(0o755)
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, root, True)
        yield from _lab(root, timing)


def _lab(root: Path, timing: dict[str, float] | None) -> Iterator[Lab]:
    (root / "authorized").mkdir()
    write_users(root)
    hub_host_pub = keygen(root / "hub_host", "hub")
    app_host_pub = keygen(root / "app_host", "appliance host")
    app_pub = keygen(root / "appliance", "expand-tunnel@test")
    engineer_pub = keygen(root / "engineer", "alice")
    # EXPAND_TEST_CLAIM=/path/to/tree: the hub's real claim from that tree (branch tun-hub).
    real = os.environ.get("EXPAND_TEST_CLAIM")
    (root / "claim").write_text(f'#!/bin/sh\nPYTHONPATH={real} exec /usr/bin/python3 -m '
                                f'support.claim "$@"\n' if real else CLAIM.read_text())
    (root / "claim").chmod(0o755)
    (root / "authorized" / TUNNEL_USER).write_text(
        f'restrict,port-forwarding,permitlisten="localhost:{FORWARD_PORT}",'
        f'command="{root}/claim {FORWARD_PORT}" {app_pub}\n')
    (root / "hub_known_hosts").write_text(f"{HUB_IP} {hub_host_pub.rsplit(' ', 1)[0]}\n")
    (root / "engineer_known_hosts").write_text(
        f"[localhost]:{FORWARD_PORT} {app_host_pub.rsplit(' ', 1)[0]}\n"
        f"localhost {app_host_pub.rsplit(' ', 1)[0]}\n")
    (root / "engineers.pub").write_text(engineer_pub + "\n")
    config = tunnel_toml(root, root / "appliance", timing or FAST)
    hub = Sshd("hub", HUB_NS, sshd_config(root, "hub", root / "hub_host", HUB_IP, hub_extra()),
               root / "hub.log", root)
    app = Sshd("app", APP_NS, sshd_config(root, "app", root / "app_host", "127.0.0.1", ""),
               root / "app.log", root)
    lab = Lab(root, hub, app, app_pub, root / "engineer", config)
    try:
        create_network()
        hub.start()
        app.start()
        lab.window("enable")
        yield lab
    finally:
        lab.stop_daemon()
        hub.stop()
        app.stop()
        delete_network()
