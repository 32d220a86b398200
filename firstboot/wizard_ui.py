"""The wizard's screen primitives, over the real ``dialog`` program (pythondialog).

The flow talks to the ``WizardUI`` protocol only: ``None`` from a question means the user
pressed Escape or Cancel, so the flow can ask whether to quit.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Protocol

BACKTITLE = "Expand PBX"
TITLE = "Expand Installation"
INPUT_WIDTH = 64


def input_height(text: str) -> int:
    """Box height for an input box: dialog's auto size miscounts wrapped prompts."""
    lines = sum(len(textwrap.wrap(p, INPUT_WIDTH - 6)) or 1 for p in text.split("\n"))
    return lines + 7


class WizardUI(Protocol):
    def menu(self, text: str, choices: Sequence[tuple[str, str]], default: str) -> str | None: ...

    def inputbox(self, text: str, init: str) -> str | None: ...

    def passwordbox(self, text: str) -> str | None: ...

    def yesno(self, text: str, *, yes: str = "Yes", no: str = "No") -> bool | None: ...

    def message(self, text: str) -> bool:
        """Show ``text`` with an OK button; False when left with Escape."""
        ...

    def gauge_start(self, text: str) -> None: ...

    def gauge_update(self, percent: int, text: str) -> None: ...

    def gauge_stop(self) -> None: ...

    def countdown(self, text: str, seconds: int) -> bool:
        """True only when the user confirms before ``seconds`` run out."""
        ...


class DialogUI:
    """``WizardUI`` on the terminal, through the real ``dialog`` binary."""

    def __init__(self) -> None:
        import dialog  # imported here: unit tests of the flow need no terminal

        self.d = dialog.Dialog(dialog="dialog", autowidgetsize=True)
        self.d.set_background_title(BACKTITLE)

    def menu(self, text: str, choices: Sequence[tuple[str, str]], default: str) -> str | None:
        code, tag = self.d.menu(text, choices=list(choices), title=TITLE, default_item=default,
                                no_cancel=False)
        return str(tag) if code == self.d.OK else None

    def inputbox(self, text: str, init: str) -> str | None:
        code, value = self.d.inputbox(text, init=init, title=TITLE, width=INPUT_WIDTH,
                                      height=input_height(text))
        return str(value) if code == self.d.OK else None

    def passwordbox(self, text: str) -> str | None:
        # Never ``init=``: it would put the secret on dialog's argv or in its args file.
        code, value = self.d.passwordbox(text, title=TITLE, width=INPUT_WIDTH,
                                         height=input_height(text), insecure=True)
        return str(value) if code == self.d.OK else None

    def yesno(self, text: str, *, yes: str = "Yes", no: str = "No") -> bool | None:
        code = self.d.yesno(text, title=TITLE, yes_label=yes, no_label=no)
        if code == self.d.OK:
            return True
        return False if code == self.d.CANCEL else None

    def message(self, text: str) -> bool:
        return bool(self.d.msgbox(text, title=TITLE) == self.d.OK)

    def gauge_start(self, text: str) -> None:
        self.d.gauge_start(text, title=TITLE, width=70, height=10)

    def gauge_update(self, percent: int, text: str) -> None:
        self.d.gauge_update(max(0, min(100, int(percent))), text, update_text=True)

    def gauge_stop(self) -> None:
        self.d.gauge_stop()

    def countdown(self, text: str, seconds: int) -> bool:
        # dialog's pause box shows the seconds left, but ends with OK when time runs out.
        # So OK is "Restore now" and the focused Cancel button is "Keep": only a key press
        # on "Keep" before the time is up keeps the new configuration.
        code = self.d.pause(text, seconds=max(1, int(seconds)), title=TITLE,
                            ok_label="Restore now", cancel_label="Keep",
                            default_button="cancel", height=12, width=70)
        return bool(code == self.d.CANCEL)
