"""The cluster as a first-boot step: a thin wrapper over ``ha.bootstrap.plan_bootstrap``.

Primary ("standalone first"): a one-node cluster that already owns the virtual IP, so the
secondary is added later without renumbering the phones. Its final report shows the join
code the secondary's first boot needs. Secondary: the two-node files, the authkey derived
from that code (``cluster.join-code``), corosync and pacemaker started: it joins the
primary once the primary lists it (``expandctl ha add-secondary`` there).

Where the join code is kept: on screen in the final report (the CLI's text and the
wizard), never in the journal, the log, the saved answers or firstboot-report.json. It is
also stored in ``JOIN_CODE`` (0600 root), because (1) a first boot cut after the authkey
was written must show the *same* code when it resumes (the key is derived from it), and
(2) the secondary is often installed weeks later: ``expandctl ha join-code`` shows it again.
This adds no exposure: the code is worth exactly the authkey, which already sits on the
same disk readable by root only.

The code is drawn when the step is applied (``NewJoinCode``), never in ``plan``: a plan
says "a new join code will be drawn".

Reruns (``--reconfigure``, an unattended rerun with changed answers): the code file is read
back, so a rerun writes the same authkey; the live CIB is brought in step with the answers
(``ha.cib_sync.ConfigureCluster``: only what differs is changed, in one patch; nothing when
nothing differs). A primary that ``ha add-secondary`` grew keeps its two-node
corosync.conf. Host names are not changed on a running cluster: a renamed node is a
different cluster member (its CIB node, its fencing level, the peer's corosync.conf), so the
step refuses and says so instead of reporting "done" with the old names still running.
"""

from __future__ import annotations

import re
from dataclasses import replace

from appliance.answers import Answers
from appliance.errors import ExpandError
from appliance.paths import JOIN_CODE
from appliance.wait import poll
from firstboot.actions import Action, RunCommand, WriteFile
from firstboot.steps.base import Context, PlannedStep, StepPlan
from ha.bootstrap import CIB_WORK_FILE, START_COMMANDS, ClusterFile, NewJoinCode, plan_bootstrap
from ha.cib import VIP_ID
from ha.cib_sync import CIB_ON_DISK, ConfigureCluster, preview
from ha.corosync import AUTHKEY_PATH, CONF_PATH, is_unsealed

__all__ = ["JOIN_CODE", "ClusterStep"]
# The daemons the step starts; without them (a bare test root) files are written only.
SOFTWARE = ("/usr/sbin/corosync", "/usr/sbin/pacemakerd")
STOP_COMMAND = ("systemctl", "stop", "pacemaker.service", "corosync.service")
CIB_DIR = "/var/lib/pacemaker/cib"
OUR_MARK = "Written by expandctl"  # ha/corosync.py's header line
JOIN_WAIT_SECONDS = 30.0


