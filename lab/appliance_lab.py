"""The appliance lab: booted systemd-nspawn nodes that set themselves up with their own
unattended first boot (see ``lab.appliance`` for the node side)."""

from __future__ import annotations

import logging
from pathlib import Path

from appliance.answers import Answers
from appliance.filesink import FileSink
from ha import cib
from ha.bootstrap import CIB_WORK_FILE
from ha.fencing import heuristics_from_answers, lab_devices
from ha.operations import service_on
from ha.status import ClusterStatus
from lab import appliance, nspawn
from lab.state import node_runner, power, wait_for

log = logging.getLogger("expand.lab")


def install_appliances(lab_dir: Path, names: list[str], answers: Answers, no_fencing: bool,
                       timeout: float) -> ClusterStatus:
    """Boot each appliance node and run its own unattended first boot (see lab.appliance):
    the primary first; then the lab's fencing and ``ha add-secondary`` there; then the
    secondary with the join code."""
    primary, secondary = names
    runners = {}
    for name in names:
        power(lab_dir, "on", name)
        runners[name] = node_runner(name, lab_dir)
        nspawn.wait_booted(runners[name].run, name,
                           console=appliance.node_base(lab_dir, name) / "console.log")
    first = runners[primary]
    log.info("%s: first boot (primary)", primary)
    appliance.first_boot(first, lab_dir, primary, appliance.node_answers(answers, "primary"))
    code = first.run(["expandctl", "ha", "join-code"]).stdout.strip()
    if no_fencing:
        first.run(["expandctl", "ha", "add-secondary", "--no-fencing"])
    else:
        steps = cib.enable_fencing_steps(CIB_WORK_FILE, lab_devices(tuple(names), str(lab_dir)),
                                         heuristics_from_answers(answers))
        cib.update_live_cib(first, FileSink(appliance.node_root(lab_dir, primary)),
                            CIB_WORK_FILE, steps)
        first.run(["expandctl", "ha", "add-secondary"])
    log.info("%s: first boot (secondary, with the join code)", secondary)
    appliance.first_boot(runners[secondary], lab_dir, secondary,
                         appliance.node_answers(answers, "secondary", code))
    return wait_for(first, "both nodes online, the VIP and the service",
                    lambda s: set(s.online()) == set(names) and s.vip_holder is not None
                    and service_on(s, s.vip_holder), timeout)
