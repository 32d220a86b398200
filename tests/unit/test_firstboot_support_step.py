"""The first boot's support step: key made once, the hub's line shown, the daemon configured
only with the hub's host key and port, and the answers that carry them validated."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paramiko
import pytest

from appliance import validators as v
from appliance.answers import Answers, load_answers, parse_answers
from appliance.runner import RecordingRunner
from firstboot import engine
from firstboot.host import load_host
from firstboot.steps.sshd import KEYS_DIR
from tests.unit.firstboot_support import EXAMPLES, FIXTURES, seed_root
from tunnel import config as tc
from tunnel.keys import new_key_pair
from tunnel.pinning import pinned_keys
from tunnel.window import Window, read_window, write_window

HOST = load_host(FIXTURES / "host-two-nics.json")
HUB_KEY = new_key_pair("hub")[1].rsplit(" ", 1)[0]


def answers(**support: Any) -> Answers:
    base = load_answers(EXAMPLES / "primary.toml")
    return replace(base, support=replace(base.support, **support))


def at(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def apply(root: Path, a: Answers) -> engine.ApplyReport:
    report = engine.apply(a, root=root, runner=RecordingRunner(), live=False, host=HOST)
    assert report.ok, report.as_dict()
    return report


def test_key_is_made_once_private_and_its_public_line_is_shown(tmp_path: Path) -> None:
    root = seed_root(tmp_path / "root", "debian12")
    report = apply(root, answers())
    key, pub = at(root, tc.KEY_FILE), at(root, tc.KEY_FILE + ".pub")
    assert key.stat().st_mode & 0o777 == 0o600 and key.parent.stat().st_mode & 0o777 == 0o700
    line = pub.read_text().strip()
    assert line.startswith("ssh-ed25519 ") and line.endswith(" expand-tunnel@expand1")
    private = paramiko.Ed25519Key.from_private_key(io.StringIO(key.read_text()))
    assert line.split()[1] == private.get_base64(), "the .pub is the private key's half"
    assert any(line in shown for shown in report.shown_once)
    support = next(s for s in report.steps if s.name == "support")
    assert any("support.hub-host-key and support.forward-port not given" in w
               for w in support.warnings)
    assert not at(root, tc.CONFIG_FILE).exists(), "no settings without the hub's key and port"
    # A rerun (new answers: the step runs again) keeps the key the hub knows.
    before = key.read_bytes()
    apply(root, answers(hub_host_key=HUB_KEY, forward_port=20017))
    assert key.read_bytes() == before and pub.read_text().strip() == line


def test_with_the_hubs_key_and_port_the_daemon_is_configured_and_started(
        tmp_path: Path) -> None:
    root = seed_root(tmp_path / "root", "debian12")
    runner = RecordingRunner()
    report = engine.apply(answers(hub_host_key=HUB_KEY, forward_port=20017, hub_port=2222),
                          root=root, runner=runner, live=False, host=HOST)
    assert report.ok, report.as_dict()
    config = tc.load_config(at(root, tc.CONFIG_FILE))
    assert (config.hub_host, config.hub_port, config.forward_port) == \
        ("hub.expand.com.uy", 2222, 20017)
    known = at(root, tc.KNOWN_HOSTS)
    assert known.read_text() == f"[hub.expand.com.uy]:2222 {HUB_KEY}\n"
    assert pinned_keys(str(known), config.host_key_name)[0].get_base64() == HUB_KEY.split()[1]
    assert read_window(str(at(root, tc.WINDOW_FILE))).is_open(datetime.now(UTC))
    unit = at(root, "/etc/systemd/system/expand-tunnel.service").read_text()
    assert "Restart=always" in unit and "WatchdogSec=" in unit
    assert ("systemctl", "restart", "expand-tunnel.service") in runner.calls


def test_support_off_closes_the_window_and_stops_the_daemon(tmp_path: Path) -> None:
    root = seed_root(tmp_path / "root", "debian12")
    runner = RecordingRunner()
    report = engine.apply(answers(enabled=False), root=root, runner=runner, live=False,
                          host=HOST)
    assert report.ok
    assert not read_window(str(at(root, tc.WINDOW_FILE))).enabled
    assert not at(root, tc.KEY_FILE).exists()
    assert ("systemctl", "disable", "--now", "expand-tunnel.service") in runner.calls
    assert not [s for s in report.shown_once if "Support hub" in s]


@pytest.mark.parametrize(("value", "problem"), [
    ("ssh-ed25519", "not a host key line"),
    ("ssh-dss AAAAB3NzaC1kc3M=", "not a host key type"),
    ("ssh-ed25519 AAAA!!", "not the base64"),
    ("ssh-ed25519 " + HUB_KEY.split()[1][:30], "not the base64"),
    ("ssh-rsa " + HUB_KEY.split()[1], "not the base64"),  # an ed25519 blob named rsa
    ("ssh-ed25519 AAAA\nx", "not a host key line"),
    (7, "not a host key line"),
])
def test_bad_hub_host_keys_are_refused(value: object, problem: str) -> None:
    got, message = v.ssh_host_key(value)
    assert got is None and message and problem in message


def test_hub_host_key_drops_the_comment_and_empty_means_none() -> None:
    assert v.ssh_host_key(HUB_KEY + " root@hub") == (HUB_KEY, None)
    assert v.ssh_host_key("  ") == ("", None)


@pytest.mark.parametrize(("value", "ok"), [(0, True), (20017, True), (65535, True),
                                           (22, False), (1024, False), (70000, False),
                                           (True, False), ("x", False)])
def test_assigned_port(value: object, ok: bool) -> None:
    got, problem = v.assigned_port(value)
    assert (problem is None) is ok and (got == value if ok else got is None)


def test_answers_name_the_bad_support_keys() -> None:
    data = {"mode": "primary", "support": {"hub-host-key": "ssh-ed25519 xyz",
                                           "forward-port": 80}}
    _, reports = parse_answers(data, "a.toml")
    keys = {r.key for r in reports}
    assert {"support.hub-host-key", "support.forward-port"} <= keys


def test_a_rerun_keeps_the_window_the_customer_set(tmp_path: Path) -> None:
    root = seed_root(tmp_path / "root", "debian12")
    # An engineer's key file; the sshd step lists it, the support step opens the window.
    at(root, KEYS_DIR).mkdir(parents=True)
    at(root, f"{KEYS_DIR}/alice.pub").write_text(new_key_pair("alice")[1] + "\n")
    apply(root, answers())
    assert "alice" in at(root, tc.ENGINEERS_AUTHORIZED).read_text()
    closed = Window(False)
    write_window(closed, str(at(root, tc.WINDOW_FILE)), str(at(root, tc.ENGINEERS_FILE)),
                 str(at(root, tc.ENGINEERS_AUTHORIZED)), datetime.now(UTC))
    apply(root, answers(forward_port=20017, hub_host_key=HUB_KEY))  # changed answers: rerun
    assert read_window(str(at(root, tc.WINDOW_FILE))) == closed
    assert "alice" not in at(root, tc.ENGINEERS_AUTHORIZED).read_text()
    until = datetime.now(UTC) + timedelta(hours=2)
    write_window(Window(True, until), str(at(root, tc.WINDOW_FILE)),
                 str(at(root, tc.ENGINEERS_FILE)), str(at(root, tc.ENGINEERS_AUTHORIZED)),
                 datetime.now(UTC))
    apply(root, answers(forward_port=20018, hub_host_key=HUB_KEY))
    assert read_window(str(at(root, tc.WINDOW_FILE))).until == until
    assert "expiry-time=" in at(root, tc.ENGINEERS_AUTHORIZED).read_text()