class ClusterStep(PlannedStep):
    name = "cluster"
    title = "Setting up the cluster (corosync, pacemaker, virtual IP)"
    # Join code and fencing password are inputs: applied on every run; every action is
    # idempotent (same files, `enable --now`, the CIB changed only where it differs).
    secret_inputs = True

    def plan(self, ctx: Context) -> StepPlan:
        a = ctx.answers
        refusal = _rename_refusal(ctx)
        if refusal:
            return StepPlan((), f"refused: {refusal}", (f"refused: {refusal}",))
        code, key_kept = self._join_code(ctx)
        grown = a.is_primary and 2 in _live_nodes(ctx)
        # Until the secondary has joined once, the grown primary's file stays unsealed:
        # rewriting it sealed would stop the cluster and bring back the wait it avoids.
        unsealed = grown and is_unsealed(ctx.sink.read_text(CONF_PATH) or "")
        boot = plan_bootstrap(a, with_secondary=not a.is_primary or grown, join_code=code,
                              authkey_exists=key_kept, no_fencing=a.fencing.mode == "none",
                              unsealed=unsealed)
        actions: list[Action] = []
        if boot.draw_join_code:  # before the authkey it derives
            actions.append(NewJoinCode())
        elif boot.join_code:  # before the authkey: a cut run resumes with the same code
            actions.append(WriteFile(JOIN_CODE, boot.join_code + "\n", mode=0o600, secret=True))
        actions += [WriteFile(f.path, f.content, f.mode, secret=f.secret) for f in boot.files]
        actions += [WriteFile(f.path, f.content, f.mode) for f in boot.service_files]
        warnings = self._warnings(ctx, key_kept)
        installed = all(ctx.sink.exists(p) for p in SOFTWARE)
        if installed and ctx.live:
            actions = _replace_running(ctx, boot.files) + actions
        detail = _detail(a)
        if installed or not ctx.live:  # --root: recorded, as a live run would run them
            actions += [RunCommand(argv) for argv in boot.start_commands]
            if boot.cib_steps:
                manage = a.fencing.mode != "none"
                seen = preview(ctx.sink, boot.cib_steps, VIP_ID, manage_fencing=manage)
                actions.append(ConfigureCluster(CIB_WORK_FILE, boot.cib_steps, VIP_ID,
                                                manage_fencing=manage, preview=seen))
                warnings += list(seen.notes)
                if seen.state == "update":
                    detail += "; cluster changes: " + "; ".join(seen.changes)
        return StepPlan(tuple(actions), detail, tuple(warnings))

    def apply(self, ctx: Context) -> StepPlan:
        refusal = _rename_refusal(ctx)
        if refusal:
            raise ExpandError(refusal)
        a = ctx.answers
        stored = _stored_code(ctx)
        for code in (stored, a.cluster.join_code):
            if code:
                ctx.runner.redactor.add(code)  # defence in depth: no command carries it
        planned = super().apply(ctx)
        drew = any(isinstance(act, NewJoinCode) for act in planned.actions)
        shown = _stored_code(ctx) if a.is_primary and (drew or stored) else None
        if shown:
            planned = replace(planned, shown_once=_join_text(a, shown))
        started = any(isinstance(act, RunCommand) and act.argv in START_COMMANDS
                      for act in planned.actions)
        if ctx.live and started and not a.is_primary and not _sees_peer(ctx):
            late = (f"{a.hostname} does not see {a.nodes.primary_hostname} yet: check the join "
                    "code, that 'expandctl ha add-secondary' ran on the primary and the "
                    "interconnect; the cluster forms as soon as both agree")
            return replace(planned, warnings=(*planned.warnings, late))
        return planned

    @staticmethod
    def _join_code(ctx: Context) -> tuple[str | None, bool]:
        """(code to derive the authkey from, keep the existing authkey instead)."""
        a, sink = ctx.answers, ctx.sink
        if a.is_primary:
            code = _stored_code(ctx)
            if code is None and sink.exists(AUTHKEY_PATH):
                return None, True  # made before the code was stored: never replace the key
            return code, False  # None: drawn when applied
        # A secondary rerun with the same code writes the same bytes; a corrected code
        # (a typo the first time) replaces a key that could never have joined.
        return a.cluster.join_code or None, not a.cluster.join_code and sink.exists(AUTHKEY_PATH)

    @staticmethod
    def _warnings(ctx: Context, key_kept: bool) -> list[str]:
        a = ctx.answers
        warnings = []
        if ctx.live and not all(ctx.sink.exists(p) for p in SOFTWARE):
            packages = " ".join(ctx.platform.cluster_packages)
            warnings.append(f"the cluster software is not installed ({packages}): its files "
                            "are written but the cluster is not started")
        if a.fencing.mode == "none":
            warnings.append("fencing is off (fencing.mode = none): choose ipmi, vmware or sbd "
                            "before the secondary joins, or a split can corrupt data")
        if a.is_primary and key_kept:
            warnings.append(f"{AUTHKEY_PATH} predates the stored join code: no code to show; "
                            "copy the authkey to the secondary by hand (0400 root)")
        return warnings


def _stored_code(ctx: Context) -> str | None:
    return (ctx.sink.read_text(JOIN_CODE) or "").strip() or None


