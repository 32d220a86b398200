"""The tunnel daemon against a real OpenSSH hub and a real appliance sshd, in namespaces."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from lab.support_lab import TUNNEL_USER
from tests.integration.tunnel_support import (
    FAST,
    FORWARD_PORT,
    SUPPORT_USER,
    keygen,
    run,
    tunnel_lab,
)


def test_forward_reaches_the_appliance_sshd_and_comes_back_after_a_hub_restart(
        ) -> None:
    with tunnel_lab() as lab:
        lab.start_daemon()
        state = lab.wait_state("connected", timeout=20)
        assert state["port"] == FORWARD_PORT and state["connected_since"]
        assert state["support_window"] == {"open": True, "enabled": True, "until": None}
        lab.wait_forward(timeout=5)
        reached = lab.engineer_ssh("echo", "reached-appliance")
        assert reached.stdout.strip() == "reached-appliance", reached.stderr
        assert (lab.root / "tunnel.json").stat().st_mode & 0o777 == 0o644

        lab.hub.stop()
        start = time.monotonic()
        lab.hub.start()
        lab.wait_forward(timeout=20)
        seconds = time.monotonic() - start
        print(f"hub restart -> working forward: {seconds:.2f} s")
        assert lab.engineer_ssh("true").returncode == 0
        assert lab.state()["sessions"] >= 2
        # The appliance's private key is in no log, state file or process list.
        body = [line for line in lab.key.read_text().splitlines()
                if "PRIVATE KEY" not in line]
        seen = (lab.log_tail(10**7) + lab.hub.log.read_text()
                + (lab.root / "tunnel.json").read_text() + run("ps", "-eo", "args").stdout)
        assert body and not [line for line in body if line in seen]


class Notifications:
    """systemd's side of sd_notify: a datagram socket that counts WATCHDOG=1 pings."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)

    def drain(self) -> list[str]:
        got: list[str] = []
        while True:
            try:
                got.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return got

    def watchdog_pings(self, seconds: float) -> int:
        self.drain()
        time.sleep(seconds)
        return sum(m == "WATCHDOG=1" for m in self.drain())


def test_frozen_hub_is_noticed_within_the_probe_deadline_and_left_after_thaw(
        ) -> None:
    with tunnel_lab() as lab:
        notes = Notifications(lab.root / "notify.sock")
        lab.start_daemon(notify_socket=notes.path)
        lab.wait_state("connected", timeout=20)
        lab.wait_forward(timeout=5)
        assert "READY=1" in notes.drain()
        assert notes.watchdog_pings(2.5) >= 2, "the watchdog is fed while verified"
        lab.hub.freeze(True)
        frozen = time.monotonic()
        bound = FAST["keepalive-interval"] + FAST["keepalive-misses"] * \
            FAST["keepalive-deadline"]
        lab.wait_state_not("connected", timeout=bound + 3)
        noticed = time.monotonic() - frozen
        print(f"frozen hub noticed after {noticed:.2f} s (bound {bound} s)")
        assert "keepalive" in lab.log_tail()
        assert notes.watchdog_pings(3) == 0, "the watchdog is fed with no verified forward"
        lab.hub.freeze(False)
        thawed = time.monotonic()
        lab.wait_state("connected", timeout=40)
        lab.wait_forward(timeout=10)
        print(f"thawed hub -> working forward: {time.monotonic() - thawed:.2f} s")
        assert lab.engineer_ssh("true").returncode == 0
        assert notes.watchdog_pings(2.5) >= 2


def test_link_cut_while_the_hub_holds_the_listener_is_recovered_by_the_reclaim(
        ) -> None:
    with tunnel_lab() as lab:
        lab.start_daemon()
        lab.wait_state("connected", timeout=20)
        lab.wait_forward(timeout=5)
        lab.cable(False)
        lab.wait_state_not("connected", timeout=15)
        lab.renumber("203.0.113.141")
        lab.cable(True)
        restored = time.monotonic()
        lab.wait_state("connected", timeout=25)
        lab.wait_forward(timeout=5)
        seconds = time.monotonic() - restored
        print(f"stale listener: cable back -> working forward {seconds:.2f} s")
        # The hub had not noticed (ClientAlive 10 s x 3): its old session held the port
        # until the claim ended it.
        assert lab.state()["reclaims"] >= 1, lab.log_tail()
        assert "ended the older session" in lab.log_tail()
        assert seconds < 20, "recovered only by the hub's ClientAlive, not by the reclaim"
        assert lab.engineer_ssh("true").returncode == 0


