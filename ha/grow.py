"""Growing the standalone primary into a two-node cluster, without touching the VIP.

The primary's first boot, alone, runs a one-node corosync cluster that already owns the
VIP. When the secondary is installed, the primary's corosync.conf is rewritten for two
nodes and reloaded at runtime (``corosync-cfgtool -R``): votequorum switches to
``two_node`` (still quorate with its one vote) and the secondary, booting with the
two-node file and the authkey from the join code, joins as passive. Measured in the lab:
the VIP never moves and no node is fenced.
"""

from __future__ import annotations

from appliance.answers import Answers
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.runner import Runner
from ha import checks, cib, corosync
from ha.bootstrap import CIB_WORK_FILE
from ha.fencing import devices_from_answers, heuristics_from_answers

NO_FENCING_REFUSED = (
    "fencing is off on this cluster, and a two-node cluster without fencing can end with "
    "the VIP and the data on both nodes after a split. Give the answers with fencing "
    "(fencing.mode ipmi, vmware or sbd, with its targets and password: "
    "--answers FILE), or pass --no-fencing to add the secondary without it ('ha status' "
    "then warns on every call)")


def add_secondary(runner: Runner, sink: FileSink, answers: Answers, *,
                  no_fencing: bool = False) -> bool:
    """Make sure the cluster can fence, then rewrite corosync.conf for two nodes and reload
    it; returns False when it already listed both nodes (a rerun changes nothing).

    A one-node cluster needs no fencing; two nodes do. When the primary was installed
    without fencing, the devices are created here from the answers, before the secondary
    can join."""
    if not answers.is_primary:
        raise ExpandError("add-secondary runs on the primary (answers mode is secondary)")
    if not checks.fencing_configured(runner.run(["cibadmin", "--query"]).stdout):
        if answers.fencing.mode != "none":
            add_fencing(runner, sink, answers)
        elif not no_fencing:
            raise ExpandError(NO_FENCING_REFUSED)
    changed = corosync.write_corosync_conf(sink, corosync.settings_from_answers(answers))
    if changed:
        runner.run(["corosync-cfgtool", "-R"])
    return changed


def add_fencing(runner: Runner, sink: FileSink, answers: Answers) -> None:
    if answers.fencing.mode in ("ipmi", "vmware") and not answers.fencing.password:
        raise ExpandError("fencing.password: needed to create the fencing devices and never "
                          "saved by the first boot: give --answers a file that holds it")
    steps = cib.enable_fencing_steps(CIB_WORK_FILE, devices_from_answers(answers),
                                     heuristics_from_answers(answers))
    cib.update_live_cib(runner, sink, CIB_WORK_FILE, steps)