def _sees_peer(ctx: Context, seconds: float = JOIN_WAIT_SECONDS) -> bool:
    """True once corosync lists two joined members (a wrong key never gets there)."""
    reached, _ = poll(lambda: ctx.runner.run(["corosync-cmapctl", "-b", "runtime.members"],
                                             check=False).stdout,
                      lambda members: members.count("= joined") >= 2,
                      timeout=seconds, interval=1.0)
    return reached


def _live_nodes(ctx: Context) -> dict[int, str]:
    """nodeid → name in the corosync.conf on disk, when it is ours (else empty)."""
    text = ctx.sink.read_text(CONF_PATH) or ""
    if OUR_MARK not in text:
        return {}
    nodes = {}
    for block in re.findall(r"node \{(.*?)\}", text, flags=re.S):
        name = re.search(r"^\s*name:\s*(\S+)", block, flags=re.M)
        nodeid = re.search(r"^\s*nodeid:\s*(\d+)", block, flags=re.M)
        if name and nodeid:
            nodes[int(nodeid.group(1))] = name.group(1)
    return nodes


def _rename_refusal(ctx: Context) -> str | None:
    """Why the step refuses: a member of a cluster that ran (pacemaker keeps its CIB on
    disk) renamed by the answers. Files only written (an alternate root, no cluster
    software) are simply written again with the new names."""
    a = ctx.answers
    if not ctx.sink.exists(CIB_ON_DISK):
        return None
    wanted = {1: ("nodes.primary-hostname", a.nodes.primary_hostname),
              2: ("nodes.secondary-hostname", a.nodes.secondary_hostname)}
    for nodeid, old in sorted(_live_nodes(ctx).items()):
        field_name, new = wanted.get(nodeid, ("", old))
        if new != old:
            return (f"{field_name}: the cluster knows node {nodeid} as {old}, the answers say "
                    f"{new}; a renamed node is a different cluster member, so first boot does "
                    f"not rename it (the cluster was left as it is): keep {old} in the "
                    "answers, or remove the node from the cluster and join it again")
    return None


def _replace_running(ctx: Context, files: tuple[ClusterFile, ...]) -> list[Action]:
    """Debian enables corosync and pacemaker on install and starts them with its sample
    corosync.conf (one node "node1" on 127.0.0.1), whose CIB then names that node. Before
    new files land: stop both (``enable --now`` would leave the old config running), and
    when the running config was not ours, drop that sample cluster's CIB. Nothing when the
    files are already these (a rerun never bounces the cluster)."""
    changed = [f for f in files if not _holds(ctx, f)]
    if not changed:
        return []
    actions: list[Action] = [RunCommand(STOP_COMMAND)]
    current = ctx.sink.read_text(CONF_PATH)
    if current is not None and OUR_MARK not in current:
        actions.append(RunCommand(("find", CIB_DIR, "-mindepth", "1", "-type", "f",
                                   "-delete")))
    return actions


def _holds(ctx: Context, wanted: ClusterFile) -> bool:
    host = ctx.sink.target(wanted.path)
    try:
        return (host.stat().st_mode & 0o7777) == wanted.mode and host.read_bytes() == wanted.content
    except FileNotFoundError:
        return False


def _detail(a: Answers) -> str:
    if a.is_primary:
        return (f"one-node cluster on {a.hostname} owning the virtual IP "
                f"{a.network.virtual_ip}; storage {a.storage.mode}, fencing {a.fencing.mode}")
    return (f"{a.hostname} joins {a.nodes.primary_hostname} (two-node corosync.conf, authkey "
            "from the join code); run 'expandctl ha add-secondary' on the primary first")


def _join_text(a: Answers, code: str) -> str:
    return "\n".join([
        f"Join code for the secondary ({a.nodes.secondary_hostname}):",
        f"    {code}",
        "  Type it in the secondary's first boot. Before that, run 'expandctl ha "
        "add-secondary' here. 'expandctl ha join-code' shows it again.",
    ])
