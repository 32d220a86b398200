"""``expandctl support``: the hub and the engineers' side of remote support.

(Placeholder of T2's module: it holds the ``support`` command; the fleet commands come
from ``support.fleet_cli.register_commands``.)
"""

from __future__ import annotations

import argparse

from appliance.console import HelpFormatter
from support.fleet_cli import register_commands


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "support", help="reach appliances through the support hub",
        description="Support engineers' commands: a shell, a command on one or every "
                    "appliance, the verify checks, all through the support hub's tunnels.",
        formatter_class=HelpFormatter)
    cmds = parser.add_subparsers(dest="support_cmd", required=True, metavar="COMMAND")
    register_commands(cmds)
