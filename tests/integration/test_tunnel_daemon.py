"""The tunnel daemon against a real OpenSSH hub and a real appliance sshd, in namespaces."""

from __future__ import annotations

import time

from tests.integration.tunnel_support import FAST, FORWARD_PORT, keygen, tunnel_lab


def test_forward_reaches_the_appliance_sshd_and_comes_back_after_a_hub_restart(
        ) -> None:
    with tunnel_lab() as lab:
        lab.start_daemon()
        state = lab.wait_state("connected", timeout=20)
        assert state["port"] == FORWARD_PORT and state["connected_since"]
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


def test_frozen_hub_is_noticed_within_the_probe_deadline_and_left_after_thaw(
        ) -> None:
    with tunnel_lab() as lab:
        lab.start_daemon()
        lab.wait_state("connected", timeout=20)
        lab.wait_forward(timeout=5)
        lab.hub.freeze(True)
        frozen = time.monotonic()
        bound = FAST["keepalive-interval"] + FAST["keepalive-misses"] * \
            FAST["keepalive-deadline"]
        lab.wait_state_not("connected", timeout=bound + 3)
        noticed = time.monotonic() - frozen
        print(f"frozen hub noticed after {noticed:.2f} s (bound {bound} s)")
        assert "keepalive" in lab.log_tail()
        lab.hub.freeze(False)
        thawed = time.monotonic()
        lab.wait_state("connected", timeout=40)
        lab.wait_forward(timeout=10)
        print(f"thawed hub -> working forward: {time.monotonic() - thawed:.2f} s")
        assert lab.engineer_ssh("true").returncode == 0


def test_link_cut_while_the_hub_holds_the_listener_is_recovered_by_the_reclaim(
        ) -> None:
    with tunnel_lab() as lab:
        lab.start_daemon()
        lab.wait_state("connected", timeout=20)
        lab.wait_forward(timeout=5)
        lab.cable(False)
        lab.wait_state_not("connected", timeout=15)
        # The hub has not noticed (ClientAlive 10 s x 3): its old session holds the port.
        assert lab.forward_banner() == "", "the hub should still hold the stale listener"
        lab.cable(True)
        restored = time.monotonic()
        lab.wait_state("connected", timeout=25)
        lab.wait_forward(timeout=5)
        seconds = time.monotonic() - restored
        print(f"stale listener: cable back -> working forward {seconds:.2f} s")
        assert lab.state()["reclaims"] >= 1, lab.log_tail()
        assert seconds < 20, "recovered only by the hub's ClientAlive, not by the reclaim"
        assert lab.engineer_ssh("true").returncode == 0


def test_a_hub_with_another_host_key_is_refused_and_learns_nothing() -> None:
    with tunnel_lab() as lab:
        lab.hub.stop()
        impostor = lab.root / "impostor_host"
        keygen(impostor, "impostor")
        text = lab.hub.config.read_text().replace(f"HostKey {lab.root}/hub_host",
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
        for sent in ("userauth", "xtdtunnel", "Accepted", "Failed", "tcpip-forward",
                     lab.app_pub.split()[1][:20]):
            assert sent not in hub_log, f"{sent!r} reached the hub:\n{hub_log[-2000:]}"
        assert lab.forward_banner() == ""
