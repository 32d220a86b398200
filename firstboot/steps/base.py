"""The step interface: every first-boot step (and the HA, tunnel and PBX steps of later issues).

A step is ``name`` (journal key), ``title`` (shown in progress and report), ``plan(ctx)``
(pure: reads the target, returns actions) and ``apply(ctx)`` (executes them). Steps must
be idempotent: applying one twice leaves the same tree as applying it once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from appliance.answers import Answers
from appliance.filesink import FileSink
from appliance.platform import Platform
from appliance.runner import Runner
from firstboot.actions import Action
from firstboot.host import Host


@dataclass(frozen=True)
class Context:
    answers: Answers
    root: Path
    live: bool          # False: an alternate root, files only, commands recorded not run
    platform: Platform
    host: Host
    sink: FileSink
    runner: Runner

    @property
    def lan_nic(self) -> str | None:
        return self.host.nics[0] if self.host.nics else None

    @property
    def interconnect_nic(self) -> str | None:
        return self.host.nics[1] if len(self.host.nics) > 1 else None


@dataclass(frozen=True)
class StepPlan:
    actions: tuple[Action, ...] = ()
    detail: str = ""                      # one line for the report
    warnings: tuple[str, ...] = field(default=())
    # For the operator's screen only (the cluster join code): never journaled, logged or
    # put in firstboot-report.json; the CLI and the wizard show it with the final report.
    shown_once: str = field(default="", repr=False)


class Step(Protocol):
    name: str
    title: str
    # True when the step's inputs include a secret: the journal cannot key it (it never
    # sees secrets), so the step is applied again on every run instead of being skipped.
    secret_inputs: bool

    def plan(self, ctx: Context) -> StepPlan: ...

    def apply(self, ctx: Context) -> StepPlan: ...


class PlannedStep:
    """A step whose apply is exactly its plan, executed in order."""

    name = ""
    title = ""
    secret_inputs = False

    def plan(self, ctx: Context) -> StepPlan:
        raise NotImplementedError

    def apply(self, ctx: Context) -> StepPlan:
        planned = self.plan(ctx)
        for action in planned.actions:
            action.execute(ctx.sink, ctx.runner)
        return planned
