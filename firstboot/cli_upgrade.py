"""``expandctl upgrade prepare``: make a node ready for "Upgrade eXpand" from the DVD.

The backup the upgrade restores (appliance.backup) is refreshed, and on a cluster node the
service moves to the peer first (this node in standby, ha.operations), so the upgrade of
one node never stops the PBX. The first boot after the upgrade (``run_restored``, called by
``expandctl firstboot`` when the upgrade's %post left the answers) applies the restored
answers unattended and takes the node out of standby: it rejoins as passive.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from appliance import backup
from appliance.answers import check_file
from appliance.console import REDACTOR, HelpFormatter, print_json, print_reports
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.platform import Platform
from appliance.readers import is_directory, show_path
from appliance.runner import RecordingRunner, Runner
from firstboot.host import Host
from ha import operations
from ha.status import local_node, read_status

log = logging.getLogger("expand.upgrade")

EPILOG = f"""\
rolling upgrade of a cluster (the PBX keeps running on one node all along):
  1. on the node to upgrade first (the passive one):   expandctl upgrade prepare
     (backup refreshed, this node in standby: the service runs on the peer)
  2. boot that node from the new DVD: "Upgrade eXpand" (reinstalls the system, keeps
     {backup.DATA_MOUNT}); its first boot applies the restored answers unattended and it
     rejoins its cluster as passive, with its own identity: no new join code
  3. move the service onto the upgraded node:           expandctl ha switchover
  4. on the other node: expandctl upgrade prepare, then "Upgrade eXpand" from the DVD

a node that is not in a cluster: 'upgrade prepare' only refreshes the backup; upgrade it
with "Upgrade eXpand standalone".

examples:
  expandctl upgrade prepare                  standby this node once the peer can take over
  expandctl upgrade prepare --json --timeout 120

exit codes: 0 ready to upgrade (backup refreshed; service on the peer);
            1 refused or failed (the peer is not online to take the service, the cluster
              is not running here, the backup could not be written): one line says why
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "upgrade", help="prepare this node for an upgrade from the DVD (rolling in a cluster)",
        description="Upgrading an eXpand appliance keeps the node: what it needs back "
                    f"(/etc/expand, cluster identity, SSH host and tunnel keys, the PBX site) "
                    f"is kept in {backup.BACKUP_DIR} and restored by the DVD's upgrade.",
        epilog=EPILOG, formatter_class=HelpFormatter)
    cmds = parser.add_subparsers(dest="upgrade_cmd", metavar="COMMAND", required=True)
    prep = cmds.add_parser(
        "prepare", help="refresh the backup and move the service to the peer",
        description="Refreshes the upgrade backup, then (in a cluster) puts this node in "
                    "standby and waits until the service runs on the peer. Refuses, "
                    "changing nothing, when the peer is not online to take it.",
        epilog=EPILOG, formatter_class=HelpFormatter)
    prep.add_argument("--timeout", type=_seconds, default=operations.DEFAULT_TIMEOUT,
                      metavar="S", help="how long to wait for the service to move "
                                        f"(default {operations.DEFAULT_TIMEOUT:.0f})")
    prep.add_argument("--root", type=Path, metavar="DIR",
                      help="an alternate root: refresh its backup only (no cluster here)")
    prep.add_argument("--json", action="store_true", help="machine-readable result")
    prep.set_defaults(func=run_prepare)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 1 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r}: seconds from 1 to 3600 expected")
    return value


def prepare(root: Path, runner: Runner, *, live: bool, timeout: float) -> dict[str, Any]:
    """The prepare itself; ExpandError (nothing changed) when the peer cannot take over."""
    sink = FileSink(root)
    clustered = live and sink.exists(backup.COROSYNC_CONF)
    if not clustered:
        gen = backup.refresh(sink, runner, live=live)
        return {"ok": True, "mode": "standalone", "backup": gen, "moved_to": None,
                "message": f"not in a cluster: backup refreshed ({gen}); nothing to move. "
                           "Upgrade with \"Upgrade eXpand standalone\""}
    me = local_node(runner)
    status = read_status(runner)
    if len(status.nodes) < 2:
        gen = backup.refresh(sink, runner, live=live)
        return {"ok": True, "mode": "standalone", "backup": gen, "moved_to": None,
                "message": f"{me} is a one-node cluster: backup refreshed ({gen}); there is "
                           "no peer to take the service, so the PBX stops during the upgrade"}
    peers = [n for n in status.online() if n != me]
    if not peers:
        states = ", ".join(f"{n.name} {n.state}" for n in status.nodes)
        raise ExpandError(f"upgrade prepare: the peer is not online to take the service "
                          f"({states}); bring it back first ('expandctl ha status'). "
                          "Nothing changed")
    gen = backup.refresh(sink, runner, live=live)
    after = operations.set_standby(runner, me, True, timeout)
    holder = after.vip_holder or peers[0]
    return {"ok": True, "mode": "cluster", "backup": gen, "moved_to": holder,
            "message": f"backup refreshed ({gen}); {me} is in standby, the service runs on "
                       f"{holder}: boot {me} from the DVD, \"Upgrade eXpand\""}


def run_prepare(args: argparse.Namespace) -> int:
    if args.root is not None and not is_directory(args.root):
        raise ExpandError(f"--root {show_path(args.root)}: not a directory")
    root = Path("/") if args.root is None else args.root.resolve()
    live = args.root is None
    runner = Runner(REDACTOR) if live else RecordingRunner()
    result = prepare(root, runner, live=live, timeout=args.timeout)
    if args.json:
        print_json(result)
    else:
        print(result["message"])
    return 0


def restored_answers(root: Path) -> bool:
    """True when the upgrade's %post left answers for the first boot to apply (whatever
    is there: a broken one is named by ``run_restored``, not taken for no upgrade)."""
    return os.path.lexists(FileSink(root).target(backup.UPGRADE_ANSWERS))


def run_restored(root: Path, runner: Runner, live: bool, host: Host | None = None,
                 platform: Platform | None = None) -> int:
    """The first boot after an upgrade: the restored answers, unattended; then, on a
    cluster upgrade, this node out of standby (it rejoins as passive)."""
    from firstboot import engine  # the engine imports the steps: only when applying
    from firstboot.report import report_lines

    sink = FileSink(root)
    path = sink.target(backup.UPGRADE_ANSWERS)
    answers, reports = check_file(path)
    if answers is None:
        print_reports(reports)
        raise ExpandError(f"{backup.UPGRADE_ANSWERS}: the answers the upgrade restored do "
                          "not validate; fix them or run 'expandctl firstboot --reconfigure'")
    for secret in answers.secrets():
        REDACTOR.add(secret)
    log.info("first boot after an upgrade: applying %s unattended", backup.UPGRADE_ANSWERS)
    report = engine.apply(answers, root=root, runner=runner, live=live, host=host,
                          platform=platform)
    print("\n".join(report_lines(report)))
    if not report.ok:
        return 2
    sink.remove(backup.UPGRADE_ANSWERS)  # the backup keeps its copy (0600, 0700 folder)
    mode = (sink.read_text(backup.UPGRADE_MODE_FILE) or "").strip()
    if live and mode == "cluster" and sink.exists(backup.COROSYNC_CONF):
        operations.set_standby(runner, local_node(runner), False, operations.DEFAULT_TIMEOUT)
        print(f"{answers.hostname} rejoined its cluster as passive")
    return 0
