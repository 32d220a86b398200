"""The wizard's secrets: the join code is asked in a hidden box that is never pre-filled
(dialog would get the initial text on its argv or in its arguments file); an empty box
keeps a code already known. Passwords likewise never reach a box's initial text."""

from __future__ import annotations

from typing import Any

from firstboot.wizard_flow import WizardState, collect
from firstboot.wizard_screens import KEEP_NOTE
from firstboot.wizard_ui import DialogUI
from tests.unit.wizard_support import KEEP, PASSWORD, PRIMARY_TEXT, ScriptedUI

JOIN_CODE = "AEBA-GBAF-AYDQ-QCIK-BMGA-2DQP-CABE"
SECONDARY_INPUTS = (
    ("interconnect IP address of the primary node", "203.0.113.1"),
    ("this secondary node", "198.51.100.12"),
    ("netmask", "255.255.255.0"),
    ("gateway", "198.51.100.1"),
    ("DNS", "198.51.100.53"),
    ("PBX domain", ""),
    ("IP address of the primary node", "198.51.100.11"),
    ("virtual IP address", PRIMARY_TEXT["virtual IP address"]),
)


def secondary_until_join_code(ui: ScriptedUI, *, keep: bool = False) -> ScriptedUI:
    ui.expect("menu", "Select PBX Mode", "2")
    for prompt, value in SECONDARY_INPUTS:
        ui.expect("input", prompt, KEEP if keep else value)
    return ui


def rest_of_secondary(ui: ScriptedUI, *, keep: bool = False) -> ScriptedUI:
    for prompt in ("FQDN smarthost", "email username"):
        ui.expect("input", prompt, KEEP if keep else PRIMARY_TEXT[prompt])
    ui.expect("password", "email password", PASSWORD)
    ui.expect("password", "again", PASSWORD)
    return ui


def assert_never_shown(ui: ScriptedUI, secret: str) -> None:
    for shown in ui.shown:
        assert secret not in shown.text and secret not in shown.init, shown
        assert secret.replace("-", "") not in shown.text.replace("-", ""), shown


def test_join_code_is_asked_hidden_once_and_never_prefilled() -> None:
    ui = secondary_until_join_code(ScriptedUI())
    ui.expect("password", "Please enter the join code shown on the primary", JOIN_CODE)
    rest_of_secondary(ui).expect("yesno", "Join code: (entered, not shown)", True)
    answers = collect(ui, WizardState())
    ui.done()
    assert answers.cluster.join_code == JOIN_CODE
    (box,) = [s for s in ui.shown if "join code shown" in s.text]
    assert box.widget == "password" and KEEP_NOTE not in box.text
    assert_never_shown(ui, JOIN_CODE)


def test_no_at_summary_keeps_the_join_code_with_an_empty_box() -> None:
    ui = secondary_until_join_code(ScriptedUI())
    ui.expect("password", "join code shown on the primary", JOIN_CODE)
    rest_of_secondary(ui).expect("yesno", "Please confirm", False)
    secondary_until_join_code(ui, keep=True)
    ui.expect("password", "join code shown on the primary" + KEEP_NOTE, "")
    rest_of_secondary(ui, keep=True).expect("yesno", "Join code: (entered, not shown)", True)
    answers = collect(ui, WizardState())
    ui.done()
    assert answers.cluster.join_code == JOIN_CODE
    assert_never_shown(ui, JOIN_CODE)


def test_a_known_code_is_replaced_when_one_is_typed() -> None:
    other = "AEBA-GBAF-AYDQ-QCIK-BMGA-2DQP-CABE".lower()
    state = WizardState(raw={"cluster.join-code": "Z" * 8})  # whatever the DVD had
    ui = secondary_until_join_code(ScriptedUI())
    ui.expect("password", KEEP_NOTE, other)
    rest_of_secondary(ui).expect("yesno", "Please confirm", True)
    assert collect(ui, state).cluster.join_code == JOIN_CODE
    ui.done()


def test_a_typo_is_named_without_the_code_and_asked_again_empty() -> None:
    typo = JOIN_CODE[:-1] + "F"
    ui = secondary_until_join_code(ScriptedUI())
    ui.expect("password", "join code shown on the primary", typo)
    ui.expect("message", "Join code: join code does not check out", None)
    ui.expect("password", "join code shown on the primary", JOIN_CODE)
    rest_of_secondary(ui).expect("yesno", "Please confirm", True)
    collect(ui, WizardState())
    ui.done()
    retry = [s for s in ui.shown if "join code shown" in s.text][1]
    assert KEEP_NOTE not in retry.text  # a wrong code is not "kept"
    assert_never_shown(ui, typo)


class RecordingDialog:
    """Stands in for pythondialog's Dialog: records each widget call's arguments."""

    OK, CANCEL = "ok", "cancel"

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def passwordbox(self, *args: Any, **kwargs: Any) -> tuple[str, str]:
        self.calls.append(("passwordbox", args, kwargs))
        return self.OK, self.reply


def test_dialog_password_box_gets_no_initial_text() -> None:
    ui = DialogUI.__new__(DialogUI)  # no terminal: only the arguments dialog would get
    fake = RecordingDialog(JOIN_CODE)
    ui.d = fake
    assert ui.passwordbox("Please enter the join code shown on the primary") == JOIN_CODE
    ((_, args, kwargs),) = fake.calls
    assert "init" not in kwargs and kwargs.get("insecure") is True  # asterisks, not text
    assert JOIN_CODE not in repr((args, kwargs))
