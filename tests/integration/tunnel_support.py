"""The tunnel daemon's tests on the one support lab (lab/support_lab.py): a real hub sshd
(hub-config, hub-install's claim, hub-add's key line) and one appliance ``app`` with its own
sshd, in namespaces on one bridge; the daemon is the test's to start. ``Lab`` gives the
tests that one appliance's view: its state file, its cable, a real ssh client on the hub
through the forward.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.wait import poll
from lab.support_lab import FIRST_PORT, SUPPORT_USER, SupportLab, support_lab
from lab.support_net import Sshd, keygen
from tests.support import require_tools

FORWARD_PORT = FIRST_PORT
SITE = "app"

FAST = {"keepalive-interval": 1, "keepalive-deadline": 1.5, "keepalive-misses": 3,
        "tcp-user-timeout": 5, "connect-timeout": 3, "policy-retry": 30}

__all__ = ["FAST", "FORWARD_PORT", "SUPPORT_USER", "Lab", "keygen", "run", "tunnel_lab"]


def run(*argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                          check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr}")
    return proc


@dataclass
class Lab:
    support: SupportLab

    @property
    def root(self) -> Path:
        """The appliance's folder: tunnel.json, window.json, authorized/<support user>."""
        return self.support.sites[SITE].folder

    @property
    def key(self) -> Path:
        return self.support.sites[SITE].key

    @property
    def app_pub(self) -> str:
        return self.support.sites[SITE].public_key

    @property
    def hub(self) -> Sshd:
        return self.support.hub

    @property
    def app(self) -> Sshd:
        return self.support.sites[SITE].sshd

    @property
    def engineer_key(self) -> Path:
        return self.support.engineer_key

    def start_daemon(self, notify_socket: Path | None = None) -> None:
        self.support.start_daemon(SITE, notify_socket)

    def stop_daemon(self) -> None:
        self.support.stop_daemon(SITE)

    def state(self) -> dict[str, Any]:
        return self.support.sites[SITE].state()

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
        log = self.support.sites[SITE].daemon_log
        return log.read_text()[-size:] if log.exists() else ""

    def forward_banner(self) -> str:
        return self.support.forward_banner(SITE)

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
        site = self.support.sites[SITE]
        ns, port = (site.ns, 22) if direct else (self.support.hub_ns, FORWARD_PORT)
        host_key = " ".join(Path(f"{site.folder}/host_ed25519.pub").read_text().split()[:2])
        known = self.root / "engineer_known_hosts"
        known.write_text(f"[localhost]:{FORWARD_PORT} {host_key}\nlocalhost {host_key}\n")
        return run("ip", "netns", "exec", ns, "ssh", "-F", "none", "-p", str(port),
                   "-i", str(self.engineer_key), "-o", "BatchMode=yes",
                   "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
                   "-o", f"UserKnownHostsFile={known}",
                   "-o", "ConnectTimeout=5", f"{SUPPORT_USER}@localhost", *command,
                   check=False)

    def cable(self, connected: bool) -> None:
        self.support.cable(SITE, connected)

    def renumber(self, address: str) -> None:
        self.support.renumber(SITE, address)

    def window(self, *args: str) -> None:
        result = self.support.tunnel(SITE, *args)
        assert result.returncode == 0, result.stderr

    def status(self) -> subprocess.CompletedProcess[str]:
        return self.support.tunnel(SITE, "status", "--json")

    def hub_key_line(self, line: str) -> None:
        """The hub's tunnel keys file holds only ``line`` (a key line of the test's)."""
        self.support.hub_tunnel_keys.write_text(line + "\n")


@contextlib.contextmanager
def tunnel_lab(timing: dict[str, float] | None = None) -> Iterator[Lab]:
    """The hub and the appliance up (network, keys, both sshds, window open), the daemon
    not started; everything torn down afterwards, even on failure. The sshds log at
    DEBUG1 (the tests read what reached them)."""
    require_tools("ip", "unshare", "ssh", "ssh-keygen", "/usr/sbin/sshd")
    with support_lab((SITE,), timing=timing or FAST, start_daemons=False,
                     log_level="DEBUG1") as lab:
        yield Lab(lab)
