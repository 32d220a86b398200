"""The tunnel daemon's pure parts: backoff, refusal classification, state, window, settings,
pinning, the one-request slot."""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.reports import ValidationFailed
from tunnel import state as st
from tunnel.backoff import Backoff
from tunnel.classify import Refusal, attach, classify
from tunnel.config import load_config, parse_config, render_config
from tunnel.pinning import HostKeyRefused, check_host_key, key_algorithms, pinned_keys
from tunnel.requests import RequestSlot
from tunnel.sdnotify import notify
from tunnel.unit import unit_text
from tunnel.window import (
    Window,
    authorized_keys,
    expiry_time,
    parse_duration,
    read_window,
    write_window,
)

NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


def public_line() -> str:
    key = Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).decode()


# -- backoff ---------------------------------------------------------------------------
def test_backoff_doubles_from_half_a_second_to_thirty_and_resets() -> None:
    highest = Backoff(rng=lambda: 1.0)
    assert [highest.next_delay() for _ in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    highest.reset()
    assert highest.next_delay() == 0.5


def test_backoff_jitter_stays_within_half_to_full_delay() -> None:
    lowest = Backoff(rng=lambda: 0.0)
    assert [lowest.next_delay() for _ in range(4)] == [0.25, 0.5, 1, 2]
    real = Backoff()
    delays = [real.next_delay() for _ in range(200)]
    assert all(0.25 <= d <= 30 for d in delays)
    assert len({round(d, 6) for d in delays[10:]}) > 100, "no jitter at the cap"


def test_backoff_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        Backoff(first=0)
    with pytest.raises(ValueError):
        Backoff(first=40, cap=30)


# -- classification ----------------------------------------------------------------------
def test_policy_refusal_is_told_from_a_held_port() -> None:
    assert classify(["Port forwarding refused."]) is Refusal.POLICY
    assert classify(["port forwarding refused"]) is Refusal.POLICY
    assert classify([]) is Refusal.PORT_HELD
    assert classify(["Port forwarding disabled: restricted."]) is Refusal.PORT_HELD


def test_collector_takes_the_hubs_debug_texts_from_paramikos_log_line() -> None:
    forwarded = logging.getLogger("test.tunnel.forwarded")
    collector = attach("test.tunnel.channel", forwarded)
    logger = logging.getLogger("test.tunnel.channel")
    logger.debug("Debug msg: %s", "Port forwarding refused.")  # as paramiko's _parse_debug
    logger.debug("Sending global request \"tcpip-forward\"")
    assert classify(collector.take()) is Refusal.POLICY
    assert collector.take() == [], "take() empties: a later refusal is judged on its own"
    for _ in range(50):
        logger.debug("Debug msg: %s", "x" * 1000)
    taken = collector.take()
    assert len(taken) == 20 and all(len(t) == 200 for t in taken), "kept short and few"


# -- state file --------------------------------------------------------------------------
def test_state_round_trips_world_readable_and_without_secrets(tmp_path: Path) -> None:
    path = str(tmp_path / "run" / "tunnel.json")
    state = st.TunnelState(st.CONNECTED, "hub.example.org:22", 20017,
                           connected_since=NOW.isoformat(), reclaims=1, sessions=2, pid=1)
    st.write_state(FileSink(Path("/")), path, state)
    assert Path(path).stat().st_mode & 0o777 == 0o644
    assert st.read_state(path) == state
    data = json.loads(Path(path).read_text())
    assert set(data) == {"state", "hub", "port", "connected_since", "last_error", "reclaims",
                         "sessions", "pid", "support_window"}
    assert st.read_state(str(tmp_path / "none.json")) is None


def test_state_file_of_another_shape_is_named(tmp_path: Path) -> None:
    for text in ('{"state": "dancing"}', "[1]", '{"state": "connected", "port": []}x'):
        (tmp_path / "s.json").write_text(text)
        with pytest.raises(ExpandError, match=r"s\.json"):
            st.read_state(str(tmp_path / "s.json"))


# -- support window ----------------------------------------------------------------------
@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("24h", 86400),
                                               ("7d", 604800), ("1h30m", 5400),
                                               (" 2H ", 7200)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "24", "h", "-1h", "1.5h", "0s", "31d", "1h 30m", "1w"])
