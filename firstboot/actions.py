"""What a step does, as data: files to write or remove, links to make, commands to run.

Steps return actions from a pure ``plan``; the same actions are then executed through the
FileSink and the Runner, so the plan shown to the user is exactly what apply does.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from appliance.filesink import FileSink
from appliance.runner import Runner
from ha.bootstrap import NewJoinCode
from ha.cib_sync import ConfigureCluster
from pbx.apply_action import ApplySite
from tunnel.keys import NewTunnelKey

__all__ = ["Action", "ConfigureCluster", "EnableUnit", "NewJoinCode", "NewTunnelKey",
           "RemoveFile", "RunCommand", "Symlink", "WriteFile"]


@dataclass(frozen=True)
class WriteFile:
    path: str
    content: str | bytes = field(repr=False)  # bytes: binary files (the cluster authkey)
    mode: int = 0o644
    secret: bool = False  # content holds a secret: never shown, only path and mode

    def describe(self) -> str:
        return f"write {self.path} (mode {self.mode:04o})"

    def as_dict(self) -> dict[str, Any]:
        return {"action": "write", "path": self.path, "mode": f"{self.mode:04o}",
                "secret": self.secret}

    def execute(self, sink: FileSink, runner: Runner) -> None:
        sink.write(self.path, self.content, mode=self.mode)


@dataclass(frozen=True)
class RemoveFile:
    path: str

    def describe(self) -> str:
        return f"remove {self.path}"

    def as_dict(self) -> dict[str, Any]:
        return {"action": "remove", "path": self.path}

    def execute(self, sink: FileSink, runner: Runner) -> None:
        sink.remove(self.path)


@dataclass(frozen=True)
class Symlink:
    path: str
    points_to: str

    def describe(self) -> str:
        return f"link {self.path} -> {self.points_to}"

    def as_dict(self) -> dict[str, Any]:
        return {"action": "symlink", "path": self.path, "points_to": self.points_to}

    def execute(self, sink: FileSink, runner: Runner) -> None:
        sink.symlink(self.path, self.points_to)


@dataclass(frozen=True)
class RunCommand:
    argv: tuple[str, ...]
    input: str | None = field(default=None, repr=False)  # secrets travel here, never in argv
    timeout: float = 120.0

    def describe(self) -> str:
        return f"run {shlex.join(self.argv)}"

    def as_dict(self) -> dict[str, Any]:
        return {"action": "run", "argv": list(self.argv)}

    def execute(self, sink: FileSink, runner: Runner) -> None:
        runner.run(self.argv, input=self.input, timeout=self.timeout)


@dataclass(frozen=True)
class EnableUnit:
    """``systemctl enable UNIT`` unless already enabled: on Debian, enabling a unit with a
    SysV script (postfix) runs update-rc.d and takes seconds even when nothing changes."""

    unit: str

    @property
    def argv(self) -> tuple[str, ...]:
        return ("systemctl", "enable", self.unit)

    def describe(self) -> str:
        return f"run {shlex.join(self.argv)} (unless enabled)"

    def as_dict(self) -> dict[str, Any]:
        return {"action": "run", "argv": list(self.argv), "unless": "enabled"}

    def execute(self, sink: FileSink, runner: Runner) -> None:
        probe = runner.run(("systemctl", "is-enabled", "--quiet", self.unit), check=False)
        if probe.returncode != 0:
            runner.run(self.argv)


# The cluster's actions live in ha/ (ha imports nothing from firstboot); they have the
# same describe/as_dict/execute shape.
Action = (WriteFile | RemoveFile | Symlink | RunCommand | EnableUnit | ConfigureCluster
          | NewJoinCode | NewTunnelKey | ApplySite)
