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
from ha import corosync


def add_secondary(runner: Runner, sink: FileSink, answers: Answers) -> bool:
    """Rewrite corosync.conf for two nodes and reload it; returns False when it already
    listed both nodes (a rerun changes nothing)."""
    if not answers.is_primary:
        raise ExpandError("add-secondary runs on the primary (answers mode is secondary)")
    changed = corosync.write_corosync_conf(sink, corosync.settings_from_answers(answers))
    if changed:
        runner.run(["corosync-cfgtool", "-R"])
    return changed
