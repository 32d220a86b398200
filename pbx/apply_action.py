"""``pbx apply`` as a first-boot action (firstboot.actions.Action): data the plan shows,
executed through the step's sink and runner. See firstboot/steps/pbx.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.reports import ValidationFailed
from appliance.runner import Runner
from pbx.apply import Outcome, apply_site
from pbx.releases import ETC
from pbx.throwaway import AsteriskPlace


@dataclass(frozen=True)
class ApplySite:
    """The action: ``pbx apply SITE`` under the sink's root."""

    site: str
    bind: str
    live: bool
    path: str = ETC  # what it changes (the plan's file list)
    outcome: list[Outcome] = field(default_factory=list, compare=False, repr=False)

    def describe(self) -> str:
        how = "prove, flip, reload" if self.live else "plan only (alternate root)"
        return f"pbx apply {self.site} (SIP on {self.bind}; {how})"

    def as_dict(self) -> dict[str, Any]:
        return {"action": "pbx-apply", "path": self.path, "site": self.site,
                "bind": self.bind, "live": self.live}

    def execute(self, sink: FileSink, runner: Runner) -> None:
        place = AsteriskPlace()
        try:
            outcome = apply_site(Path(self.site), root=sink.root, place=place,
                                 live_place=place if self.live else None, runner=runner,
                                 bind=self.bind, dry_run=not self.live)
        except ValidationFailed as exc:
            raise ExpandError(f"pbx.site: {exc.reports[0]}") from None
        if outcome.status == "rejected":
            raise ExpandError(f"pbx apply {self.site}: {outcome.reason}: "
                              + "; ".join(outcome.problems[:3]))
        self.outcome.append(outcome)