def test_bad_durations_name_the_option(text: str) -> None:
    with pytest.raises(ExpandError, match="--for"):
        parse_duration(text)


def test_window_closes_by_itself() -> None:
    window = Window(True, NOW + timedelta(hours=24))
    assert window.is_open(NOW) and window.is_open(NOW + timedelta(hours=23, minutes=59))
    assert not window.is_open(NOW + timedelta(hours=24))
    assert Window(True).is_open(NOW + timedelta(days=999))
    assert not Window(False).is_open(NOW)


def test_engineers_keys_carry_the_deadline_and_go_when_closed(tmp_path: Path) -> None:
    alice, bob = public_line() + " alice", public_line() + " bob"
    engineers = f"# support engineers\n{alice}\n\n{bob}\n"
    until = NOW + timedelta(hours=24)
    text = authorized_keys(Window(True, until), engineers, NOW)
    assert expiry_time(until) == "20261202140000Z"
    assert f'expiry-time="20261202140000Z" {alice}\n' in text
    assert f'expiry-time="20261202140000Z" {bob}\n' in text
    assert "ssh-ed25519" not in authorized_keys(Window(True, until), engineers, until)
    assert "ssh-ed25519" not in authorized_keys(Window(False), engineers, NOW)
    assert "expiry-time" not in authorized_keys(Window(True), engineers, NOW)


def test_an_engineer_line_with_options_is_refused() -> None:
    for line in ['command="sh" ' + public_line(), "ssh-ed25519", "ssh-dss AAAA x",
                 public_line() + " a\nb"]:
        with pytest.raises(ExpandError, match="line"):
            authorized_keys(Window(True), line, NOW)


def test_window_is_written_with_its_keys_and_read_back(tmp_path: Path) -> None:
    (tmp_path / "eng.pub").write_text(public_line() + " alice\n")
    paths = (str(tmp_path / "w.json"), str(tmp_path / "eng.pub"), str(tmp_path / "ak"))
    window = Window(True, NOW + timedelta(minutes=5))
    write_window(window, paths[0], paths[1], paths[2], NOW)
    assert read_window(paths[0]) == window
    assert "expiry-time" in (tmp_path / "ak").read_text()
    write_window(Window(False), paths[0], paths[1], paths[2], NOW)
    assert read_window(paths[0]) == Window(False)
    assert "ssh-" not in (tmp_path / "ak").read_text()
    assert read_window(str(tmp_path / "absent.json")) == Window(False)


@pytest.mark.parametrize("text", ['{"enabled": "yes"}', '{"enabled": true, "until": "soon"}',
                                  '{"enabled": true, "until": "2026-12-01T10:00:00"}', "[]"])
def test_a_bad_window_file_is_named(tmp_path: Path, text: str) -> None:
    (tmp_path / "w.json").write_text(text)
    with pytest.raises(ExpandError, match=r"w\.json"):
        read_window(str(tmp_path / "w.json"))


# -- settings ----------------------------------------------------------------------------
def test_settings_defaults_and_round_trip(tmp_path: Path) -> None:
    values = {"hub.host": "hub.expand.com.uy", "hub.forward-port": 20017,
              "hub.known-hosts": "/etc/expand/tunnel/known_hosts"}
    (tmp_path / "t.toml").write_text(render_config(values))
    config = load_config(tmp_path / "t.toml")
    assert config.hub == "hub.expand.com.uy:22" and config.host_key_name == "hub.expand.com.uy"
    assert (config.sshd_host, config.sshd_port, config.hub_user) == ("127.0.0.1", 22, "tunnel")
    # Silent death noticed within 15 s by default: interval + misses x deadline.
    assert config.keepalive_interval + config.keepalive_misses * config.keepalive_deadline <= 15
    other, problems = parse_config({"hub": {"host": "203.0.113.129", "port": 2222,
                                            "forward_port": 20017}}, "t.toml")
    assert other is not None and other.host_key_name == "[203.0.113.129]:2222", problems


