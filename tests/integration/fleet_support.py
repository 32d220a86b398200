"""A support hub, two appliances and an engineer, each in its namespace, with real sshds.

The hub namespace holds a bridge (203.0.113.129/25); the engineer (.130) and the two
appliances (.131, .132) hang on it by veth. Each appliance's sshd listens on its own
localhost:22; its reverse forward onto the hub (hub localhost:PORT → appliance
localhost:22) is made by ``ssh -N -R`` with ExitOnForwardFailure (the stand-in for the
tunnel daemon), its key restricted on the hub to exactly that listen port.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from appliance.wait import poll
from tests.integration.sshd_support import (
    Sshd,
    ip,
    keygen,
    namespaces,
    port_open,
    running_sshd,
    sshd_config,
)

HUB, ENGINEER = "xff-hub", "xff-eng"
HUB_IP, ENGINEER_IP = "203.0.113.129", "203.0.113.130"
SITES = {"acme": ("xff-acme", "203.0.113.131", 20017),
         "bravo": ("xff-bravo", "203.0.113.132", 20018)}
MISSING_SITE = ("charlie", 20019)  # in the registry, never connected
EXPANDCTL = str(Path(sys.executable).parent / "expandctl")


@dataclass
class Fleet:
    work: Path
    hub: Sshd
    appliances: dict[str, Sshd] = field(default_factory=dict)
    tunnels: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def engineer_key(self) -> Path:
        return self.work / "engineer"

    def registry(self, name: str = "registry.toml", swap: str = "") -> Path:
        """A registry written by ``support hub-add`` (``swap``: that site registered with
        another box's host key); charlie is registered but never connects."""
        path = self.work / name
        if path.exists():
            return path
        names = list(SITES)
        for site, (_, _, port) in SITES.items():
            key_of = names[1 - names.index(site)] if site == swap else site
            hub_add(path, self.work / f"{name}.keys", site, self.work / site / "tunnel.pub",
                    port, self.work / key_of / "ssh_host_ed25519_key.pub")
        keygen(self.work / f"{name}.charlie", "tunnel-charlie")
        hub_add(path, self.work / f"{name}.keys", MISSING_SITE[0],
                Path(f"{self.work / name}.charlie.pub"), MISSING_SITE[1],
                self.work / "acme/ssh_host_ed25519_key.pub")
        return path


def hub_add(registry: Path, authorized_keys: Path, site: str, key: Path, port: int,
            host_key: Path) -> str:
    """The real ``support hub-add``: the line it writes is what the hub's sshd gets."""
    subprocess.run([EXPANDCTL, "support", "hub-add", site, str(key), "--registry", str(registry),
                    "--authorized-keys", str(authorized_keys), "--port", str(port),
                    "--host-key", str(host_key)], check=True, capture_output=True, text=True)
    return authorized_keys.read_text()


def _bridge_port(ns: str, address: str, name: str) -> None:
    ip("-n", HUB, "link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip("-n", HUB, "link", "set", name, "master", "br0", "up")
    ip("-n", ns, "addr", "add", f"{address}/25", "dev", "eth0")
    ip("-n", ns, "link", "set", "eth0", "up")


@contextmanager
def fleet(work: Path) -> Iterator[Fleet]:
    appliance_ns = [ns for ns, _, _ in SITES.values()]
    with namespaces(HUB, ENGINEER, *appliance_ns), ExitStack() as stack:
        ip("-n", HUB, "link", "add", "br0", "type", "bridge")
        ip("-n", HUB, "addr", "add", f"{HUB_IP}/25", "dev", "br0")
        ip("-n", HUB, "link", "set", "br0", "up")
        _bridge_port(ENGINEER, ENGINEER_IP, "eng")
        engineer_pub = keygen(work / "engineer", "engineer")
        hub_keys = [engineer_pub]
        appliances = {}
        for site, (ns, address, port) in SITES.items():
            _bridge_port(ns, address, site)
            folder = work / site
            folder.mkdir()
            (folder / "authorized_keys").write_text(engineer_pub + "\n")
            config = sshd_config(folder, 22, folder / "authorized_keys",
                                 "ListenAddress 127.0.0.1\nLogLevel VERBOSE\n")
            appliances[site] = stack.enter_context(running_sshd(ns, "127.0.0.1", 22, config))
            keygen(folder / "tunnel", f"tunnel-{site}")
            lines = hub_add(work / "hub-registry.toml", work / "hub-tunnel-keys", site,
                            folder / "tunnel.pub", port, folder / "ssh_host_ed25519_key.pub")
        hub_dir = work / "hub"
        hub_dir.mkdir()
        # The appliances' lines exactly as hub-add wrote them, and the engineer's key.
        (hub_dir / "authorized_keys").write_text("\n".join(hub_keys) + "\n" + lines)
        config = sshd_config(hub_dir, 22, hub_dir / "authorized_keys",
                             f"ListenAddress {HUB_IP}\nAllowStreamLocalForwarding no\n")
        hub = stack.enter_context(running_sshd(HUB, HUB_IP, 22, config))
        (work / "hub_known_hosts").write_text(hub.known_hosts_line())
        result = Fleet(work, hub, appliances)
        for site, (ns, _, port) in SITES.items():
            result.tunnels[site] = stack.enter_context(reverse_forward(work, site, ns, port))
        yield result


@contextmanager
def reverse_forward(work: Path, site: str, ns: str, port: int
                    ) -> Iterator[subprocess.Popen[bytes]]:
    folder = work / site
    log = (folder / "tunnel.log").open("wb")
    proc = subprocess.Popen(
        ["ip", "netns", "exec", ns, "ssh", "-N", "-T", "-i", str(folder / "tunnel"),
         "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
         "-o", f"UserKnownHostsFile={work / 'hub_known_hosts'}", "-o", "ExitOnForwardFailure=yes",
         "-R", f"localhost:{port}:localhost:22", f"root@{HUB_IP}"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        up, _ = poll(lambda: port_open(HUB, "127.0.0.1", port), bool, timeout=10, interval=0.1)
        assert up, f"tunnel {site} did not come up: {(folder / 'tunnel.log').read_text()}"
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        log.close()
