"""``expandctl firstboot`` interactive: the seed's screens, then apply, report and reboot.

The apply function is injected, so the wizard is the same whether it applies for real,
into a ``--root`` folder, or (in tests) into a temp dir. It is handed the network safety
net (``NetworkConfirmation``, a step hook of the engine) whose question the wizard shows as
a countdown right after the network step. The engine saves the answers (without secrets)
when it succeeds; the wizard itself writes nothing. Exit codes: ``EXIT_OK`` installed,
``EXIT_FAILED`` the apply found problems (nothing rebooted), ``EXIT_QUIT`` the user left
before confirming (nothing written).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from appliance.answers import Answers
from appliance.errors import ExpandError
from appliance.runner import Runner
from firstboot.network_safety import CONFIRM_SECONDS, NetworkConfirmation
from firstboot.wizard_flow import Quit, WizardState, collect, confirm_quit
from firstboot.wizard_ui import WizardUI

log = logging.getLogger("expand.firstboot")

EXIT_OK = 0
EXIT_FAILED = 2
EXIT_QUIT = 3

Progress = Callable[[int, str], None]  # (percent 0-100, what is happening)


class ApplyResult(Protocol):
    """What the wizard reads of the engine's ApplyReport."""

    @property
    def ok(self) -> bool: ...

    @property
    def steps(self) -> Sequence[Any]: ...

    @property
    def warnings(self) -> Sequence[Any]: ...


# (answers, progress, the network confirmation or None) -> report
ApplyFn = Callable[[Answers, Progress, NetworkConfirmation | None], ApplyResult]
GAUGE_TEXT = "Installing eXpand: this may take several minutes..."
DescribeStep = Callable[[Any], str]


def describe_step(step: Any) -> str:
    """'title: detail' for the engine's StepOutcome; str() for anything else."""
    title, detail = getattr(step, "title", None), getattr(step, "detail", None)
    return f"{title}: {detail}" if title and detail else str(step)


@dataclass
class WizardRun:
    ui: WizardUI
    root: Path
    runner: Runner
    live: bool
    apply_fn: ApplyFn
    describe_step: DescribeStep = describe_step
    confirm_seconds: int = CONFIRM_SECONDS  # 0: the new network is kept without asking
    notice: str = ""  # shown before the first screen (e.g. a cut run's network restored)

    def run(self, state: WizardState) -> int:
        try:
            if self.notice:
                self.ui.message(self.notice)
            answers = collect(self.ui, state)
            while not self.ui.message("Press OK to restart network and start eXpand "
                                      "installation"):
                confirm_quit(self.ui)
        except Quit:
            log.info("wizard left by the user; nothing written")
            return EXIT_QUIT
        try:
            result: ApplyResult = self.apply_with_gauge(answers)
        except ExpandError as exc:  # not a step failure: e.g. unknown distribution
            log.error("apply failed: %s", exc)
            result = _Failed((str(exc),))
        problems = [self.describe_step(s) for s in result.steps if _failed(s)]
        ok = result.ok and not problems
        self.ui.message(self.report_text(ok, problems, result))
        if not ok:
            return EXIT_FAILED
        self.ui.message("Please remove the installation DVD from the drive now: the server "
                        "restarts when you press OK.")
        self.reboot()
        return EXIT_OK

    def safety_net(self) -> NetworkConfirmation | None:
        if self.confirm_seconds <= 0:
            return None
        return NetworkConfirmation(self.countdown, seconds=self.confirm_seconds)

    def countdown(self, question: str, seconds: int) -> bool:
        """The safety net's question, asked mid-apply: the gauge makes room for it."""
        self.ui.gauge_stop()
        try:
            return self.ui.countdown(question, seconds)
        finally:
            self.ui.gauge_start(GAUGE_TEXT)

    def apply_with_gauge(self, answers: Answers) -> ApplyResult:
        self.ui.gauge_start(GAUGE_TEXT)
        try:
            return self.apply_fn(answers, self.ui.gauge_update, self.safety_net())
        finally:
            self.ui.gauge_stop()

    @staticmethod
    def report_text(ok: bool, problems: Sequence[str], result: ApplyResult) -> str:
        if ok:
            # The join code for the secondary: on this screen only (see steps/cluster.py).
            done = "dry run: nothing applied" if getattr(result, "dry_run", False) else \
                "eXpand installed"
            lines = [done, *getattr(result, "shown_once", ())]
        else:
            found = problems or ["the installation did not complete (see the log)"]
            lines = ["eXpand installation found problems:", "", *(f"- {p}" for p in found),
                     "", "Fix them, then run 'expandctl firstboot --reconfigure'."]
        if result.warnings:
            lines += ["", "Warnings:", *(f"- {w}" for w in result.warnings)]
        return "\n".join(lines)

    def reboot(self) -> None:
        if self.live:
            self.runner.run(["systemctl", "reboot"])
            return
        self.ui.message(f"Files were written under {self.root} only: a real installation "
                        "would now restart the server (systemctl reboot). Nothing was "
                        "restarted.")


@dataclass(frozen=True)
class _Failed:
    """An apply that raised instead of returning a report."""

    steps: tuple[str, ...]
    ok: bool = False
    warnings: tuple[str, ...] = ()


def _failed(step: Any) -> bool:
    if isinstance(step, str):
        return True
    ok = getattr(step, "ok", None)
    if ok is None:
        status = str(getattr(step, "status", "ok"))
        return status in ("failed", "error")
    return not ok
