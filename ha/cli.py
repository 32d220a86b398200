"""``expandctl ha``: see the cluster at a glance and move the service on purpose."""

from __future__ import annotations

import argparse
import fcntl
import math
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from appliance.answers import load_answers
from appliance.console import REDACTOR, HelpFormatter, print_json
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.paths import ANSWERS
from appliance.runner import Runner
from appliance.wait import poll
from ha import checks, corosync, grow, operations
from ha.status import (
    EXIT_NO_PACEMAKER,
    EXIT_NOT_MEMBER,
    ClusterStatus,
    ClusterUnavailable,
    read_status,
)

CommandFunc = Callable[[argparse.Namespace], int]
SEAL_LOCK = "/run/expand-ha-seal.lock"


def exit_codes(*lines: str, cluster: bool = True) -> str:
    """The "exit codes:" block of a command's --help (indented: kept as written)."""
    common = [f"  {EXIT_NO_PACEMAKER}  pacemaker is not running on this node",
              f"  {EXIT_NOT_MEMBER}  this node is not a member of the cluster"] if cluster else []
    rows = sorted([*(f"  {line}" for line in lines), "  2  bad arguments", *common],
                  key=lambda row: int(row.split()[0]))
    return "\n".join(["exit codes:", *rows])


EPILOG_STATUS = """examples:
  expandctl ha status
  expandctl ha status --json | jq .vip_holder
  expandctl lab exec expand1 -- expandctl ha status     (inside a lab node)

""" + exit_codes("0  the state is shown (warnings, e.g. fencing off, go to stderr)",
                 "1  another error")


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
                         epilog="example:\n  expandctl ha switchover --timeout 90\n\n"
                                + exit_codes("0  the service runs on the other node",
                                             "1  no node to move to, or --timeout passed"),
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
                            epilog=f"example:\n  expandctl ha {name} expand2\n\n"
                                   + exit_codes(f"0  the node is {'in' if on else 'out of'} "
                                                "standby and the cluster settled",
                                                "1  unknown node, or --timeout passed"),
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
        epilog="example:\n  expandctl ha add-secondary --answers /etc/expand/answers.toml\n\n"
               + exit_codes("0  corosync.conf lists both nodes (or already did)",
                            "1  refused (no fencing, secondary answers, no fencing.password) "
                            "or bad answers"),
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
        epilog="example (on the primary):\n  expandctl ha join-code\n\n"
               + exit_codes("0  the code is shown", "1  no join code here, or not root",
                            cluster=False),
        formatter_class=HelpFormatter)
    jc.set_defaults(func=cmd_join_code)

    ck = cmds.add_parser("check", help="config sanity: links, quorum, fencing, stickiness",
                         description="Each check reads corosync or the CIB on this node.",
                         epilog="example:\n  expandctl ha check --json\n\n"
                                + exit_codes("0  every check passes", "1  a check failed"),
                         formatter_class=HelpFormatter)
    ck.add_argument("--json", action="store_true")
    ck.set_defaults(func=cmd_check)

    se = cmds.add_parser(
        "seal", help="wait_for_all on, once the secondary has joined (after add-secondary)",
        description="add-secondary leaves wait_for_all and pacemaker's startup fencing off "
                    "on the primary, so that it keeps serving across a reboot before the "
                    "secondary was ever installed. Once both nodes are corosync members, "
                    "this turns startup fencing back on and drops 'wait_for_all: 0' from "
                    "corosync.conf (two_node's wait_for_all applies from corosync's next "
                    "start; quorum and the VIP do not change). add-secondary makes it run "
                    "by itself (expand-ha-seal.service, also after each boot); run by hand, "
                    "it does the same.",
        epilog="example:\n  expandctl ha seal --wait --timeout 600\n\n"
               + exit_codes("0  sealed now, or nothing to do", "1  another error",
                            "5  the secondary has not joined yet (without --wait), or "
                            "--timeout passed", cluster=False),
        formatter_class=HelpFormatter)
    se.add_argument("--wait", action="store_true",
                    help="wait until the secondary has joined, then seal")
    se.add_argument("--timeout", type=float, default=math.inf, metavar="SECONDS",
                    help="with --wait: give up after SECONDS (default: wait for ever)")
    se.set_defaults(func=cmd_seal)
    for command in cmds.choices.values():
        command.set_defaults(func=_clear_errors(command.get_default("func")))


