"""The question flow: every screen in order, each field checked as typed, cross-field
problems sent back to their screen, then the summary. Returns the ``Answers``.

Pure logic over the ``WizardUI`` protocol, so unit tests can drive it with a scripted UI
and the integration tests drive the same code through the real ``dialog``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from appliance.answers import Answers, build, check_values
from appliance.crosschecks import cross_check
from appliance.errors import ExpandError
from appliance.fields import BY_KEY
from firstboot.wizard_screens import (
    AGAIN,
    KEEP_NOTE,
    MODE_BY_TAG,
    MODE_CHOICES,
    ORIGIN_NOTE,
    SCREENS,
    TAG_BY_MODE,
    Screen,
    label,
    screen_for_key,
)
from firstboot.wizard_ui import WizardUI

SOURCE = "wizard"
# Screens whose value the current network settings can suggest.
FACT_SCREENS = ("own-ip", "netmask", "gateway", "dns")


class Quit(Exception):
    """The user chose to leave the wizard; nothing must be written."""


@dataclass
class WizardState:
    """What each screen shows first: earlier answers, a pre-fill file, or current facts."""

    raw: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    facts: dict[str, str] = field(default_factory=dict)  # by screen name
    facts_origin: str = "dhcp"

    @property
    def mode(self) -> str:
        return str(self.raw.get("mode") or "primary")

    def initial(self, screen: Screen) -> tuple[str, str]:
        """(text to pre-fill, origin note) for ``screen``."""
        key = screen.key_for(self.mode)
        if key in self.raw:
            return as_text(self.raw[key]), ORIGIN_NOTE.get(self.origins.get(key, ""), "")
        if screen.name in self.facts:
            return self.facts[screen.name], ORIGIN_NOTE.get(self.facts_origin, "")
        default = BY_KEY[key].default
        if BY_KEY[key].required or default is None:
            return "", ""
        return as_text(default), ""

    def set(self, key: str, value: Any) -> None:
        self.raw[key] = value
        self.origins[key] = "entered"


def as_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(as_text(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def confirm_quit(ui: WizardUI) -> None:
    """Escape/Cancel anywhere: raise ``Quit`` when the user confirms."""
    if ui.yesno("Quit the eXpand installation? Nothing has been written.", yes="Quit",
                no="Continue"):
        raise Quit()


def ask_screen(ui: WizardUI, screen: Screen, state: WizardState) -> None:
    key = screen.key_for(state.mode)
    if screen.kind == "menu":
        _ask_mode(ui, state)
    elif screen.kind == "password":
        _ask_password(ui, screen, key, state)
    elif screen.kind == "secret":
        _ask_secret(ui, screen, key, state)
    else:
        _ask_input(ui, screen, key, state)


def _ask_mode(ui: WizardUI, state: WizardState) -> None:
    while True:
        tag = ui.menu("Select PBX Mode", MODE_CHOICES, TAG_BY_MODE.get(state.mode, "1"))
        if tag is None:
            confirm_quit(ui)
        elif tag in MODE_BY_TAG:
            state.set("mode", MODE_BY_TAG[tag])
            return


def _ask_input(ui: WizardUI, screen: Screen, key: str, state: WizardState) -> None:
    text, note = state.initial(screen)
    while True:
        prompt = screen.text_for(state.mode) + note
        typed = ui.inputbox(f"{prompt}\n{screen.hint}" if screen.hint else prompt, text)
        if typed is None:
            confirm_quit(ui)
            continue
        _, problem = BY_KEY[key].check(typed)
        if problem is None:
            state.set(key, typed.strip())
            return
        ui.message(f"{label(key)}: {problem}\n\nPlease enter it again.")
        text, note = typed, ""  # keep what was typed, to correct it


def _ask_secret(ui: WizardUI, screen: Screen, key: str, state: WizardState) -> None:
    """One hidden box, never pre-filled: an empty answer keeps a value already known."""
    known = as_text(state.raw.get(key)).strip()
    while True:
        prompt = screen.text_for(state.mode) + (KEEP_NOTE if known else "")
        typed = ui.passwordbox(f"{prompt}\n{screen.hint}" if screen.hint else prompt)
        if typed is None:
            confirm_quit(ui)
            continue
        if known and not typed.strip():
            return  # kept as it was (and where it came from)
        _, problem = BY_KEY[key].check(typed)
        if problem is None:
            state.set(key, typed.strip())
            return
        ui.message(f"{label(key)}: {problem}\n\nPlease enter it again.")


def _ask_password(ui: WizardUI, screen: Screen, key: str, state: WizardState) -> None:
    while True:
        first = ui.passwordbox(screen.text_for(state.mode))
        if first is None:
            confirm_quit(ui)
            continue
        second = ui.passwordbox(AGAIN[key])
        if second is None:
            confirm_quit(ui)
            continue
        if first != second:
            ui.message("The two passwords do not match. Please enter them again.")
            continue
        _, problem = BY_KEY[key].check(first)
        if problem is None:
            state.set(key, first)
            return
        ui.message(f"{label(key)}: {problem}\n\nPlease enter it again.")


def checked_values(state: WizardState) -> tuple[dict[str, Any], list[Any]]:
    """Every field's value (defaults filled in) and all problems, as for an answers file."""
    values, reports = check_values(state.raw, SOURCE)
    bad = {r.key for r in reports}
    return values, reports + cross_check(values, SOURCE, skip=bad)


