"""``expandctl lab``: a two-node cluster on this host, to break on purpose: namespace nodes
(fast) or booted appliance nodes that run their own first boot (``--appliance``)."""

from __future__ import annotations

import argparse
import os
import time

from appliance.console import HelpFormatter, print_json
from appliance.errors import ExpandError
from appliance.runner import Runner
from lab import control, netns
from lab.nsnode import LAB_DIR

EPILOG = """examples:
  expandctl lab up                          # two nodes, fencing on, VIP 198.51.100.100
  expandctl lab up --appliance              # the same, each node set up by its first boot
  expandctl lab status --json
  expandctl lab exec expand1 -- expandctl ha status
  expandctl lab kill expand1                # hard power-off; the VIP moves to expand2
  expandctl lab revive expand1              # comes back and rejoins as passive
  expandctl lab cut expand2 --link interconnect     (and --restore)
  expandctl lab split                       # both see the gateway, not each other
  expandctl lab down"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "lab", help="run a two-node cluster locally in namespaces and break it",
        description="Two nodes running real corosync and pacemaker: namespace nodes "
                    "(network, mount, UTS, PID namespaces; configured by the lab) or, with "
                    "'up --appliance', booted systemd-nspawn appliance nodes configured by "
                    "their own unattended first boot. A LAN 198.51.100.0/24 (gateway .1) and "
                    "an interconnect 203.0.113.0/30 on bridges in their own namespace, a "
                    "client namespace at .50, and a lab fence agent that really powers nodes "
                    f"off. State lives in {LAB_DIR}; each command is its own process. "
                    "Needs root.",
        epilog=EPILOG, formatter_class=HelpFormatter)
    cmds = parser.add_subparsers(dest="lab_cmd", required=True, metavar="COMMAND")

    up = cmds.add_parser("up", help="create the network and nodes, form the cluster")
    up.add_argument("--nodes", type=int, default=2, help="number of nodes (2)")
    up.add_argument("--storage", choices=["none", "san"], default="none",
                    help="san: a shared folder mounted (bind) by the active node as the "
                         "data filesystem, ordered before the VIP")
    up.add_argument("--standalone", action="store_true",
                    help="only the primary, as a one-node cluster owning the VIP; add the "
                         "secondary later: lab exec expand1 -- expandctl ha add-secondary "
                         "--answers examples/answers/primary.toml, then lab revive expand2")
    up.add_argument("--appliance", action="store_true",
                    help="booted systemd-nspawn nodes that set themselves up with the real "
                         "unattended first boot of the example answers (primary, then the "
                         "secondary with the join code); about 2 minutes instead of 20 s. "
                         "The lab's power switch replaces the example's IPMI fencing")
    up.add_argument("--no-fencing", action="store_true",
                    help="stonith-enabled=false (to see what 'ha status' warns about); "
                         "never on a real cluster")
    up.add_argument("--mirror", metavar="URL",
                    help="Debian mirror the appliance nodes' root filesystem is built from "
                         "(once, then cached); default: the host's, from /etc/apt/sources.list "
                         "and /etc/apt/sources.list.d")
    up.add_argument("--timeout", type=float, default=90, metavar="SECONDS")
    up.add_argument("--json", action="store_true")
    up.set_defaults(func=cmd_up)

    st = cmds.add_parser("status", help="power, addresses and who holds the VIP")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)

    for name, verb, text in (("kill", "off", "hard power-off of a node (like pulling the plug)"),
                             ("revive", "on", "power a node back on; it rejoins as passive")):
        p = cmds.add_parser(name, help=text, description=text)
        p.add_argument("node", metavar="NODE")
        p.set_defaults(func=cmd_power, verb=verb)

    cut = cmds.add_parser("cut", help="unplug (or --restore) a node's LAN/interconnect cable")
    cut.add_argument("node", metavar="NODE")
    cut.add_argument("--link", choices=["lan", "interconnect", "both"], default="interconnect")
    cut.add_argument("--restore", action="store_true", help="plug the cable back in")
    cut.set_defaults(func=cmd_cut)

    split = cmds.add_parser(
        "split", help="the nodes lose each other but both keep the LAN (and --restore)",
        description="Interconnect cables out and the nodes' LAN ports isolated on the switch: "
                    "each node still reaches the gateway and the client, not the other. Both "
                    "pass the gateway check and race to fence; the delay on the device that "
                    "fences the primary lets the primary win.")
    split.add_argument("--restore", action="store_true", help="join the nodes again")
    split.set_defaults(func=cmd_split)

    ex = cmds.add_parser("exec", help="run a command inside a node: lab exec NODE -- CMD...",
                         description="Runs CMD in the node's network, mount, UTS and PID "
                                     "namespaces (nsenter); exit status is CMD's.")
    ex.add_argument("node", metavar="NODE")
    ex.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD")
    ex.set_defaults(func=cmd_exec)

    down = cmds.add_parser("down", help="power everything off and delete the namespaces")
    down.set_defaults(func=cmd_down)


def cmd_up(args: argparse.Namespace) -> int:
    started = time.monotonic()
    status = control.up(args.nodes, timeout=args.timeout, storage=args.storage,
                        no_fencing=args.no_fencing, standalone=args.standalone,
                        kind="appliance" if args.appliance else "namespace",
                        mirror=args.mirror)
    seconds = time.monotonic() - started
    if args.json:
        print_json({"seconds": round(seconds, 1), **status.as_dict()})
    else:
        print(f"lab up in {seconds:.1f} s: nodes {', '.join(status.online())} online, "
              f"VIP on {status.vip_holder}, fencing {'on' if status.stonith_enabled else 'off'}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    state = control.status()
    if args.json:
        print_json(state)
        return 0
    if not state["up"]:
        print("no lab is up")
        return 1
    print(f"lab in {state['lab_dir']}, VIP {state['vip']}, client netns {state['client_netns']}")
    nodes = state["nodes"]
    assert isinstance(nodes, list)
    for node in nodes:
        vip = "  holds the VIP" if node["holds_vip"] else ""
        print(f"  {node['name']:10} power {node['power']:3}  {node['lan_ip']}{vip}")
    return 0


def cmd_power(args: argparse.Namespace) -> int:
    control.power(LAB_DIR, args.verb, args.node)
    print(f"{args.node} powered {args.verb}")
    return 0


def cmd_cut(args: argparse.Namespace) -> int:
    nodes = {n.name: n for n in netns.default_nodes()}
    control.node_names()  # refuses when no lab is up
    if args.node not in nodes:
        raise ExpandError(f"unknown lab node {args.node!r}; nodes: {', '.join(nodes)}")
    links = ["lan", "interconnect"] if args.link == "both" else [args.link]
    for link in links:
        netns.set_cable(Runner(), nodes[args.node], link, connected=args.restore)
    print(f"{args.node}: {' and '.join(links)} {'restored' if args.restore else 'cut'}")
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    control.node_names()  # refuses when no lab is up
    netns.set_split(Runner(), netns.default_nodes(), split=not args.restore)
    print("nodes joined again" if args.restore else
          "nodes split: each sees the gateway and the client, not the other")
    return 0


def cmd_exec(args: argparse.Namespace) -> int:
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        raise ExpandError("nothing to run: expandctl lab exec NODE -- CMD [ARGS...]")
    full = control.node_runner(args.node).interactive_argv(argv, os.getcwd())
    os.execvp(full[0], full)
    return 127  # not reached


def cmd_down(args: argparse.Namespace) -> int:
    for line in control.down():
        print(line)
    return 0