def _clear_errors(func: CommandFunc) -> CommandFunc:
    """Pacemaker down or this node no member: one line and that case's own exit code."""
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except ClusterUnavailable as exc:
            print(f"expandctl: error: {exc}", file=sys.stderr)
            return exc.exit_code
    return run


def _runner() -> Runner:
    # The shared redactor: secrets registered with it never reach a log or an error.
    return Runner(REDACTOR)


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
    status = read_status(_runner())
    _warn(status)
    if args.json:
        print_json(status.as_dict())
    else:
        print_status(status)
    return 0


def cmd_switchover(args: argparse.Namespace) -> int:
    source, target, seconds = operations.switchover(_runner(), args.timeout)
    if args.json:
        print_json({"from": source, "to": target, "seconds": round(seconds, 2)})
    else:
        print(f"switched over from {source} to {target} in {seconds:.1f} s")
    return 0


def cmd_standby(args: argparse.Namespace) -> int:
    status = operations.set_standby(_runner(), args.node, args.standby_on, args.timeout)
    _warn(status)
    state = "in standby" if args.standby_on else "out of standby"
    print(f"{args.node} is {state}; active node: {status.vip_holder or 'none'}")
    return 0


def cmd_add_secondary(args: argparse.Namespace) -> int:
    # The saved answers never hold secrets; a fencing password, if needed, is checked there.
    answers = load_answers(args.answers, secrets_left_out=True)
    for secret in answers.secrets():  # the fencing password, when the file holds it
        REDACTOR.add(secret)
    runner, sink = _runner(), FileSink(Path("/"))
    changed = grow.add_secondary(runner, sink, answers, no_fencing=args.no_fencing)
    print(f"corosync.conf lists {answers.nodes.primary_hostname} and "
          f"{answers.nodes.secondary_hostname}"
          + (" (reloaded)" if changed else " already: nothing to do"))
    if corosync.is_unsealed(sink.read_text(corosync.CONF_PATH) or ""):
        _start_sealer(runner, sink)
        print("wait_for_all stays off until the secondary has joined once "
              "(expand-ha-seal then turns it on)")
    return 0


def _program() -> str:
    """This expandctl: the one next to the running Python (a venv), else the one on PATH."""
    sibling = Path(sys.executable).parent / "expandctl"
    return str(sibling) if sibling.exists() else shutil.which("expandctl") or "expandctl"


def _start_sealer(runner: Runner, sink: FileSink) -> None:
    if grow.systemd_runs(sink):
        grow.install_seal_unit(runner, sink, _program())
        return
    # No systemd (the namespace lab): the same command, detached from this one.
    subprocess.Popen([_program(), "--log-file", grow.SEAL_LOG, "ha", "seal", "--wait"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)


def cmd_seal(args: argparse.Namespace) -> int:
    runner, sink = _runner(), FileSink(Path("/"))
    if not args.wait:
        state = grow.seal(runner, sink)
    else:
        with open(SEAL_LOCK, "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                print("another 'ha seal --wait' runs already")
                return 0
            _, state = poll(lambda: grow.seal(runner, sink),
                            lambda s: s is not grow.Seal.WAITING,
                            timeout=args.timeout, interval=1.0)
    if state is grow.Seal.WAITING:
        print("expandctl: error: the secondary has not joined yet (corosync lists one "
              "member): wait_for_all stays off", file=sys.stderr)
        return 5
    print("sealed: startup fencing on, wait_for_all from corosync's next start"
          if state is grow.Seal.SEALED
          else "nothing to seal: corosync.conf is no unsealed two-node file")
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
    results = checks.run_checks(_runner())
    ok = all(c.ok for c in results)
    if args.json:
        print_json({"ok": ok, "checks": [c.as_dict() for c in results]})
    else:
        for c in results:
            print(f"{'ok  ' if c.ok else 'FAIL'} {c.name:24} {c.detail}")
    return 0 if ok else 1
