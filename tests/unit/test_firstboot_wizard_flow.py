"""The wizard's question flow with a scripted UI: order, wording, checks, pre-fill, quit."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest

from appliance.errors import ExpandError
from firstboot.current import NetworkFacts
from firstboot.paths import ANSWERS, MEDIA_ANSWERS
from firstboot.wizard_flow import Quit, WizardState, collect
from firstboot.wizard_prefill import initial_state
from firstboot.wizard_screens import SCREENS
from tests.unit.wizard_support import KEEP, PASSWORD, PRIMARY_TEXT, ScriptedUI, primary_script

FACTS = NetworkFacts("eth0", IPv4Address("198.51.100.37"), IPv4Address("255.255.255.0"),
                     IPv4Address("198.51.100.1"), (IPv4Address("198.51.100.53"),), dhcp=True)
REPO = Path(__file__).resolve().parents[2]


JOIN_CODE = "AEBA-GBAF-AYDQ-QCIK-BMGA-2DQP-CABE"


def test_screens_follow_the_seed_order() -> None:
    assert [s.name for s in SCREENS][:13] == [
        "mode", "interconnect", "own-ip", "netmask", "gateway", "dns", "pbx-domain", "peer-ip",
        "virtual-ip", "join-code", "smarthost", "email-user", "email-password"]


def test_primary_answers_come_out_as_typed() -> None:
    ui = primary_script(ScriptedUI()).expect("yesno", "Please confirm", True)
    answers = collect(ui, WizardState())
    ui.done()
    assert answers.mode == "primary"
    assert answers.network.virtual_ip == IPv4Address("198.51.100.100")
    assert answers.interconnect.secondary_address == IPv4Address("203.0.113.2")
    assert answers.smtp.password == PASSWORD
    summary = ui.shown[-1].text
    assert PASSWORD not in summary and "Email password: (entered, not shown)" in summary


def test_dhcp_values_prefill_and_say_so(tmp_path: Path) -> None:
    state = initial_state(tmp_path, FACTS, reconfigure=False)
    ui = ScriptedUI().expect("menu", "Select PBX Mode", "1").expect("input", "interconnect", KEEP)
    for prompt in ("static PBX IP address", "netmask", "gateway", "DNS"):
        ui.expect("input", f"{prompt} (current value was DHCP assigned)", KEEP)
    ui.expect("input", "PBX domain", None).expect("yesno", "Quit", True)  # stop here
    with pytest.raises(Quit):
        collect(ui, state)
    inits = {s.text.split(" (")[0]: s.init for s in ui.shown if s.widget == "input"}
    assert inits["Please enter static PBX IP address"] == "198.51.100.37"
    assert inits["Please enter netmask"] == "255.255.255.0"
    assert inits["Please enter DNS"] == "198.51.100.53"
    assert "169.254.200.1" in ui.shown[1].text and ui.shown[1].init == "169.254.200.1"


def test_secondary_asks_own_ip_first_and_primary_ip_later(tmp_path: Path) -> None:
    state = initial_state(tmp_path, FACTS, reconfigure=False)
    ui = ScriptedUI().expect("menu", "Select PBX Mode", "2")
    ui.expect("input", "interconnect IP address of the primary node", "203.0.113.1")
    ui.expect("input", "this secondary node (current value was DHCP assigned)", "198.51.100.12")
    for prompt in ("netmask", "gateway", "DNS", "PBX domain"):
        ui.expect("input", prompt, KEEP)
    ui.expect("input", "IP address of the primary node", "198.51.100.11")
    ui.expect("input", "virtual IP address", PRIMARY_TEXT["virtual IP address"])
    # A typo is caught by the code's check characters, named, and asked again.
    ui.expect("password", "Please enter the join code shown on the primary", JOIN_CODE[:-1] + "F")
    ui.expect("message", "Join code: join code does not check out", None)
    ui.expect("password", "Please enter the join code shown on the primary", JOIN_CODE.lower())
    for prompt in ("FQDN smarthost", "email username"):
        ui.expect("input", prompt, PRIMARY_TEXT[prompt])
    ui.expect("password", "email password", PASSWORD)
    ui.expect("password", "again", PASSWORD)
    ui.expect("yesno", "Secondary IP address: 198.51.100.12 (this node)", True)
    answers = collect(ui, state)
    ui.done()
    summary = ui.shown[-1].text
    assert "Join code: (entered, not shown)" in summary and JOIN_CODE not in summary
    assert JOIN_CODE[:4] not in summary.replace("Join code", "")
    assert answers.cluster.join_code == JOIN_CODE
    assert ui.shown[2].init == "198.51.100.37"  # DHCP value on the secondary's own IP
    assert answers.mode == "secondary" and answers.hostname == "expand2"
    assert answers.lan_ip == IPv4Address("198.51.100.12")
    assert answers.peer_lan_ip == IPv4Address("198.51.100.11")


def test_bad_value_is_named_and_asked_again_with_the_typo() -> None:
    ui = primary_script(ScriptedUI(), **{"static PBX IP address": "198.51.100.300"})
    # Insert the message and the retry right after the bad answer.
    at = 3
    ui.steps[at:at] = [("message", "Static PBX IP address (primary): 198.51.100.300 is not an "
                        "IPv4 address", None),
                       ("input", "static PBX IP address", "198.51.100.11")]
    ui.expect("yesno", "Please confirm", True)
    answers = collect(ui, WizardState())
    ui.done()
    retry = [s for s in ui.shown if "static PBX IP address" in s.text][1]
    assert retry.init == "198.51.100.300"
    assert answers.network.primary_ip == IPv4Address("198.51.100.11")


def test_password_mismatch_asks_both_again() -> None:
    ui = primary_script(ScriptedUI())
    ui.steps[-1] = ("password", "again", PASSWORD + "-typo")
    ui.expect("message", "do not match", None)
    ui.expect("password", "Please enter email password", PASSWORD)
    ui.expect("password", "again", PASSWORD)
    ui.expect("yesno", "Please confirm", True)
    assert collect(ui, WizardState()).smtp.password == PASSWORD
    ui.done()
    assert all(PASSWORD not in s.text for s in ui.shown)


def test_vip_outside_lan_sends_back_to_vip_before_summary() -> None:
    ui = primary_script(ScriptedUI(), **{"virtual IP address": "198.51.101.100"})
    ui.expect("message", "Virtual IP address: 198.51.101.100 is outside the LAN "
              "198.51.100.0/24", None)
    ui.expect("input", "virtual IP address", "198.51.100.100")
    ui.expect("yesno", "Please confirm", True)
    assert collect(ui, WizardState()).network.virtual_ip == IPv4Address("198.51.100.100")
    ui.done()


def test_duplicate_address_sends_back_to_the_later_field() -> None:
    ui = primary_script(ScriptedUI(), **{"secondary IP address": "198.51.100.11"})
    ui.expect("message", "Secondary IP address: 198.51.100.11 is already used", None)
    ui.expect("input", "secondary IP address", "198.51.100.12")
    ui.expect("yesno", "Please confirm", True)
    collect(ui, WizardState())
    ui.done()


def test_no_at_summary_asks_all_again_with_previous_answers() -> None:
    ui = primary_script(ScriptedUI()).expect("yesno", "Please confirm", False)
    ui.expect("menu", "Select PBX Mode", "1")
    for prompt in PRIMARY_TEXT:
        ui.expect("input", prompt, "mail.example.net" if prompt == "FQDN smarthost" else KEEP)
    ui.expect("password", "email password", PASSWORD)
    ui.expect("password", "again", PASSWORD)
    ui.expect("yesno", "FQDN smarthost: mail.example.net", True)
    answers = collect(ui, WizardState())
    ui.done()
    second_round = [s for s in ui.shown if s.widget == "input"][len(PRIMARY_TEXT):]
    assert [s.init for s in second_round][:3] == ["203.0.113.1", "198.51.100.11",
                                                  "255.255.255.0"]
    assert answers.smtp.smarthost == "mail.example.net"


def test_escape_then_continue_then_quit() -> None:
    ui = ScriptedUI().expect("menu", "Select PBX Mode", None)
    ui.expect("yesno", "Quit the eXpand installation?", False)
    ui.expect("menu", "Select PBX Mode", "1")
    ui.expect("input", "interconnect", None)
    ui.expect("yesno", "Quit the eXpand installation?", True)
    with pytest.raises(Quit):
        collect(ui, WizardState())
    ui.done()


def test_no_username_means_no_password_screens() -> None:
    ui = primary_script(ScriptedUI(), **{"email username": ""})
    del ui.steps[-2:]
    ui.expect("yesno", "Email password: (none)", True)
    answers = collect(ui, WizardState())
    ui.done()
    assert answers.smtp.username == "" and answers.smtp.password == ""


def test_dvd_answers_prefill_leniently(tmp_path: Path) -> None:
    media = tmp_path / MEDIA_ANSWERS.lstrip("/")
    media.parent.mkdir(parents=True)
    media.write_text('mode = "secondary"\n[network]\nvirtual-ip = "198.51.100.100"\n'
                     'gateway = "not-an-ip"\n[smtp]\nsmarthost = "relay.example.org"\n')
    state = initial_state(tmp_path, FACTS, reconfigure=False)
    assert state.raw == {"mode": "secondary", "network.virtual-ip": "198.51.100.100",
                         "smtp.smarthost": "relay.example.org"}
    assert state.origins["network.virtual-ip"] == "dvd"


def test_reconfigure_needs_an_installed_configuration(tmp_path: Path) -> None:
    with pytest.raises(ExpandError, match="no installed configuration"):
        initial_state(tmp_path, FACTS, reconfigure=True)


def test_reconfigure_prefills_everything_but_secrets(tmp_path: Path) -> None:
    installed = tmp_path / ANSWERS.lstrip("/")
    installed.parent.mkdir(parents=True)
    installed.write_text((REPO / "tests/unit/fixtures/wizard/primary.answers.toml").read_text())
    state = initial_state(tmp_path, FACTS, reconfigure=True)
    assert state.raw["network.primary-ip"] == "198.51.100.11"  # not the DHCP .37
    assert "smtp.password" not in state.raw
    ui = ScriptedUI().expect("menu", "Select PBX Mode", "1")
    for prompt in PRIMARY_TEXT:
        ui.expect("input", prompt, KEEP)
    ui.expect("password", "email password", PASSWORD)
    ui.expect("password", "again", PASSWORD)
    ui.expect("yesno", "Please confirm", True)
    collect(ui, state)
    ui.done()
    assert "(current value from the installed configuration)" in ui.shown[2].text


def test_fencing_password_is_asked_when_the_configuration_needs_it(tmp_path: Path) -> None:
    state = WizardState(raw={"fencing.mode": "ipmi", "fencing.primary-target": "198.51.100.201",
                             "fencing.secondary-target": "198.51.100.202",
                             "fencing.username": "fence"})
    ui = primary_script(ScriptedUI())
    ui.expect("password", "fencing password", "ipmi-pass")
    ui.expect("password", "fencing password again", "ipmi-pass")
    ui.expect("yesno", "Please confirm", True)
    assert collect(ui, state).fencing.password == "ipmi-pass"
    ui.done()


def _media(root: Path) -> Path:
    media = root / MEDIA_ANSWERS.lstrip("/")
    media.parent.mkdir(parents=True, exist_ok=True)
    return media


UNREADABLE = {
    "broken-toml": lambda p: p.write_text("mode = = primary\n[network\n"),
    "binary": lambda p: p.write_bytes(b"\xff\xfe\x00\x81 mode = 1\n" * 50),
    "directory": lambda p: p.mkdir(),
    "too-deep": lambda p: p.write_text("dns = " + "[" * 50_000 + "]" * 50_000 + "\n"),
    "symlink-loop": lambda p: p.symlink_to(p),
    "dangling-link": lambda p: p.symlink_to(p.parent / "nowhere.toml"),
}


@pytest.mark.parametrize("kind", sorted(UNREADABLE))
def test_an_unreadable_dvd_answers_file_only_costs_the_prefill(
        tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture) -> None:
    UNREADABLE[kind](_media(tmp_path))
    with caplog.at_level("WARNING", logger="expand.firstboot"):
        state = initial_state(tmp_path, FACTS, reconfigure=False)
    assert state.raw == {} and state.origins == {}
    assert state.facts["own-ip"] == "198.51.100.37"  # the current facts still pre-fill
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1, warnings
    assert str(tmp_path / MEDIA_ANSWERS.lstrip("/")) in warnings[0]
    assert warnings[0].endswith("the wizard starts without the DVD's pre-fill")
    assert "\n" not in warnings[0] and len(warnings[0]) < 400
    # ... and the wizard runs from there to the end.
    ui = primary_script(ScriptedUI()).expect("yesno", "Please confirm", True)
    assert collect(ui, state).network.virtual_ip == IPv4Address("198.51.100.100")
    ui.done()


def test_invalid_dvd_values_are_left_out_one_warning_each(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _media(tmp_path).write_text(
        'mode = "tertiary"\ncolour = "blue"\n[network]\ngateway = "not-an-ip"\n'
        'virtual-ip = "198.51.100.100"\n[storage]\ndevice = "/dev/x; } evil {"\n')
    with caplog.at_level("WARNING", logger="expand.firstboot"):
        state = initial_state(tmp_path, FACTS, reconfigure=False)
    assert state.raw == {"network.virtual-ip": "198.51.100.100"}
    warned = "\n".join(r.getMessage() for r in caplog.records)
    for key in ("mode", "colour", "network.gateway", "storage.device"):
        assert f": {key}: " in warned, warned
