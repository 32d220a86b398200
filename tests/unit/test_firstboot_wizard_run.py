"""The whole wizard (scripted screens) with the real engine into a temp root: gauge, report,
DVD reminder, reboot, and the live-mode safety net with a RecordingRunner."""

from __future__ import annotations

import json
from pathlib import Path

from appliance.answers import Answers
from appliance.errors import ExpandError
from appliance.platform import FAMILIES
from appliance.runner import RecordingRunner, Result
from firstboot import engine, paths
from firstboot.current import facts_from
from firstboot.host import Host
from firstboot.network_safety import NetworkConfirmation
from firstboot.wizard import EXIT_FAILED, EXIT_OK, EXIT_QUIT, WizardRun
from firstboot.wizard_flow import WizardState
from firstboot.wizard_prefill import initial_state
from tests.unit.wizard_support import PASSWORD, ScriptedUI, primary_script

DEBIAN = FAMILIES["debian"]
HOST = Host(("eth0", "eth1"))
LAN_FILE = "/etc/systemd/network/10-expand-lan.network"
ADDR_UP = Result((), 0, json.dumps([{"ifname": "eth0", "addr_info": [
    {"family": "inet", "local": "198.51.100.11", "prefixlen": 24, "scope": "global"}]}]), "")


def wizard(ui: ScriptedUI, root: Path, runner: RecordingRunner, *, live: bool) -> WizardRun:
    def apply(answers: Answers, progress: engine.ProgressFn,
              confirm: NetworkConfirmation | None) -> engine.ApplyReport:
        return engine.apply(answers, root=root, runner=runner, live=live, host=HOST,
                            platform=DEBIAN, progress=progress, hook=confirm)

    # As the CLI does: the countdown on this system, none for an alternate root.
    return WizardRun(ui, root, runner, live, apply, confirm_seconds=2 if live else 0)


def installing(ui: ScriptedUI) -> ScriptedUI:
    primary_script(ui).expect("yesno", "Please confirm", True)
    return ui.expect("message", "Press OK to restart network and start eXpand installation",
                     True)


def test_dry_run_installs_and_only_says_it_would_reboot(tmp_path: Path) -> None:
    ui = installing(ScriptedUI())
    ui.expect("message", "dry run: nothing applied", True)
    ui.expect("message", "Please remove the installation DVD", True)
    ui.expect("message", "would now restart the server", True)
    runner = RecordingRunner()
    assert wizard(ui, tmp_path, runner, live=False).run(WizardState()) == EXIT_OK
    ui.done()
    assert (tmp_path / LAN_FILE.lstrip("/")).is_file()
    assert ("systemctl", "reboot") not in runner.calls
    percents = [p for p, _ in ui.gauge if p >= 0]
    assert percents == sorted(percents) and percents[-1] == 100
    assert ui.gauge[-1] == (-1, "stop")
    saved = (tmp_path / paths.ANSWERS.lstrip("/")).read_text()
    assert "pbx@example.com" in saved and PASSWORD not in saved


def test_live_confirmed_network_then_reboot(tmp_path: Path) -> None:
    ui = installing(ScriptedUI())
    ui.expect("countdown", "Network is up at 198.51.100.11. Keep this configuration?", True)
    ui.expect("message", "eXpand installed", True)
    ui.expect("message", "Please remove the installation DVD", True)
    runner = RecordingRunner(answers={("ip", "-j", "-4", "addr"): ADDR_UP})
    assert wizard(ui, tmp_path, runner, live=True).run(WizardState()) == EXIT_OK
    ui.done()
    assert runner.calls[-1] == ("systemctl", "reboot")