def fix_problems(ui: WizardUI, state: WizardState) -> dict[str, Any]:
    """Send the user back to the screen of each problem until there is none."""
    while True:
        values, reports = checked_values(state)
        if not reports:
            return values
        report = reports[0]
        screen = screen_for_key(report.key, state.mode)
        if screen is None or not screen.when(state.raw):
            # Only a pre-fill file can set keys without a screen.
            raise ExpandError(f"{report}: fix it in the answers file, then run again")
        ui.message(f"{label(report.key)}: {report.message}\n\nPlease correct it.")
        ask_screen(ui, screen, state)


def summary_text(values: Mapping[str, Any]) -> str:
    mode = values["mode"]
    own = "network.primary-ip" if mode == "primary" else "network.secondary-ip"

    def show(key: str) -> str:
        value = values.get(key)
        text = as_text(value)
        if key == own:
            text += " (this node)"
        return text or "(empty)"

    lines = [f"{label(key)}: {show(key)}" for key in (
        "interconnect.primary-address", "interconnect.secondary-address",
        "network.primary-ip", "network.netmask", "network.gateway", "network.dns",
        "network.pbx-domain", "network.secondary-ip", "network.virtual-ip",
        "smtp.smarthost", "smtp.username")]
    password = "(entered, not shown)" if values.get("smtp.password") else "(none)"
    join = ["Join code: (entered, not shown)"] if mode == "secondary" else []
    host = values["nodes.primary-hostname" if mode == "primary" else "nodes.secondary-hostname"]
    return "\n".join([
        "Please confirm the configuration:", "",
        f"PBX mode: {mode.capitalize()} (host name {host})",
        *lines, f"Email password: {password}", *join, "",
        "No: ask everything again, with these answers as defaults.",
    ])


def collect(ui: WizardUI, state: WizardState) -> Answers:
    """All screens, checks and the summary; raises ``Quit`` when the user leaves."""
    while True:
        for screen in SCREENS:
            if screen.when(state.raw):
                ask_screen(ui, screen, state)
            elif screen.name == "email-password":
                state.raw.pop("smtp.password", None)  # no login: no password
            elif screen.name == "join-code":
                state.raw.pop("cluster.join-code", None)  # a primary makes its own
        values = fix_problems(ui, state)
        while True:
            agreed = ui.yesno(summary_text(values))
            if agreed is not None:
                break
            confirm_quit(ui)
        if agreed:
            return build(values)
