"""Growing the standalone primary into a two-node cluster, without touching the VIP.

The primary's first boot, alone, runs a one-node corosync cluster that already owns the
VIP. When the secondary is installed, the primary's corosync.conf is rewritten for two
nodes and reloaded at runtime (``corosync-cfgtool -R``): votequorum switches to
``two_node`` (still quorate with its one vote) and the secondary, booting with the
two-node file and the authkey from the join code, joins as passive. Measured in the lab:
the VIP never moves and no node is fenced.

The primary's new file says ``wait_for_all: 0`` (see ha/corosync.py): until the secondary
has joined once, a reboot of the primary alone must bring the phones back. Once both
nodes are members, ``ha seal`` switches it to 1 and reloads corosync. What runs the seal:
on a systemd host the ``expand-ha-seal.service`` unit written here (enabled: it also runs
after every boot, and exits at once when the file is sealed); elsewhere (the namespace
lab) the CLI starts ``ha seal --wait`` itself.
"""

from __future__ import annotations

from dataclasses import replace
from enum import Enum

from appliance.answers import Answers
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.runner import Runner
from ha import checks, cib, corosync
from ha.bootstrap import CIB_WORK_FILE
from ha.fencing import devices_from_answers, heuristics_from_answers
from ha.status import read_status

JOIN_SETTLE = 60.0
SEAL_UNIT = "expand-ha-seal.service"
SEAL_UNIT_PATH = f"/etc/systemd/system/{SEAL_UNIT}"
SYSTEMD_RUNNING = "/run/systemd/system"  # sd_booted(3): PID 1 is systemd
SEAL_LOG = "/var/log/expand/ha-seal.log"
# Pacemaker fences every node of the corosync nodelist it has not seen since it started
# ("startup fencing") before it starts resources. A primary rebooting before the
# secondary was ever installed would wait on fencing a machine that is not there (an
# unreachable BMC: the phones stay down). Until the seal this is off, which is safe: the
# secondary cannot run anything before it has joined once (its own file has wait_for_all,
# so alone it never has quorum). The seal puts pacemaker's default (on) back.
STARTUP_FENCING = ("crm_attribute", "--type", "crm_config", "--name", "startup-fencing")
CRM_EX_NOSUCH = 105  # crm_attribute --delete of an attribute that is not there

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
    # Pacemaker runs here and this node is a member, or a clear error; a primary that has
    # just booted gets a minute to join its own cluster.
    read_status(runner, settle=JOIN_SETTLE)
    if not checks.fencing_configured(runner.run(["cibadmin", "--query"]).stdout):
        if answers.fencing.mode != "none":
            add_fencing(runner, sink, answers)
        elif not no_fencing:
            raise ExpandError(NO_FENCING_REFUSED)
    current = sink.read_text(corosync.CONF_PATH) or ""
    # A rerun after the seal keeps wait_for_all: 1; anything else starts unsealed.
    sealed = "two_node: 1" in current and not corosync.is_unsealed(current)
    settings = replace(corosync.settings_from_answers(answers), wait_for_all=sealed)
    if not sealed:
        # Before corosync lists the secondary: a primary rebooting alone must not wait to
        # fence a node that was never there (see STARTUP_FENCING).
        runner.run([*STARTUP_FENCING, "--update", "false"])
    changed = corosync.write_corosync_conf(sink, settings)
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


class Seal(Enum):
    SEALED = "sealed"  # wait_for_all switched to 1 now
    ALREADY = "already"  # nothing to do: sealed before, or not a grown two-node file
    WAITING = "waiting"  # the secondary has not joined yet


def seal(runner: Runner, sink: FileSink) -> Seal:
    """Switch a grown primary to wait_for_all once both nodes are corosync members
    together, and startup fencing back on.

    corosync reads wait_for_all only when it starts (corosync-cfgtool -R leaves the running
    flag as it is; measured with corosync 3.1.7): the reload is for the record, the file is
    what counts, at the next start of corosync."""
    conf = sink.read_text(corosync.CONF_PATH) or ""
    if not corosync.is_unsealed(conf):
        return Seal.ALREADY
    quorum = runner.run(["corosync-quorumtool", "-s"], check=False, timeout=30)
    if len(checks.members(quorum.stdout)) < 2:
        return Seal.WAITING
    # Startup fencing back on first: until pacemaker answers, ask again (the file stays
    # unsealed, so the next try does both).
    back = runner.run([*STARTUP_FENCING, "--delete"], check=False, timeout=30)
    if back.returncode not in (0, CRM_EX_NOSUCH):
        return Seal.WAITING
    sink.write(corosync.CONF_PATH, corosync.sealed_conf(conf), mode=0o644)
    runner.run(["corosync-cfgtool", "-R"])
    return Seal.SEALED


def seal_unit(program: str) -> str:
    """The unit that runs the seal after add-secondary and after every boot until done."""
    return f"""[Unit]
Description=eXpand: wait_for_all on once the secondary has joined (expandctl ha seal)
After=corosync.service
ConditionPathExists={corosync.CONF_PATH}

[Service]
Type=simple
ExecStart={program} --log-file {SEAL_LOG} ha seal --wait
Restart=on-failure
RestartSec=10

[Install]
WantedBy=multi-user.target
"""


def systemd_runs(sink: FileSink) -> bool:
    return sink.exists(SYSTEMD_RUNNING)


def install_seal_unit(runner: Runner, sink: FileSink, program: str) -> None:
    sink.write(SEAL_UNIT_PATH, seal_unit(program), mode=0o644)
    runner.run(["systemctl", "daemon-reload"])
    runner.run(["systemctl", "enable", "--now", SEAL_UNIT])