def test_live_unanswered_countdown_restores_and_does_not_reboot(tmp_path: Path) -> None:
    old = tmp_path / "etc/systemd/network/50-dhcp.network"
    old.parent.mkdir(parents=True)
    old.write_text("[Match]\nName=eth0\n[Network]\nDHCP=yes\n")
    (tmp_path / paths.SENTINEL.lstrip("/")).parent.mkdir(parents=True)
    (tmp_path / paths.SENTINEL.lstrip("/")).write_text("")
    ui = installing(ScriptedUI())
    ui.expect("countdown", "The new network does not work: the gateway 198.51.100.1 does not "
              "answer ping", False)
    ui.expect("message", "- Configuring the LAN and interconnect NICs: the gateway "
              "198.51.100.1 does not answer ping; the previous network configuration is "
              "restored", True)
    runner = RecordingRunner(answers={("ip", "-j", "-4", "addr"): ADDR_UP,
                                      ("ping",): Result((), 1, "", "")})
    assert wizard(ui, tmp_path, runner, live=True).run(WizardState()) == EXIT_FAILED
    ui.done()
    assert old.is_file() and not (tmp_path / LAN_FILE.lstrip("/")).exists()
    assert (tmp_path / paths.SENTINEL.lstrip("/")).exists()  # first boot runs again
    assert ("networkctl", "reload") in runner.calls
    assert ("systemctl", "reboot") not in runner.calls
    # Asked right after the network step: nothing after it ran on the unconfirmed network.
    assert not (tmp_path / "etc/postfix").exists()
    assert not (tmp_path / "etc/corosync").exists()
    assert not (tmp_path / paths.NETWORK_SNAPSHOT.lstrip("/")).exists()
    assert ui.gauge[-1] == (-1, "stop")


def test_quit_writes_nothing(tmp_path: Path) -> None:
    ui = primary_script(ScriptedUI()).expect("yesno", "Please confirm", True)
    ui.expect("message", "Press OK to restart network", False)  # Escape
    ui.expect("yesno", "Quit the eXpand installation?", True)
    assert wizard(ui, tmp_path, RecordingRunner(), live=False).run(WizardState()) == EXIT_QUIT
    ui.done()
    assert list(tmp_path.iterdir()) == []


def test_failed_step_is_reported_without_reboot(tmp_path: Path) -> None:
    ui = installing(ScriptedUI())
    ui.expect("message", "eXpand installation found problems", True)
    runner = RecordingRunner()

    def failing(answers: Answers, progress: engine.ProgressFn,
                confirm: NetworkConfirmation | None) -> engine.ApplyReport:
        step = engine.StepOutcome("postfix", "Mail relay", "failed", "postmap: exit 1", ())
        return engine.ApplyReport(False, (step,), ("one NIC only",))

    run = WizardRun(ui, tmp_path, runner, False, failing)
    assert run.run(WizardState()) == EXIT_FAILED
    ui.done()
    report = ui.shown[-1].text
    assert "- Mail relay: postmap: exit 1" in report and "one NIC only" in report


def test_facts_from_saved_ip_output_prefill_the_screens(tmp_path: Path) -> None:
    fixtures = Path(__file__).parent / "fixtures/wizard"
    facts = facts_from((fixtures / "ip-addr-dhcp.json").read_text(),
                       (fixtures / "ip-route-dhcp.json").read_text(),
                       "nameserver 198.51.100.53\n")
    state = initial_state(tmp_path, facts, reconfigure=False)
    assert state.facts == {"own-ip": "198.51.100.37", "netmask": "255.255.255.0",
                           "gateway": "198.51.100.1", "dns": "198.51.100.53"}
    assert state.facts_origin == "dhcp"


def test_apply_that_raises_is_reported_on_screen(tmp_path: Path) -> None:
    ui = installing(ScriptedUI())
    ui.expect("message", "unsupported distribution 'plan9'", True)

    def raising(answers: Answers, progress: engine.ProgressFn,
                confirm: NetworkConfirmation | None) -> engine.ApplyReport:
        raise ExpandError("/etc/os-release: unsupported distribution 'plan9'")

    assert WizardRun(ui, tmp_path, RecordingRunner(), False, raising).run(WizardState()) == 2
    ui.done()
    assert ui.gauge[-1] == (-1, "stop")  # the gauge is closed before the report