def test_every_settings_problem_is_reported_at_once() -> None:
    config, reports = parse_config({"hub": {"host": "not a host", "port": 0, "colour": 1},
                                    "timing": {"keepalive-misses": True,
                                               "keepalive-deadline": -1},
                                    "files": {"state": "relative/path"}, "extra": {}},
                                   "t.toml")
    assert config is None
    keys = {r.key for r in reports}
    assert {"hub.host", "hub.port", "hub.colour", "hub.forward-port", "timing.keepalive-misses",
            "timing.keepalive-deadline", "files.state", "extra"} <= keys
    assert all(str(r).startswith("t.toml: ") for r in reports)


def test_settings_file_problems_raise_validation_failed(tmp_path: Path) -> None:
    (tmp_path / "t.toml").write_text("[hub]\nhost = 1\n")
    with pytest.raises(ValidationFailed) as caught:
        load_config(tmp_path / "t.toml")
    assert {r.key for r in caught.value.reports} == {"hub.host", "hub.forward-port"}


# -- pinning -----------------------------------------------------------------------------
def _pkey() -> paramiko.PKey:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption()).decode()
    return paramiko.Ed25519Key.from_private_key(io.StringIO(pem))


def test_only_the_pinned_key_of_the_named_hub_is_accepted(tmp_path: Path) -> None:
    hub, other = _pkey(), _pkey()
    (tmp_path / "kh").write_text(f"# pinned\n[hub.example.org]:2222 {hub.get_name()} "
                                 f"{hub.get_base64()}\n"
                                 f"hub.example.org {other.get_name()} {other.get_base64()}\n")
    pinned = pinned_keys(str(tmp_path / "kh"), "[hub.example.org]:2222")
    check_host_key(hub, pinned, "[hub.example.org]:2222")
    with pytest.raises(HostKeyRefused, match="another host key"):
        check_host_key(other, pinned, "[hub.example.org]:2222")
    with pytest.raises(HostKeyRefused, match="no host key pinned"):
        pinned_keys(str(tmp_path / "kh"), "hub2.example.org")
    assert key_algorithms(pinned) == ("ssh-ed25519",)


def test_a_broken_known_hosts_line_is_named(tmp_path: Path) -> None:
    (tmp_path / "kh").write_text("hub.example.org ssh-ed25519 not-base64!!\n")
    with pytest.raises(ExpandError, match="kh: line 1"):
        pinned_keys(str(tmp_path / "kh"), "hub.example.org")


# -- the one-request slot ------------------------------------------------------------------
def test_a_request_without_answer_stays_the_outstanding_one() -> None:
    answer = threading.Event()
    slot = RequestSlot()
    pending = slot.start(lambda: answer.wait(5), "test")
    assert not pending.wait(0.05) and slot.busy
    with pytest.raises(RuntimeError):
        slot.start(lambda: None, "second")
    answer.set()
    assert pending.wait(2) and pending.result is True and not slot.busy
    failing = slot.start(lambda: 1 // 0, "failing")
    assert failing.wait(2) and isinstance(failing.error, ZeroDivisionError)


def test_unit_restarts_always_and_has_a_watchdog() -> None:
    text = unit_text("/usr/bin/expandctl")
    for line in ("Restart=always", "WatchdogSec=", "NotifyAccess=main",
                 "ExecStart=/usr/bin/expandctl tunnel run", "StartLimitIntervalSec=0"):
        assert line in text


# -- sd_notify -------------------------------------------------------------------------------
@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_notify_reaches_systemds_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        abstract: bool) -> None:
    name = f"\0expand-test-{id(tmp_path)}" if abstract else str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name[1:] if abstract else name)
        assert notify("WATCHDOG=1")
        assert server.recv(100) == b"WATCHDOG=1"
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert not notify("READY=1"), "not under systemd: nothing sent, no error"
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone"))
    assert not notify("READY=1")
