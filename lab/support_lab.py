"""The support lab: a hub and appliances in network namespaces, every piece the real one.

- the hub: OpenSSH sshd whose tunnel-user block is ``expandctl support hub-config``'s, the
  claim program ``support hub-install``'s, each appliance's key line ``support hub-add``'s
  (its port, its host key pinned in the registry);
- each appliance: its own sshd on 127.0.0.1:22 and the real tunnel daemon
  (``expandctl tunnel run``) holding the hub's localhost:PORT, its support window open;
- an engineer namespace, from which ``support run/ssh/verify`` go through the hub.

203.0.113.128/25 on one bridge (the hub .129, the engineer .130, appliances from .131).
Names carry the process id (``xsl<pid>-*``): two labs at once never delete each other's.
``support_lab()`` tears everything down on every path: daemons, sshds (by PID, with their
sessions), namespaces and files. Needs root. Used by ``make demo`` (bench/support_demo.py)
and the support/tunnel integration tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from appliance.wait import poll
from lab.support_net import (
    Site,
    Sshd,
    SupportLabError,
    banner,
    create_bridge_network,
    delete_namespaces,
    in_ns,
    keygen,
    run,
    sshd_config,
    stop_tree,
    write_users,
)

EXPANDCTL = str(Path(sys.executable).parent / "expandctl")
SYSTEM_PYTHON = "/usr/bin/python3"  # the hub's tunnel user runs the claim with it
HUB_IP, ENGINEER_IP, NET_PREFIX = "203.0.113.129", "203.0.113.130", 25
TUNNEL_USER, SUPPORT_USER = "xsltunnel", "xslsupport"
USERS = {TUNNEL_USER: 64741, SUPPORT_USER: 64742}
FIRST_PORT = 20017
SITES = ("acme", "bravo")


@dataclass
class SupportLab:
    root: Path
    prefix: str
    hub: Sshd
    sites: dict[str, Site] = field(default_factory=dict)

    @property
    def hub_ns(self) -> str:
        return f"{self.prefix}-hub"

    @property
    def engineer_ns(self) -> str:
        return f"{self.prefix}-eng"

    @property
    def registry(self) -> Path:
        return self.root / "hub" / "registry.toml"

    @property
    def engineer_key(self) -> Path:
        return self.root / "engineer"

    @property
    def hub_known_hosts(self) -> Path:
        return self.root / "hub_known_hosts"

    @property
    def hub_tunnel_keys(self) -> Path:
        """The tunnel user's authorized_keys on the hub (``support hub-add``'s lines)."""
        return self.root / "hub" / "tunnel_keys"

    @property
    def hub_host_key(self) -> Path:
        return self.root / "hub" / "host_ed25519"

    @property
    def claim(self) -> Path:
        return self.root / "hub" / "claim"

    def expandctl(self, *args: str, ns: str | None = None, timeout: float = 120
                  ) -> subprocess.CompletedProcess[str]:
        """expandctl in ``ns`` (None: the host); the result whatever its exit."""
        argv = [EXPANDCTL, *args]
        return subprocess.run(in_ns(ns, *argv) if ns else argv, capture_output=True,
                              text=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)

    def support_list(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``support list`` on the hub (as root there: it reads the sessions' sockets)."""
        return self.expandctl("support", "list", "--registry", str(self.registry), *args,
                              ns=self.hub_ns)

    def support(self, command: str, *args: str, registry: Path | None = None,
                hub_known_hosts: Path | None = None) -> subprocess.CompletedProcess[str]:
        """An engineer's ``support run|ssh|verify``, from the engineer's namespace (with
        the hub's registry and pinned host key unless told others)."""
        return self.expandctl(
            "support", command, "--hub", f"{SUPPORT_USER}@{HUB_IP}", "--hub-known-hosts",
            str(hub_known_hosts or self.hub_known_hosts), "--registry",
            str(registry or self.registry), "--identity", str(self.engineer_key),
            "--user", SUPPORT_USER, *args, ns=self.engineer_ns)

    def tunnel(self, site: str, *args: str) -> subprocess.CompletedProcess[str]:
        """``expandctl tunnel`` on that appliance (status, enable, disable)."""
        return self.expandctl("tunnel", "--config", str(self.sites[site].config), *args,
                              ns=self.sites[site].ns)

    # -- the tunnels ---------------------------------------------------------------------
    def start_daemon(self, site: str, notify_socket: Path | None = None) -> None:
        """``expandctl tunnel run`` on the appliance (``notify_socket``: where sd_notify
        datagrams go, as under systemd)."""
        appliance = self.sites[site]
        env = dict(os.environ)
        if notify_socket is not None:
            env["NOTIFY_SOCKET"] = str(notify_socket)
        with appliance.daemon_log.open("ab") as out:
            appliance.daemon = subprocess.Popen(
                in_ns(appliance.ns, EXPANDCTL, "tunnel", "--config", str(appliance.config),
                      "run"), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env)

    def stop_daemon(self, site: str) -> None:
        appliance = self.sites[site]
        if appliance.daemon is not None:
            stop_tree(appliance.daemon, gently=True)
            appliance.daemon = None

    def cable(self, site: str, connected: bool) -> None:
        """The appliance's cable pulled at the switch (its own interface stays up)."""
        run("ip", "-n", f"{self.prefix}-br", "link", "set", self.sites[site].bridge_port,
            "up" if connected else "down")

    def renumber(self, site: str, address: str) -> None:
        """The appliance back with another address (a new lease, a NAT rebinding): nothing
        of its old connection reaches the hub again, not even a FIN or RST."""
        ns = self.sites[site].ns
        run("ip", "-n", ns, "addr", "flush", "dev", "eth0")
        run("ip", "-n", ns, "addr", "add", f"{address}/{NET_PREFIX}", "dev", "eth0")

    def forward_banner(self, site: str) -> str:
        """What the hub's localhost:PORT of that site answers first ('' for nothing)."""
        return banner(self.hub_ns, "127.0.0.1", self.sites[site].port)

    def forward_up(self, site: str) -> bool:
        """The appliance's sshd answers on the hub's localhost:PORT."""
        return banner(self.hub_ns, "127.0.0.1", self.sites[site].port).startswith("SSH-2.0")

    def wait_forwards(self, timeout: float) -> float:
        """Seconds until every site's forward reaches its sshd; raises on the timeout."""
        start = time.monotonic()
        up, _ = poll(lambda: [s for s in self.sites if not self.forward_up(s)],
                     lambda down: not down, timeout=timeout, interval=0.05)
        if not up:
            tails = {s: a.daemon_log.read_text()[-600:] if a.daemon_log.exists() else ""
                     for s, a in self.sites.items()}
            raise SupportLabError(f"forwards not up after {timeout:g} s; daemon logs: {tails}")
        return time.monotonic() - start

    def restart_hub(self, timeout: float = 60) -> float:
        """The hub's sshd and all its sessions killed and started again: seconds from the
        new sshd's start until every forward works again."""
        self.hub.stop()
        start = time.monotonic()
        self.hub.start()
        self.wait_forwards(timeout)
        return time.monotonic() - start


