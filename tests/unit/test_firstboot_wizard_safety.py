"""The network safety net on a temp root with a RecordingRunner: restore, keep, restart."""

from __future__ import annotations

import json
import os
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.runner import RecordingRunner, Result
from firstboot import paths
from firstboot.network_safety import SafetyNet, restore, take_snapshot

ADDR, GATEWAY = IPv4Address("198.51.100.11"), IPv4Address("198.51.100.1")
OLD_LAN = "/etc/systemd/network/50-dhcp.network"
NEW_LAN = "/etc/systemd/network/10-expand-lan.network"


def ip_addr_json(address: str) -> str:
    return json.dumps([{"ifname": "eth0", "addr_info": [
        {"family": "inet", "local": address, "prefixlen": 24, "scope": "global"}]}])


def runner(*, address: str = "198.51.100.11", ping_rc: int = 0) -> RecordingRunner:
    return RecordingRunner(answers={
        ("ip", "-j", "-4", "addr"): Result((), 0, ip_addr_json(address), ""),
        ("ping",): Result((), ping_rc, "", "" if ping_rc == 0 else "100% packet loss"),
    })


@pytest.fixture
def sink(tmp_path: Path) -> FileSink:
    sink = FileSink(tmp_path)
    sink.write(OLD_LAN, "[Match]\nName=eth0\n[Network]\nDHCP=yes\n")
    sink.write("/etc/resolv.conf", "nameserver 198.51.100.53\n")
    sink.write(paths.SENTINEL, "")
    sink.symlink(paths.UNIT_WANTS_LINK, paths.UNIT_PATH)
    return sink


def apply_new_network(sink: FileSink) -> None:
    """What the engine's network step and finish do, in short."""
    sink.remove(OLD_LAN)
    sink.write(NEW_LAN, "[Match]\nName=eth0\n[Network]\nAddress=198.51.100.11/24\n")
    sink.write("/etc/resolv.conf", "nameserver 198.51.100.54\n", mode=0o600)
    sink.write(paths.JOURNAL, '{"complete": true}\n')
    sink.remove(paths.SENTINEL)
    sink.remove(paths.UNIT_WANTS_LINK)


def tree(root: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = ("link", os.readlink(path))
        elif path.is_file():
            out[rel] = (path.stat().st_mode & 0o777, path.read_text())
    return out


def never(question: str, seconds: int) -> bool:
    return False


def test_failing_ping_restores_files_and_restarts_network(sink: FileSink) -> None:
    before = tree(sink.root)
    rec = runner(ping_rc=1)
    net = SafetyNet(sink, rec, "networkd", seconds=2)
    net.save()
    apply_new_network(sink)
    asked: list[tuple[str, int]] = []

    def ask(question: str, seconds: int) -> bool:
        asked.append((question, seconds))
        return False  # nobody answers: the time runs out

    reason = net.verify(ADDR, GATEWAY, ask)
    assert reason == "the gateway 198.51.100.1 does not answer ping"
    assert "does not answer ping" in asked[0][0] and asked[0][1] == 2
    assert tree(sink.root) == before  # every file back, modes too; new files gone
    assert rec.calls.count(("ping", "-c", "1", "-W", "1", "-n", "198.51.100.1")) == 3
    assert rec.calls[-1] == ("systemctl", "restart", "systemd-networkd")


def test_address_not_up_is_the_reason(sink: FileSink) -> None:
    net = SafetyNet(sink, runner(address="198.51.100.37"), "networkd")
    net.save()
    apply_new_network(sink)
    assert net.verify(ADDR, GATEWAY, never) == "the address 198.51.100.11 is not up"
    assert sink.exists(OLD_LAN) and not sink.exists(NEW_LAN)


def test_working_network_not_confirmed_in_time_is_rolled_back(sink: FileSink) -> None:
    net = SafetyNet(sink, runner(), "networkd", seconds=1)
    net.save()
    apply_new_network(sink)
    questions: list[str] = []

    def unanswered(question: str, seconds: int) -> bool:
        questions.append(question)
        return False

    reason = net.verify(ADDR, GATEWAY, unanswered)
    assert questions[0].startswith("Network is up at 198.51.100.11. Keep this configuration?")
    assert reason == "not confirmed within 1 s"
    assert sink.exists(paths.SENTINEL) and sink.target(paths.UNIT_WANTS_LINK).is_symlink()
    assert not sink.exists(paths.JOURNAL)  # a rerun applies everything again


def test_confirmed_network_is_kept(sink: FileSink) -> None:
    rec = runner()
    net = SafetyNet(sink, rec, "networkd")
    net.save()
    apply_new_network(sink)
    after = tree(sink.root)
    assert net.verify(ADDR, GATEWAY, lambda q, s: True) is None
    assert tree(sink.root) == after
    assert not any(c[0] == "systemctl" for c in rec.calls)


def test_networkmanager_restart_commands(tmp_path: Path) -> None:
    sink = FileSink(tmp_path)
    keyfile = "/etc/NetworkManager/system-connections/dhcp.nmconnection"
    sink.write(keyfile, "[connection]\nid=dhcp\n", mode=0o600)
    rec = runner(ping_rc=1)
    net = SafetyNet(sink, rec, "networkmanager")
    net.save()
    sink.write(keyfile, "[connection]\nid=expand-lan\n", mode=0o600)
    assert net.verify(ADDR, GATEWAY, never)
    assert sink.read_text(keyfile) == "[connection]\nid=dhcp\n"
    assert sink.target(keyfile).stat().st_mode & 0o777 == 0o600
    assert rec.calls[-3:] == [("nmcli", "connection", "reload"),
                              ("nmcli", "networking", "off"), ("nmcli", "networking", "on")]


def test_restore_is_idempotent(sink: FileSink) -> None:
    snap = take_snapshot(sink, "networkd")
    apply_new_network(sink)
    assert restore(sink, snap)
    assert restore(sink, snap) == []


def test_verify_without_snapshot_refuses(sink: FileSink) -> None:
    with pytest.raises(ExpandError, match="no snapshot"):
        SafetyNet(sink, runner(), "networkd").verify(ADDR, GATEWAY, never)
