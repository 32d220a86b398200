"""``expandctl ha``: see the cluster at a glance and move the service on purpose."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from appliance.answers import load_answers
from appliance.console import HelpFormatter, print_json
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.paths import ANSWERS
from appliance.runner import Runner
from ha import checks, grow, operations
from ha.status import ClusterStatus, read_status

EPILOG_STATUS = """examples:
  expandctl ha status
  expandctl ha status --json | jq .vip_holder
  expandctl lab exec expand1 -- expandctl ha status     (inside a lab node)"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "ha", help="the two-node cluster: status, switchover, standby, check",
        description="Runs on a cluster node and talks to the local pacemaker/corosync. "
                    "The active node is the one holding the virtual IP (VIP) the phones use.",
        epilog="Run 'expandctl ha COMMAND --help' for each command's examples.",
        formatter_class=HelpFormatter)
    cmds = parser.add_subparsers(dest="ha_cmd", required=True, metavar="COMMAND")

    st = cmds.add_parser("status", help="nodes, active node, VIP, storage, fencing",
                         description="Cluster state at a glance. Warns on every call when "
                                     "fencing is disabled.",
                         epilog=EPILOG_STATUS, formatter_class=HelpFormatter)
    st.add_argument("--json", action="store_true", help="machine-readable state on stdout")
    st.set_defaults(func=cmd_status)

    sw = cmds.add_parser("switchover", help="move the service to the other node and wait",
                         description="A planned move: the data, the VIP and the service go "
                                     "to the other online node; returns when the service "
                                     "runs there (or fails after --timeout).",
                         epilog="example:\n  expandctl ha switchover --timeout 90",
                         formatter_class=HelpFormatter)
    sw.add_argument("--timeout", type=float, default=operations.DEFAULT_TIMEOUT,
                    metavar="SECONDS")
    sw.add_argument("--json", action="store_true")
    sw.set_defaults(func=cmd_switchover)

    for name, on in (("standby", True), ("unstandby", False)):
        p = cmds.add_parser(name, help=f"put a node {'in' if on else 'out of'} standby",
                            description="A node in standby runs no resources (for "
                                        "maintenance); unstandby lets it run them again. "
                                        "Stickiness: the service does not move back by itself.",
                            epilog=f"example:\n  expandctl ha {name} expand2",
                            formatter_class=HelpFormatter)
        p.add_argument("node", metavar="NODE")
        p.add_argument("--timeout", type=float, default=operations.DEFAULT_TIMEOUT,
                       metavar="SECONDS")
        p.set_defaults(func=cmd_standby, standby_on=on)

    add = cmds.add_parser(
        "add-secondary", help="grow the standalone primary into a two-node cluster",
        description="On the primary: make sure the cluster can fence (creating the "
                    "fencing devices from the answers if it has none), rewrite "
                    "corosync.conf for both nodes and reload corosync; the VIP stays where "
                    "it is. Then boot the secondary with the join code from the primary's "
                    "first-boot report.",
        epilog="example:\n  expandctl ha add-secondary --answers /etc/expand/answers.toml",
        formatter_class=HelpFormatter)
    add.add_argument("--answers", type=Path, default=Path(ANSWERS), metavar="FILE",
                     help=f"the primary's answers (default {ANSWERS}); when the cluster has "
                          "no fencing yet, the fencing.* answers (with the password) create it")
    add.add_argument("--no-fencing", action="store_true",
                     help="add the secondary to a cluster without fencing; a split can then "
                          "leave the VIP on both nodes. Never on a customer's cluster")
    add.set_defaults(func=cmd_add_secondary)

    jc = cmds.add_parser(
        "join-code", help="show the join code the secondary's first boot asks for",
        description="On the primary (root only): the one-time join code made by its first "
                    "boot, from which the secondary derives the cluster authkey. Whoever "
                    "has it can join the cluster: show it to the installer only.",
        epilog="example (on the primary):\n  expandctl ha join-code",
        formatter_class=HelpFormatter)
    jc.set_defaults(func=cmd_join_code)

    ck = cmds.add_parser("check", help="config sanity: links, quorum, fencing, stickiness",
                         description="Exit 0 when every check passes, 1 otherwise.",
                         epilog="example:\n  expandctl ha check --json",
                         formatter_class=HelpFormatter)
    ck.add_argument("--json", action="store_true")
    ck.set_defaults(func=cmd_check)


def _warn(status: ClusterStatus) -> None:
    for warning in status.warnings:
        print(f"WARNING: {warning}", file=sys.stderr)


def print_status(status: ClusterStatus) -> None:
    nodes = [f"{n.name} ({n.state}{', DC' if n.is_dc else ''})" for n in status.nodes]
    print(f"nodes:    {', '.join(nodes)}")
    print(f"active:   {status.vip_holder or 'none (the VIP is not running)'}")
    print(f"quorum:   {'yes' if status.quorate else 'NO'}")
    print(f"fencing:  {'on' if status.stonith_enabled else 'OFF'}")
    print(f"storage:  {status.storage()}")
    for res in status.resources:
        where = ",".join(res.nodes) or "-"
        failed = "  FAILED" if res.failed else ""
        print(f"  {res.id:16} {res.agent:28} {res.role:10} {where}{failed}")
    if status.last_fence:
        f = status.last_fence
        print(f"last failover: {f['target']} fenced ({f['action']}) by {f['delegate']} "
              f"at {f['completed']}: {f['status']}")
    else:
        print("last failover: none recorded")


def cmd_status(args: argparse.Namespace) -> int:
    status = read_status(Runner())
    _warn(status)
    if args.json:
        print_json(status.as_dict())
    else:
        print_status(status)
    return 0


def cmd_switchover(args: argparse.Namespace) -> int:
    source, target, seconds = operations.switchover(Runner(), args.timeout)
    if args.json:
        print_json({"from": source, "to": target, "seconds": round(seconds, 2)})
    else:
        print(f"switched over from {source} to {target} in {seconds:.1f} s")
    return 0


def cmd_standby(args: argparse.Namespace) -> int:
    status = operations.set_standby(Runner(), args.node, args.standby_on, args.timeout)
    _warn(status)
    state = "in standby" if args.standby_on else "out of standby"
    print(f"{args.node} is {state}; active node: {status.vip_holder or 'none'}")
    return 0


def cmd_add_secondary(args: argparse.Namespace) -> int:
    # The saved answers never hold secrets; a fencing password, if needed, is checked there.
    answers = load_answers(args.answers, secrets_left_out=True)
    changed = grow.add_secondary(Runner(), FileSink(Path("/")), answers,
                                 no_fencing=args.no_fencing)
    print(f"corosync.conf lists {answers.nodes.primary_hostname} and "
          f"{answers.nodes.secondary_hostname}"
          + (" (reloaded)" if changed else " already: nothing to do"))
    return 0


def cmd_join_code(args: argparse.Namespace) -> int:
    from appliance.paths import JOIN_CODE

    try:
        code = FileSink(Path("/")).read_text(JOIN_CODE)
    except PermissionError as exc:
        raise ExpandError(f"{JOIN_CODE}: permission denied (run as root)") from exc
    if not code:
        raise ExpandError(f"no join code here ({JOIN_CODE} missing): it is made by the "
                          "primary's first boot; run this on the primary")
    print(code.strip())
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    results = checks.run_checks(Runner())
    ok = all(c.ok for c in results)
    if args.json:
        print_json({"ok": ok, "checks": [c.as_dict() for c in results]})
    else:
        for c in results:
            print(f"{'ok  ' if c.ok else 'FAIL'} {c.name:24} {c.detail}")
    return 0 if ok else 1
