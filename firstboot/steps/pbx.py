"""The PBX as a first-boot step: ``pbx apply`` of the answers' ``[pbx] site`` file.

Runs after the cluster step (/etc/corosync/authkey exists by then). SIP listens on the
virtual IP (Asterisk runs where the VIP is). On a live box the whole apply runs: render,
proof on a throwaway Asterisk, symlink flip, reloads of a running Asterisk (none runs on a
passive node: the release goes live on disk). In an alternate root (the dry run) it only
plans: the proof needs that root's Asterisk running, so nothing is written there.
The site file can change without the answers changing, so the step runs on every first
boot (``secret_inputs``); an unchanged site writes and reloads nothing.
"""

from __future__ import annotations

from firstboot.steps.base import Context, StepPlan
from pbx.apply_action import ApplySite


class PbxStep:
    name = "pbx"
    title = "Configuring the PBX (pbx apply)"
    secret_inputs = True  # the site file is not in the answers: re-applied every run

    def plan(self, ctx: Context) -> StepPlan:
        site = ctx.answers.pbx.site
        if not site:
            return StepPlan((), "no [pbx] site in the answers: Asterisk keeps its packaged "
                                "configuration")
        action = ApplySite(site, f"{ctx.answers.network.virtual_ip}:5060", ctx.live)
        return StepPlan((action,), f"apply {site}")

    def apply(self, ctx: Context) -> StepPlan:
        planned = self.plan(ctx)
        warnings: list[str] = []
        detail = planned.detail
        for action in planned.actions:
            action.execute(ctx.sink, ctx.runner)
            if isinstance(action, ApplySite) and action.outcome:
                outcome = action.outcome[-1]
                detail = f"{detail}: {outcome.status}, release {outcome.release or '-'}"
                warnings += [f"restart required: {r}" for r in outcome.restart
                             if outcome.status == "restart-required"]
        return StepPlan(planned.actions, detail, tuple(warnings))
