"""Hardware and RAID report: what the box is, which tier it carries, what it lacks.

Never fails the install: a box below tier or without RAID-1 still gets configured, and the
final report says so loudly (the seed asks the technician to check RAID-1 beforehand).
"""

from __future__ import annotations

import dataclasses
import json

from firstboot.actions import WriteFile
from firstboot.paths import STATE_DIR
from firstboot.steps.base import Context, PlannedStep, StepPlan
from hardware_profiles.judge import judge
from hardware_profiles.snapshot import facts_to_dict

HARDWARE_REPORT = f"{STATE_DIR}/hardware-report.json"


class HardwareStep(PlannedStep):
    name = "hardware"
    title = "Checking hardware and RAID"

    def plan(self, ctx: Context) -> StepPlan:
        facts = ctx.host.hardware
        if facts is None:
            return StepPlan((), "hardware facts not gathered",
                            ("hardware facts could not be gathered: tier and RAID-1 unchecked",))
        verdict = judge(facts, san=ctx.answers.storage.mode == "san")
        warnings = [f.message for f in verdict.warnings]
        warnings += [f"below tier: {s.message}" for s in verdict.shortfalls]
        report = {"facts": facts_to_dict(facts), "verdict": dataclasses.asdict(verdict),
                  "tier": verdict.tier_text, "warnings": warnings}
        text = json.dumps(report, indent=2, sort_keys=True) + "\n"
        detail = f"{verdict.machine}, tier {verdict.tier_text}"
        return StepPlan((WriteFile(HARDWARE_REPORT, text),), detail, tuple(warnings))
