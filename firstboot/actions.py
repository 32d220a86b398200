"""What a step does, as data: files to write or remove, links to make, commands to run.

Steps return actions from a pure ``plan``; the same actions are then executed through the
FileSink and the Runner, so the plan shown to the user is exactly what apply does.
"""

from __future__ import annotations

import logging
import shlex
import time
from dataclasses import dataclass, field
from typing import Any

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.runner import Runner
from ha.cib import CibStep, update_live_cib

log = logging.getLogger("expand.firstboot")


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


@dataclass(frozen=True)
class ConfigureCluster:
    """The cluster configuration, built offline (``pcs -f`` on a copy of the live CIB) and
    pushed in one transaction, unless the live CIB already holds ``marker`` (a resource id):
    a rerun, or a resume after a power cut, never re-creates the cluster."""

    work_file: str  # 0600 while it exists (fencing passwords), removed afterwards
    steps: tuple[CibStep, ...] = field(repr=False)
    marker: str
    wait_seconds: float = 120.0  # pacemaker's CIB daemon answers a few seconds after start

    @property
    def commands(self) -> tuple[tuple[str, ...], ...]:
        return (("cibadmin", "--query"), *(s.argv for s in self.steps),
                ("cibadmin", "--replace", "--xml-file", self.work_file))

    def describe(self) -> str:
        return (f"build the cluster configuration in {self.work_file} ({len(self.steps)} "
                f"pcs -f/cibadmin commands) and push it, unless resource {self.marker} exists")

    def as_dict(self) -> dict[str, Any]:
        return {"action": "cluster-configuration", "work_file": self.work_file,
                "unless_resource": self.marker, "commands": [list(c) for c in self.commands]}

    def execute(self, sink: FileSink, runner: Runner) -> None:
        resources = self._live_resources(runner)
        if f'id="{self.marker}"' in resources:
            log.info("cluster configuration already holds %s: not pushed again", self.marker)
            return
        update_live_cib(runner, sink, self.work_file, self.steps)

    def _live_resources(self, runner: Runner) -> str:
        deadline = time.monotonic() + self.wait_seconds
        while True:
            probe = runner.run(["cibadmin", "--query", "--scope", "resources"], check=False)
            if probe.returncode == 0:
                return probe.stdout
            if time.monotonic() > deadline:
                raise ExpandError(f"pacemaker did not answer within {self.wait_seconds:.0f} s "
                                  f"(cibadmin --query: {probe.stderr.strip()[-200:]})")
            time.sleep(1)


Action = WriteFile | RemoveFile | Symlink | RunCommand | EnableUnit | ConfigureCluster
