"""What a node's first boot does for the cluster, as data, so the first-boot step that
wires HA in (issue 4's engine) stays thin: write these files, run these commands.

Primary, no secondary yet ("standalone first"): a one-node cluster that already owns the
VIP; a join code is made and shown once in the final report. Secondary: the same files for
two nodes, with the authkey derived from the primary's join code. Growing the primary
from one node to two is ``expandctl ha add-secondary`` (ha/grow.py). The first-boot step
that writes and runs this plan is firstboot/steps/cluster.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from appliance.answers import Answers
from appliance.errors import ExpandError
from ha import cib, corosync, drbd
from ha.joincode import authkey_from_code, new_join_code

CIB_WORK_FILE = "/var/lib/expand/cib-build.xml"
START_COMMANDS = (("systemctl", "enable", "--now", "corosync.service"),
                  ("systemctl", "enable", "--now", "pacemaker.service"))


@dataclass(frozen=True)
class ClusterFile:
    path: str
    content: bytes = field(repr=False)
    mode: int
    secret: bool = False


@dataclass(frozen=True)
class ClusterBootstrap:
    files: tuple[ClusterFile, ...]
    start_commands: tuple[tuple[str, ...], ...]
    cib_steps: tuple[cib.CibStep, ...]  # run on the primary only, then push_cib
    join_code: str | None = field(default=None, repr=False)  # screen; never logged


def plan_bootstrap(answers: Answers, *, with_secondary: bool, join_code: str | None = None,
                   authkey_exists: bool = False, no_fencing: bool = False,
                   ) -> ClusterBootstrap:
    """Pure. ``authkey_exists``: a rerun keeps the key the peer already has."""
    settings = corosync.settings_from_answers(answers, with_secondary=with_secondary)
    files = [ClusterFile(corosync.CONF_PATH,
                         corosync.render_corosync_conf(settings).encode(), 0o644)]
    shown_code = None
    if answers.is_primary:
        if not authkey_exists:
            shown_code = join_code or new_join_code()
            files.append(ClusterFile(corosync.AUTHKEY_PATH, authkey_from_code(shown_code),
                                     0o400, secret=True))
    elif not authkey_exists:
        if not join_code:
            raise ExpandError("the secondary needs the join code shown in the primary's "
                              "first-boot report")
        files.append(ClusterFile(corosync.AUTHKEY_PATH, authkey_from_code(join_code),
                                 0o400, secret=True))
    if answers.storage.mode == "drbd":
        files.append(ClusterFile(drbd.RES_PATH, drbd.render_drbd_res(answers).encode(),
                                 0o644))
    steps: tuple[cib.CibStep, ...] = ()
    if answers.is_primary:
        steps = tuple(cib.build_steps(answers, CIB_WORK_FILE,
                                      cib.CibOptions(no_fencing=no_fencing)))
    return ClusterBootstrap(tuple(files), START_COMMANDS, steps, shown_code)
