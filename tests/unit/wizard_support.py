"""A scripted ``WizardUI`` for pure tests of the wizard's flow (the real dialog is driven in
tests/integration). Each expected step names the widget, a piece of its text and the reply;
a screen out of order fails the test at once, naming what was shown instead."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

PRIMARY_TEXT = {
    "interconnect": "203.0.113.1",
    "static PBX IP address": "198.51.100.11",
    "netmask": "255.255.255.0",
    "gateway": "198.51.100.1",
    "DNS": "198.51.100.53",
    "PBX domain": "",
    "secondary IP address": "198.51.100.12",
    "virtual IP address": "198.51.100.100",
    "FQDN smarthost": "smtp.example.com",
    "email username": "pbx@example.com",
}
PASSWORD = "unit-Smtp-Secret-5"


@dataclass
class Shown:
    widget: str
    text: str
    init: str = ""


@dataclass
class ScriptedUI:
    steps: list[tuple[str, str, Any]] = field(default_factory=list)
    shown: list[Shown] = field(default_factory=list)
    gauge: list[tuple[int, str]] = field(default_factory=list)

    def expect(self, widget: str, text: str, reply: Any) -> ScriptedUI:
        self.steps.append((widget, text, reply))
        return self

    def _next(self, widget: str, text: str, init: str = "") -> Any:
        self.shown.append(Shown(widget, text, init))
        assert self.steps, f"unexpected {widget}: {text!r}"
        want_widget, want_text, reply = self.steps.pop(0)
        assert (widget, True) == (want_widget, want_text in text), (
            f"expected {want_widget} with {want_text!r}, got {widget}: {text!r}")
        return reply

    def menu(self, text: str, choices: Sequence[tuple[str, str]], default: str) -> str | None:
        reply: str | None = self._next("menu", text, default)
        return reply

    def inputbox(self, text: str, init: str) -> str | None:
        reply = self._next("input", text, init)
        return init if reply is KEEP else reply

    def passwordbox(self, text: str) -> str | None:
        reply: str | None = self._next("password", text)
        return reply

    def yesno(self, text: str, *, yes: str = "Yes", no: str = "No") -> bool | None:
        reply: bool | None = self._next("yesno", text)
        return reply

    def message(self, text: str) -> bool:
        reply = self._next("message", text)
        return True if reply is None else bool(reply)

    def gauge_start(self, text: str) -> None:
        self.gauge.append((0, text))

    def gauge_update(self, percent: int, text: str) -> None:
        self.gauge.append((percent, text))

    def gauge_stop(self) -> None:
        self.gauge.append((-1, "stop"))

    def countdown(self, text: str, seconds: int) -> bool:
        reply: bool = self._next("countdown", text)
        return reply

    def done(self) -> None:
        assert not self.steps, f"screens never shown: {self.steps}"


KEEP = object()  # reply for an input box: keep the pre-filled value


def primary_script(ui: ScriptedUI, **override: str) -> ScriptedUI:
    """Every screen of a primary, in order, with the example answers."""
    ui.expect("menu", "Select PBX Mode", "1")
    for prompt, value in PRIMARY_TEXT.items():
        ui.expect("input", prompt, override.get(prompt, value))
    ui.expect("password", "Please enter email password", PASSWORD)
    ui.expect("password", "Please enter email password again", PASSWORD)
    return ui