def _tunnel_toml(site: Site, timing: Mapping[str, float]) -> None:
    folder = site.folder
    lines = ["[hub]", f'host = "{HUB_IP}"', f'user = "{TUNNEL_USER}"',
             f"forward-port = {site.port}", f'known-hosts = "{folder}/hub_known_hosts"',
             "[local]", f'key = "{folder}/tunnel_key"',
             "[files]", f'state = "{folder}/tunnel.json"', f'window = "{folder}/window.json"',
             f'engineers = "{folder}/engineers.pub"',
             f'engineers-authorized-keys = "{folder}/authorized/{SUPPORT_USER}"']
    if timing:
        lines += ["[timing]", *(f"{key} = {value}" for key, value in timing.items())]
    site.config.write_text("\n".join(lines) + "\n")


def _hub(lab_root: Path, hub_ns: str) -> Sshd:
    """The hub's files: claim, host key, the engineer's login; the sshd config is written
    once the sites are added (its Match block names their keys file)."""
    folder = lab_root / "hub"
    (folder / "authorized").mkdir(parents=True)
    host_pub = keygen(folder / "host_ed25519", "hub").rsplit(" ", 1)[0]
    (lab_root / "hub_known_hosts").write_text(f"{HUB_IP} {host_pub}\n")
    engineer_pub = keygen(lab_root / "engineer", "engineer@lab")
    (folder / "authorized" / SUPPORT_USER).write_text(engineer_pub + "\n")
    run(EXPANDCTL, "support", "hub-install", "--to", str(folder / "claim"),
        "--python", SYSTEM_PYTHON)
    return Sshd("hub", hub_ns, folder / "sshd_config", folder / "sshd.log", lab_root,
                (HUB_IP, 22))


