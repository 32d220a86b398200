"""The plan: every file first boot would write and every command it would run, per step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from firstboot.actions import Action, ConfigureCluster, EnableUnit, NewJoinCode, RunCommand


@dataclass(frozen=True)
class PlannedStepEntry:
    name: str
    title: str
    actions: tuple[Action, ...]
    detail: str
    warnings: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "detail": self.detail,
                "warnings": list(self.warnings), "actions": [a.as_dict() for a in self.actions]}


@dataclass(frozen=True)
class Plan:
    root: str
    live: bool
    platform: str
    nics: tuple[str, ...]
    steps: tuple[PlannedStepEntry, ...]

    @property
    def files(self) -> tuple[str, ...]:
        """Paths written, linked or removed, in order, each once."""
        paths: list[str] = []
        for step in self.steps:
            for action in step.actions:
                if isinstance(action, NewJoinCode):
                    paths += [action.code_path, action.authkey_path]
                elif not isinstance(action, RunCommand | EnableUnit | ConfigureCluster):
                    paths.append(action.path)
        return tuple(dict.fromkeys(paths))

    @property
    def commands(self) -> tuple[tuple[str, ...], ...]:
        found: list[tuple[str, ...]] = []
        for step in self.steps:
            for action in step.actions:
                if isinstance(action, RunCommand | EnableUnit):
                    found.append(action.argv)
                elif isinstance(action, ConfigureCluster):
                    found += action.commands
        return tuple(found)

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(w for s in self.steps for w in s.warnings))

    def as_dict(self) -> dict[str, Any]:
        return {"root": self.root, "live": self.live, "platform": self.platform,
                "nics": list(self.nics), "steps": [s.as_dict() for s in self.steps],
                "files": list(self.files), "commands": [list(c) for c in self.commands],
                "warnings": list(self.warnings)}

    def lines(self) -> list[str]:
        """Human-readable plan, one action per line (secret contents are never shown)."""
        how = "live system" if self.live else f"alternate root {self.root} (files only)"
        out = [f"Plan for {how}; platform {self.platform}; NICs {', '.join(self.nics) or '-'}"]
        for number, step in enumerate(self.steps, 1):
            out.append(f"{number}. {step.title}: {step.detail}")
            out += [f"     {a.describe()}" for a in step.actions]
            out += [f"     warning: {w}" for w in step.warnings]
        if not self.live:
            out.append("Commands are recorded, not run, in an alternate root.")
        return out
