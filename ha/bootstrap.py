"""What a node's first boot does for the cluster, as data, so the first-boot step that
wires HA in (issue 4's engine) stays thin: write these files, run these commands.

Primary, no secondary yet ("standalone first"): a one-node cluster that already owns the
VIP; a join code is drawn when applied (``NewJoinCode``: the plan stays pure) and shown
once in the final report. Secondary: the same files for
two nodes, with the authkey derived from the primary's join code. Growing the primary
from one node to two is ``expandctl ha add-secondary`` (ha/grow.py). The first-boot step
that writes and runs this plan is firstboot/steps/cluster.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from appliance.answers import Answers
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.joincode import authkey_from_code, new_join_code
from appliance.paths import JOIN_CODE, STATE_DIR
from appliance.runner import Runner
from ha import cib, corosync, drbd, pbx_data

CIB_WORK_FILE = f"{STATE_DIR}/cib-build.xml"
START_COMMANDS = (("systemctl", "enable", "--now", "corosync.service"),
                  ("systemctl", "enable", "--now", "pacemaker.service"))


@dataclass(frozen=True)
class ClusterFile:
    path: str
    content: bytes = field(repr=False)
    mode: int
    secret: bool = False


@dataclass(frozen=True)
class NewJoinCode:
    """Draw the primary's join code and write it (0600) and the authkey derived from it
    (0400), the code first: a run cut in between resumes with the same code. The code is
    registered with the runner's redactor (no command carries it; defence in depth)."""

    code_path: str = JOIN_CODE
    authkey_path: str = corosync.AUTHKEY_PATH

    def describe(self) -> str:
        return (f"a new join code will be drawn (shown once in the final report): write "
                f"{self.code_path} (mode 0600) and {self.authkey_path} (mode 0400) derived "
                "from it")

    def as_dict(self) -> dict[str, Any]:
        return {"action": "new-join-code", "paths": [self.code_path, self.authkey_path],
                "secret": True}

    def execute(self, sink: FileSink, runner: Runner) -> None:
        code = new_join_code()
        runner.redactor.add(code)
        sink.write(self.code_path, code + "\n", mode=0o600)
        sink.write(self.authkey_path, authkey_from_code(code), mode=0o400)


@dataclass(frozen=True)
class ClusterBootstrap:
    files: tuple[ClusterFile, ...]
    start_commands: tuple[tuple[str, ...], ...]
    cib_steps: tuple[cib.CibStep, ...]  # run on the primary only, then push_cib
    join_code: str | None = field(default=None, repr=False)  # screen; never logged
    draw_join_code: bool = False  # primary without a code yet: NewJoinCode when applied
    # Asterisk's data on the shared filesystem (ha.pbx_data): written on both nodes, never
    # a reason to restart corosync/pacemaker (unlike ``files``).
    service_files: tuple[ClusterFile, ...] = ()


def plan_bootstrap(answers: Answers, *, with_secondary: bool, join_code: str | None = None,
                   authkey_exists: bool = False, no_fencing: bool = False,
                   unsealed: bool = False) -> ClusterBootstrap:
    """Pure. ``authkey_exists``: a rerun keeps the key the peer already has. A primary
    given no ``join_code`` (and no key) gets ``draw_join_code``: the code is drawn when
    applied, never while planning. ``unsealed``: a grown primary whose secondary has not
    joined yet keeps ``wait_for_all: 0`` (ha/corosync.py; ``ha seal`` ends it)."""
    settings = corosync.settings_from_answers(answers, with_secondary=with_secondary)
    if unsealed:
        settings = replace(settings, wait_for_all=False)
    files = [ClusterFile(corosync.CONF_PATH,
                         corosync.render_corosync_conf(settings).encode(), 0o644)]
    shown_code = None
    draw = False
    if answers.is_primary:
        if not authkey_exists and join_code:
            shown_code = join_code
            files.append(ClusterFile(corosync.AUTHKEY_PATH, authkey_from_code(shown_code),
                                     0o400, secret=True))
        draw = not authkey_exists and not join_code
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
    service = tuple(ClusterFile(path, text.encode(), mode)
                    for path, text, mode in pbx_data.service_files(answers.storage.mode))
    return ClusterBootstrap(tuple(files), START_COMMANDS, steps, shown_code, draw, service)