def _site(lab: SupportLab, name: str, number: int, timing: Mapping[str, float],
          log_level: str) -> Site:
    folder = lab.root / name
    (folder / "authorized").mkdir(parents=True)
    keygen(folder / "host_ed25519", f"host@{name}")
    keygen(folder / "tunnel_key", f"expand-tunnel@{name}")
    shutil.copy(lab.hub_known_hosts, folder / "hub_known_hosts")
    shutil.copy(f"{lab.engineer_key}.pub", folder / "engineers.pub")
    config = sshd_config(folder / "sshd_config", listen=("127.0.0.1", 22),
                         host_key=folder / "host_ed25519",
                         authorized_keys=f"{folder}/authorized/%u", log_level=log_level)
    site = Site(name, f"{lab.prefix}-{name}", f"203.0.113.{131 + number}", FIRST_PORT + number,
                folder, Sshd(name, f"{lab.prefix}-{name}", config, folder / "sshd.log",
                             lab.root, ("127.0.0.1", 22)),
                bridge_port=f"p-{number + 2}")  # p-0 the hub's, p-1 the engineer's
    _tunnel_toml(site, timing)
    run(EXPANDCTL, "support", "hub-add", name, f"{folder}/tunnel_key.pub", "--port",
        str(site.port), "--host-key", f"{folder}/host_ed25519.pub", "--registry",
        str(lab.registry), "--authorized-keys", str(lab.hub_tunnel_keys),
        "--claim-command", str(lab.claim))
    return site


def _hub_config(lab: SupportLab, log_level: str) -> None:
    block = run(EXPANDCTL, "support", "hub-config", "--user", TUNNEL_USER,
                "--authorized-keys", str(lab.hub_tunnel_keys)).stdout
    sshd_config(lab.hub.config, listen=(HUB_IP, 22), host_key=lab.hub_host_key,
                authorized_keys=f"{lab.root}/hub/authorized/%u", extra="\n" + block,
                log_level=log_level)


@contextlib.contextmanager
def support_lab(sites: tuple[str, ...] = SITES, *, timing: Mapping[str, float] | None = None,
                start_daemons: bool = True, timeout: float = 60,
                log_level: str = "VERBOSE") -> Iterator[SupportLab]:
    """The lab up: hub, appliances (window open, daemons started and their forwards up
    unless ``start_daemons`` is false), engineer. ``timing``: the daemons' [timing]
    settings (default: the daemon's own defaults); ``log_level``: every sshd's."""
    for tool in ("ip", "unshare", "ssh", "ssh-keygen", "/usr/sbin/sshd"):
        if shutil.which(tool) is None:
            raise SupportLabError(f"the support lab needs {tool} (openssh-server, iproute2)")
    prefix = f"xsl{os.getpid() % 100000}"
    names = [f"{prefix}-br", f"{prefix}-hub", f"{prefix}-eng", *(f"{prefix}-{s}" for s in sites)]
    # Below /run, 0755: the hub's tunnel user reads its claim and home there.
    root = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir="/run"))
    root.chmod(0o755)
    lab: SupportLab | None = None
    try:
        write_users(root, USERS)
        lab = SupportLab(root, prefix, _hub(root, f"{prefix}-hub"))
        for number, name in enumerate(sites):
            lab.sites[name] = _site(lab, name, number, timing or {}, log_level)
        _hub_config(lab, log_level)
        delete_namespaces(names)  # a killed run's leftovers of this very name
        members = {lab.hub_ns: HUB_IP, lab.engineer_ns: ENGINEER_IP,
                   **{s.ns: s.ip for s in lab.sites.values()}}
        create_bridge_network(names[0], members, NET_PREFIX)
        lab.hub.start()
        for name, site in lab.sites.items():
            site.sshd.start()
            result = lab.tunnel(name, "enable")
            if result.returncode != 0:
                raise SupportLabError(f"tunnel enable on {name}: {result.stderr.strip()}")
        if start_daemons:
            for name in lab.sites:
                lab.start_daemon(name)
            lab.wait_forwards(timeout)
        yield lab
    finally:
        if lab is not None:
            for name, site in lab.sites.items():
                lab.stop_daemon(name)
                site.sshd.stop()
            lab.hub.stop()
        delete_namespaces(names)
        shutil.rmtree(root, ignore_errors=True)