def test_a_hub_with_another_host_key_is_refused_and_learns_nothing() -> None:
    with tunnel_lab() as lab:
        lab.hub.stop()
        impostor = lab.root / "impostor_host"
        keygen(impostor, "impostor")
        text = lab.hub.config.read_text().replace(f"HostKey {lab.support.hub_host_key}",
                                                  f"HostKey {impostor}")
        lab.hub.config.write_text(text)
        lab.hub.log.write_text("")
        lab.hub.start()
        lab.start_daemon()
        state = lab.wait_state("refused-host-key", timeout=20)
        assert "another host key" in state["last_error"]
        time.sleep(1)
        hub_log = lab.hub.log.read_text()
        assert "Connection from" in hub_log and "kex" in hub_log.lower(), hub_log[-2000:]
        # Nothing after the key exchange: no user name, no key, no request.
        for sent in ("userauth", TUNNEL_USER, "Accepted", "Failed", "tcpip-forward",
                     lab.app_pub.split()[1][:20]):
            assert sent not in hub_log, f"{sent!r} reached the hub:\n{hub_log[-2000:]}"
        assert lab.forward_banner() == ""


def test_forward_refused_by_policy_is_an_alert_not_a_reclaim() -> None:
    with tunnel_lab() as lab:
        # The hub's key line allows another port only: sshd says "port forwarding refused".
        lab.hub_key_line(f'restrict,port-forwarding,permitlisten="localhost:{FORWARD_PORT + 1}"'
                         f',command="{lab.support.claim} {FORWARD_PORT + 1}" {lab.app_pub}')
        lab.start_daemon()
        state = lab.wait_state("refused-policy", timeout=20)
        assert "by policy" in state["last_error"] and state["reclaims"] == 0
        status = lab.status()
        assert status.returncode == 3 and json.loads(status.stdout)["state"] == "refused-policy"
        time.sleep(3)
        assert lab.log_tail().count("tunnel connecting") == 1, "retried faster than policy-retry"


def test_support_window_closes_by_itself_and_the_engineer_is_refused() -> None:
    with tunnel_lab() as lab:
        lab.window("enable", "--for", "6s")
        lab.start_daemon()
        lab.wait_state("connected", timeout=20)
        lab.wait_forward(timeout=5)
        status = lab.status()
        assert status.returncode == 0, status.stdout + status.stderr
        data = json.loads(status.stdout)
        assert data["support_window"]["open"] and data["support_window"]["until"]
        assert data["public_key"] == lab.app_pub and data["connected_since"]
        assert data["hub"] == "203.0.113.129:22" and data["port"] == FORWARD_PORT
        assert lab.engineer_ssh("true").returncode == 0
        lab.wait_state("window-closed", timeout=15)
        assert lab.forward_banner() == "", "the forward is still open after the deadline"
        # The appliance's sshd itself refuses the engineer's key after the deadline.
        text = (lab.root / "authorized" / SUPPORT_USER).read_text()
        assert "ssh-ed25519" not in text, text
        lab.window("enable")
        lab.wait_state("connected", timeout=10)
        lab.wait_forward(timeout=5)
        assert lab.engineer_ssh("true").returncode == 0
        lab.window("disable")
        lab.wait_state("window-closed", timeout=5)
        assert lab.status().returncode == 3


def test_sshd_itself_refuses_an_engineer_key_past_the_window_even_without_the_daemon(
        ) -> None:
    with tunnel_lab() as lab:
        lab.window("enable", "--for", "4s")
        assert lab.engineer_ssh("true", direct=True).returncode == 0
        time.sleep(4.5)
        refused = lab.engineer_ssh("true", direct=True)
        assert refused.returncode == 255, refused.stdout
        assert "expired" in lab.app.log.read_text()
