"""Validation reports: every problem found, each naming the file and key it concerns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from appliance.readers import cut_middle


@dataclass(frozen=True)
class Report:
    """One problem. ``source`` is a file name (or ``wizard``), ``key`` a dotted key."""

    source: str
    key: str
    message: str

    def __post_init__(self) -> None:
        # A message may echo a value from a file (up to 1 MiB): keep it one readable line.
        object.__setattr__(self, "message", cut_middle(self.message, 400))

    def __str__(self) -> str:
        where = f"{self.source}: {self.key}" if self.key else self.source
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class ValidationFailed(Exception):
    """Raised by loaders when validation found problems; carries all of them."""

    def __init__(self, reports: Iterable[Report]) -> None:
        self.reports = tuple(reports)
        super().__init__("\n".join(str(r) for r in self.reports))
