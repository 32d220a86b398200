"""The network safety net as the engine's step hook, on a temp root with a RecordingRunner:
asked right after the network step, roll back and stop, keep and go on, the snapshot on disk."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from appliance.answers import Answers, load_answers
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.platform import FAMILIES
from appliance.runner import RecordingRunner, Result
from firstboot import engine, paths
from firstboot.host import Host
from firstboot.journal import Journal, journal_key
from firstboot.network_safety import (
    NetworkConfirmation,
    load_snapshot,
    restore,
    roll_back,
    save_snapshot,
    take_snapshot,
)
from firstboot.steps import Context, PlannedStep, Step, StepPlan, default_steps
from firstboot.steps.network import NetworkStep
from tests.unit.firstboot_support import EXAMPLES

ADDR, GATEWAY = IPv4Address("198.51.100.11"), IPv4Address("198.51.100.1")
OLD_LAN = "/etc/systemd/network/50-dhcp.network"
NEW_LAN = "/etc/systemd/network/10-expand-lan.network"
DEBIAN = FAMILIES["debian"]
HOST = Host(("eth0", "eth1"))
NETWORK_ROOTS = ("/etc/systemd/network/", "/etc/resolv.conf")
BEFORE_NETWORK = ["hardware", "timezone", "hostname"]


def ip_addr_json(address: str) -> str:
    return json.dumps([{"ifname": "eth0", "addr_info": [
        {"family": "inet", "local": address, "prefixlen": 24, "scope": "global"}]}])


def runner(*, address: str = "198.51.100.11", ping_rc: int = 0) -> RecordingRunner:
    return RecordingRunner(answers={
        ("ip", "-j", "-4", "addr"): Result((), 0, ip_addr_json(address), ""),
        ("ping",): Result((), ping_rc, "", "" if ping_rc == 0 else "100% packet loss"),
    })


@pytest.fixture
def answers() -> Answers:
    return load_answers(EXAMPLES / "primary.toml")


@pytest.fixture
def sink(tmp_path: Path) -> FileSink:
    sink = FileSink(tmp_path)
    sink.write(OLD_LAN, "[Match]\nName=eth0\n[Network]\nDHCP=yes\n", mode=0o640)
    sink.write("/etc/resolv.conf", "nameserver 198.51.100.53\n")
    sink.write("/etc/postfix/main.cf", "relayhost =\n")
    sink.write(paths.SENTINEL, "")
    sink.symlink(paths.UNIT_WANTS_LINK, paths.UNIT_PATH)
    return sink


def tree(root: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        rel = "/" + str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = ("link", os.readlink(path))
        elif path.is_file():
            out[rel] = (path.stat().st_mode & 0o7777, path.read_bytes())
    return out


def network_files(root: Path) -> dict[str, object]:
    return {p: v for p, v in tree(root).items() if p.startswith(NETWORK_ROOTS)}


@dataclass
class Asker:
    reply: bool
    asked: list[tuple[str, int]] = field(default_factory=list)

    def __call__(self, question: str, seconds: int) -> bool:
        self.asked.append((question, seconds))
        return self.reply


def run(sink: FileSink, answers: Answers, rec: RecordingRunner, ask: Asker, *,
        live: bool = True, steps: tuple[Step, ...] | None = None) -> engine.ApplyReport:
    return engine.apply(answers, root=sink.root, runner=rec, live=live, host=HOST,
                        platform=DEBIAN, steps=steps,
                        hook=NetworkConfirmation(ask, seconds=2, settle_seconds=0.2))


def journal_done(sink: FileSink) -> list[str]:
    return list(json.loads(sink.read_text(paths.JOURNAL) or "{}")["done"])


def test_failing_ping_rolls_back_and_stops_right_after_the_network_step(
        sink: FileSink, answers: Answers) -> None:
    before = network_files(sink.root)
    rec = runner(ping_rc=1)
    ask = Asker(False)  # nobody answers: the time runs out
    report = run(sink, answers, rec, ask)
    assert not report.ok and report.failed_step is not None
    assert report.failed_step.name == "network"
    assert report.failed_step.detail == ("the gateway 198.51.100.1 does not answer ping; the "
                                         "previous network configuration is restored")
    assert [s.name for s in report.steps] == [*BEFORE_NETWORK, "network"]
    assert "does not answer ping" in ask.asked[0][0] and ask.asked[0][1] == 2
    assert network_files(sink.root) == before  # every file back, modes too; new files gone
    assert rec.calls.count(("ping", "-c", "1", "-W", "1", "-n", "198.51.100.1")) == 3
    assert rec.calls[-1] == ("networkctl", "reload")
    # Nothing after the network step: DNS, postfix, the cluster never ran.
    assert sink.read_text("/etc/postfix/main.cf") == "relayhost =\n"
    assert not sink.exists("/etc/postfix/sasl_passwd") and not sink.exists("/etc/corosync")
    assert not any(c[0] in ("postmap", "pcs", "crm_attribute") for c in rec.calls)
    # The journal as it was before the network step: a rerun starts again there.
    assert journal_done(sink) == BEFORE_NETWORK
    assert sink.exists(paths.SENTINEL) and sink.target(paths.UNIT_WANTS_LINK).is_symlink()
    assert not sink.exists(paths.NETWORK_SNAPSHOT)
    saved = json.loads(sink.read_text(paths.REPORT) or "")
    assert saved["failed_step"] == "network" and saved["dry_run"] is False


def test_address_not_up_is_the_reason(sink: FileSink, answers: Answers) -> None:
    report = run(sink, answers, runner(address="198.51.100.37"), Asker(False))
    assert report.failed_step is not None
    assert report.failed_step.detail.startswith("the address 198.51.100.11 is not up;")
    assert sink.exists(OLD_LAN) and not sink.exists(NEW_LAN)


def test_working_network_not_confirmed_in_time_is_rolled_back(sink: FileSink,
                                                              answers: Answers) -> None:
    ask = Asker(False)
    report = run(sink, answers, runner(), ask)
    assert ask.asked[0][0].startswith("Network is up at 198.51.100.11. Keep this "
                                      "configuration?")
    assert report.failed_step is not None
    assert report.failed_step.detail.startswith("not confirmed within 2 s;")


def test_confirmed_network_is_kept_and_the_apply_goes_on(sink: FileSink,
                                                         answers: Answers) -> None:
    rec = runner()
    ask = Asker(True)
    report = run(sink, answers, rec, ask)
    assert report.ok, report.as_dict()
    assert len(ask.asked) == 1
    assert sink.exists(NEW_LAN) and not sink.exists(paths.NETWORK_SNAPSHOT)
    assert ("networkctl", "reload") not in rec.calls  # no roll back
    # A rerun skips the journaled network step: not asked again.
    assert run(sink, answers, runner(), ask).ok and len(ask.asked) == 1


def test_snapshot_is_on_disk_0600_while_asked(sink: FileSink, answers: Answers) -> None:
    seen: list[tuple[int, bool]] = []

    def look(question: str, seconds: int) -> bool:
        host = sink.target(paths.NETWORK_SNAPSHOT)
        snapshot = load_snapshot(sink)
        assert snapshot is not None
        seen.append((host.stat().st_mode & 0o7777, OLD_LAN in snapshot.files))
        return True

    assert engine.apply(answers, root=sink.root, runner=runner(), live=True, host=HOST,
                        platform=DEBIAN, hook=NetworkConfirmation(look)).ok
    assert seen == [(0o600, True)]


class BrokenNetwork(PlannedStep):
    """Writes half of the new network, then fails."""

    name = "network"
    title = "Configuring the LAN"

    def plan(self, ctx: Context) -> StepPlan:
        return StepPlan(detail="half")

    def apply(self, ctx: Context) -> StepPlan:
        ctx.sink.write(NEW_LAN, "[Match]\nName=eth0\n")
        raise ExpandError("nmcli: exit 4")


def test_failed_network_step_is_rolled_back(sink: FileSink, answers: Answers) -> None:
    before = network_files(sink.root)
    ask = Asker(True)
    report = run(sink, answers, runner(), ask, steps=(BrokenNetwork(),))
    assert report.failed_step is not None
    assert report.failed_step.detail == ("nmcli: exit 4; the previous network configuration "
                                         "is restored")
    assert ask.asked == []  # nothing to confirm
    assert network_files(sink.root) == before


@dataclass
class Recorder:
    calls: list[str] = field(default_factory=list)

    def before_step(self, ctx: Context, step: Step) -> None:
        self.calls.append(f"before {step.name}")

    def after_step(self, ctx: Context, outcome: engine.StepOutcome) -> str | None:
        self.calls.append(f"after {outcome.name} {outcome.status}")
        return "stop here" if outcome.name == "dns" else None


def test_hook_wraps_only_the_steps_applied_and_can_stop(sink: FileSink,
                                                        answers: Answers) -> None:
    sink.write(paths.JOURNAL, Journal(
        journal_key(answers, "debian", *HOST.nics), ("hardware",)).to_json())
    hook = Recorder()
    report = engine.apply(answers, root=sink.root, runner=runner(), live=False, host=HOST,
                          platform=DEBIAN, hook=hook)
    names = [s.name for s in default_steps()]
    upto = names[1:names.index("dns") + 1]
    assert hook.calls == [c for n in upto for c in (f"before {n}", f"after {n} done")]
    assert report.failed_step is not None and report.failed_step.name == "dns"
    assert report.failed_step.detail == "stop here" and report.steps[-1].name == "dns"
    assert journal_done(sink) == names[:names.index("dns")]  # a rerun applies dns again


def test_networkmanager_roll_back_commands(tmp_path: Path) -> None:
    sink = FileSink(tmp_path)
    keyfile = "/etc/NetworkManager/system-connections/dhcp.nmconnection"
    sink.write(keyfile, "[connection]\nid=dhcp\n", mode=0o600)
    snapshot = take_snapshot(sink, "networkmanager")
    save_snapshot(sink, snapshot)
    sink.write(keyfile, "[connection]\nid=expand-lan\n", mode=0o644)
    rec = RecordingRunner()
    assert roll_back(sink, rec, snapshot) == [keyfile]
    assert sink.read_text(keyfile) == "[connection]\nid=dhcp\n"
    assert sink.target(keyfile).stat().st_mode & 0o777 == 0o600
    assert rec.calls == [("nmcli", "connection", "reload"),
                         ("nmcli", "networking", "off"), ("nmcli", "networking", "on")]
    assert not sink.exists(paths.NETWORK_SNAPSHOT)


def test_snapshot_reads_back_equal(sink: FileSink) -> None:
    sink.write("/etc/systemd/network/bin.network", bytes(range(256)), mode=0o600)
    snapshot = take_snapshot(sink, "networkd")
    save_snapshot(sink, snapshot)
    assert load_snapshot(sink) == snapshot
    assert sink.target(paths.NETWORK_SNAPSHOT).stat().st_mode & 0o7777 == 0o600


def test_restore_is_idempotent(sink: FileSink) -> None:
    snap = take_snapshot(sink, "networkd")
    sink.remove(OLD_LAN)
    sink.write(NEW_LAN, "[Match]\nName=eth0\n")
    assert restore(sink, snap)
    assert restore(sink, snap) == []


@pytest.mark.parametrize("content", [b"{", b"\xff\xfe", b'{"version": 1}', b"[]",
                                     b'{"version": 1, "backend": "ifupdown", "roots": [], '
                                     b'"files": {}}',
                                     b'{"version": 1, "backend": "networkd", "roots": [], '
                                     b'"files": {"/../x": {"mode": 420, "link": null, '
                                     b'"content": ""}}}'])
def test_unreadable_snapshot_stops_the_run_naming_the_file(sink: FileSink, answers: Answers,
                                                           content: bytes) -> None:
    sink.write(paths.NETWORK_SNAPSHOT, content, mode=0o600)
    with pytest.raises(ExpandError, match=paths.NETWORK_SNAPSHOT):
        load_snapshot(sink)
    report = run(sink, answers, runner(), Asker(True), live=False)
    assert report.failed_step is not None and report.failed_step.name == "recover"
    assert paths.NETWORK_SNAPSHOT in report.failed_step.detail
    assert not sink.exists("/etc/hostname")  # no step ran on an unknown network


class SnapshotBlocker(PlannedStep):
    """Puts a folder where the snapshot goes: saving it fails."""

    name = "blocker"

    def plan(self, ctx: Context) -> StepPlan:
        return StepPlan()

    def apply(self, ctx: Context) -> StepPlan:
        ctx.sink.mkdir(paths.NETWORK_SNAPSHOT)
        return StepPlan()


def test_snapshot_that_cannot_be_saved_fails_the_network_step_before_it_writes(
        sink: FileSink, answers: Answers) -> None:
    before = network_files(sink.root)
    report = run(sink, answers, runner(), Asker(True), live=False,
                 steps=(SnapshotBlocker(), NetworkStep()))
    assert report.failed_step is not None and report.failed_step.name == "network"
    assert "network-snapshot.json" in report.failed_step.detail
    assert network_files(sink.root) == before
