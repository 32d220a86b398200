"""The cluster configuration as a first-boot action: created once, then kept in step with
the answers on every rerun (``firstboot --reconfigure``, an unattended rerun).

First time (the live CIB has no ``marker`` resource): the ``pcs -f`` steps run on a copy
of the live CIB, pushed in one transaction (``ha.cib.update_live_cib``).

Afterwards: the steps are read as data and compared with the live CIB (``ha.cib_diff``).
No difference: nothing is written (the CIB epoch stays). A difference: the steps run on an
empty CIB (offline, 0600), the changed parts are carried into a copy of the live CIB, and
``crm_diff`` turns the two into one patch that ``cibadmin --patch`` applies in one
transaction. The patch names the live version it was made from: if the cluster changed in
between, pacemaker refuses it ("Update was older"), and the CIB is read again and the
difference computed again (a few times) instead of overwriting that change.

The plan side (``describe``) is computed from the CIB pacemaker keeps on disk, read through
the FileSink: ``firstboot plan`` shows the changes without running anything.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.runner import Runner
from appliance.wait import poll
from ha.cib import CibStep, apply_steps, update_live_cib
from ha.cib_diff import CibDiff, diff_cib, parse_cib
from ha.cib_merge import merge

log = logging.getLogger("expand.ha")

CIB_ON_DISK = "/var/lib/pacemaker/cib/cib.xml"
PATCH_ATTEMPTS = 3
OLD_DATA = 103  # pacemaker's pcmk_err_old_data: the CIB changed since it was read


def has_resource(cib_text: str, rid: str) -> bool:
    if not cib_text.strip():
        return False
    conf = parse_cib(cib_text).find("configuration/resources")
    return conf is not None and any(node.get("id") == rid for node in conf.iter())


@dataclass(frozen=True)
class CibPreview:
    """What the plan says about the live cluster: ``state`` is "create" (no cluster
    configuration yet), "unchanged" or "update" (then ``changes``)."""

    state: str
    changes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def preview(sink: FileSink, steps: Sequence[CibStep], marker: str, *,
            manage_fencing: bool) -> CibPreview:
    """Pure: the on-disk CIB (pacemaker writes it after every change) against the steps."""
    text = sink.read_text(CIB_ON_DISK)
    try:
        if not text or not has_resource(text, marker):
            return CibPreview("create")
        diff = diff_cib(text, steps, manage_fencing=manage_fencing)
    except ExpandError as exc:
        return CibPreview("create", notes=(f"{CIB_ON_DISK} unreadable ({exc}): "
                                           "compared with the live CIB when applied",))
    return CibPreview("update" if diff.changes else "unchanged", tuple(diff.lines()),
                      diff.notes)


@dataclass(frozen=True)
class ConfigureCluster:
    """Create the cluster configuration, or bring the live one in step with the answers."""

    work_file: str  # 0600 while it exists (fencing passwords), removed afterwards
    steps: tuple[CibStep, ...] = field(repr=False)
    marker: str  # a resource id: present = the configuration exists
    manage_fencing: bool = True  # False: fencing.mode none; the live fencing is left alone
    preview: CibPreview = CibPreview("create")
    wait_seconds: float = 120.0  # pacemaker's CIB daemon answers a few seconds after start

    @property
    def commands(self) -> tuple[tuple[str, ...], ...]:
        if self.preview.state == "unchanged":
            return (("cibadmin", "--query"),)
        if self.preview.state == "update":
            return (("cibadmin", "--empty"), *(s.argv for s in self.steps),
                    ("cibadmin", "--query"), ("crm_diff", "--original", self.live_file,
                                              "--new", self.new_file),
                    ("cibadmin", "--patch", "--xml-pipe"))
        return (("cibadmin", "--query"), *(s.argv for s in self.steps),
                ("cibadmin", "--replace", "--xml-file", self.work_file))

    @property
    def live_file(self) -> str:
        return f"{self.work_file}.live"

    @property
    def new_file(self) -> str:
        return f"{self.work_file}.new"

    def describe(self) -> str:
        if self.preview.state == "unchanged":
            return "cluster configuration: the live CIB already matches the answers (no change)"
        if self.preview.state == "update":
            return ("cluster configuration: change the live CIB in one patch: "
                    + "; ".join(self.preview.changes))
        return (f"build the cluster configuration in {self.work_file} ({len(self.steps)} "
                f"pcs -f/cibadmin commands) and push it, unless resource {self.marker} exists "
                "(then only what differs from the answers is changed)")

    def as_dict(self) -> dict[str, Any]:
        return {"action": "cluster-configuration", "work_file": self.work_file,
                "unless_resource": self.marker, "state": self.preview.state,
                "changes": list(self.preview.changes), "notes": list(self.preview.notes),
                "commands": [list(c) for c in self.commands]}

    def execute(self, sink: FileSink, runner: Runner) -> None:
        live = self._live_cib(runner)
        if not has_resource(live, self.marker):
            update_live_cib(runner, sink, self.work_file, self.steps)
            return
        diff = diff_cib(live, self.steps, manage_fencing=self.manage_fencing)
        for note in diff.notes:
            log.info("cluster configuration: %s", note)
        if diff.empty:
            log.info("cluster configuration matches the answers: nothing changed")
            return
        built = self._build_offline(runner, sink)
        for attempt in range(1, PATCH_ATTEMPTS + 1):
            for line in diff.lines():
                log.info("cluster configuration: %s", line)
            if self._patch(runner, sink, live, built, diff):
                return
            log.info("the CIB changed while it was patched (attempt %d): read again", attempt)
            live = self._live_cib(runner)
            diff = diff_cib(live, self.steps, manage_fencing=self.manage_fencing)
            if diff.empty:
                return
        raise ExpandError(f"the cluster configuration kept changing while first boot patched "
                          f"it ({PATCH_ATTEMPTS} attempts): run it again when the cluster is "
                          "quiet")

    def _build_offline(self, runner: Runner, sink: FileSink) -> str:
        """The steps on an empty CIB: the XML of every part the answers want."""
        sink.write(self.work_file, runner.run(["cibadmin", "--empty"]).stdout, mode=0o600)
        try:
            apply_steps(runner, self.steps, str(sink.target(self.work_file)))
            return sink.read_text(self.work_file) or ""
        finally:
            sink.remove(self.work_file)

    def _patch(self, runner: Runner, sink: FileSink, live: str, built: str,
               diff: CibDiff) -> bool:
        """One patch from the live CIB as read to the merged one; False: it was stale."""
        sink.write(self.live_file, live, mode=0o600)
        sink.write(self.new_file, merge(live, built, diff), mode=0o600)
        try:
            made = runner.run(["crm_diff", "--original", str(sink.target(self.live_file)),
                               "--new", str(sink.target(self.new_file))], check=False)
        finally:
            sink.remove(self.live_file)
            sink.remove(self.new_file)
        if made.returncode == 0:
            return True  # nothing differs after all
        if made.returncode != 1:
            raise ExpandError(f"crm_diff failed (exit {made.returncode}): "
                              f"{made.stderr.strip()[-200:]}")
        # The patch may carry a fencing password: stdin only.
        applied = runner.run(["cibadmin", "--patch", "--xml-pipe"], input=made.stdout,
                             check=False)
        if applied.returncode == 0:
            return True
        if applied.returncode == OLD_DATA or "older" in applied.stderr:
            return False
        raise ExpandError(f"cibadmin --patch failed (exit {applied.returncode}): "
                          f"{applied.stderr.strip()[-200:]}")

    def _live_cib(self, runner: Runner) -> str:
        reached, probe = poll(lambda: runner.run(["cibadmin", "--query"], check=False),
                              lambda result: result.returncode == 0,
                              timeout=self.wait_seconds, interval=1.0)
        if not reached:
            raise ExpandError(f"pacemaker did not answer within {self.wait_seconds:.0f} s "
                              f"(cibadmin --query: {probe.stderr.strip()[-200:]})")
        return probe.stdout
