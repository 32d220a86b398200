"""``expandctl support``: the one parser of the support commands.

Each module in ``SUBCOMMAND_MODULES`` has ``register(cmds)`` adding its subcommands to the
``support`` subparsers, and sets ``func(args) -> int`` on them (as appliance/cli.py does
for top-level commands): another module adds its commands with one line here.
"""

from __future__ import annotations

import argparse
import importlib

from appliance.console import HelpFormatter

SUBCOMMAND_MODULES = (
    "tunnel.support.hub_cli",
    "tunnel.support.fleet_cli",
)

DESCRIPTION = """\
Reach installed appliances for support. Each appliance keeps a reverse SSH tunnel open to
the support hub: the hub's localhost:PORT leads to that appliance's sshd, and nothing else
is open to the appliance's key. The hub commands (hub-add, hub-remove, hub-config,
hub-install, list, claim) run on the hub, as root; the claim program hub-install writes is
the forced command every appliance key runs there before its forward."""

EPILOG = """\
setting up a hub, once:
  useradd --system --create-home --home-dir /var/lib/expand-tunnel --shell /bin/sh tunnel
  expandctl support hub-install
  expandctl support hub-config >> /etc/ssh/sshd_config && sshd -t && systemctl reload ssh
every appliance (its first boot prints the key line):
  expandctl support hub-add acme 'ssh-ed25519 AAAAC3Nza... root@acme'
  expandctl support list

Run 'expandctl support COMMAND --help' for each command's options, examples and exit codes."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("support", help="the support hub and the engineers' fleet commands",
                            description=DESCRIPTION, epilog=EPILOG,
                            formatter_class=HelpFormatter)
    cmds = parser.add_subparsers(dest="support_cmd", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(cmds)
