"""``expandctl``: the one command line of the toolkit. Thin: parse, call the library, print."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from appliance.console import HelpFormatter, record_crash, setup_logging
from appliance.errors import ExpandError
from appliance.reports import ValidationFailed

# Each module has ``register(subparsers)`` adding the command NAME; its parsers set
# ``func(args) -> int``. Only the module of the command being run is imported (importing
# all of them costs most of a short command's time): the help line here is what
# ``expandctl --help`` lists for the others (tests/unit/test_cli_lazy.py keeps it equal
# to the module's own).
COMMANDS: dict[str, tuple[str, str]] = {
    "answers": ("appliance.cmd_answers", "validate and explain first-boot answers files"),
    "hardware": ("hardware_profiles.cli",
                 "check a server against the hardware tiers; size new hardware"),
    "firstboot": ("firstboot.cli",
                  "configure this appliance: wizard, answers file, plan, status"),
    "kickstart": ("kickstart.cli", "render and validate the install DVD's kickstarts"),
    "iso": ("iso.cli", "build, inspect and boot-test the eXpand install DVD"),
    "ha": ("ha.cli", "the two-node cluster: status, switchover, standby, check"),
    "lab": ("lab.cli", "run a two-node cluster locally in namespaces and break it"),
    "pbx": ("pbx.cli",
            "the PBX site file: departments, users, extensions, queues, IVR, schedules"),
    "tunnel": ("tunnel.cli", "the support tunnel: status, open/close the support window"),
    "support": ("tunnel.support.cli", "the support hub and the engineers' fleet commands"),
    "verify": ("verify.cli", "check that an appliance (or cluster) is healthy"),
    "release": ("release.cli",
                "build the product package (expand-appliance RPM with its Python wheels)"),
    "upgrade": ("firstboot.cli_upgrade",
                "prepare this node for an upgrade from the DVD (rolling in a cluster)"),
}
COMMAND_MODULES = tuple(module for module, _ in COMMANDS.values())


EXIT_INTERNAL = 70  # sysexits.h EX_SOFTWARE: a bug, not the user's input
EPILOG = """\
Run 'expandctl COMMAND --help' for each command's options, examples and exit codes.

exit codes of every command: 0 done; 1 an error the message explains (bad input, refused,
a command failed; nothing written); 2 wrong arguments (usage shown); 130 interrupted;
70 internal error (a bug): one line on stderr, and the traceback, secrets redacted, only in
a 0600 log: the --log-file if given, else /var/log/expand/expandctl.log (as root), else a
new file $XDG_RUNTIME_DIR/expandctl-crash-*.log (or in /tmp). The line names the file.
"""


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the command it names is imported and registered
    (the others are listed by name and help line), without, every command is."""
    parser = argparse.ArgumentParser(
        prog="expandctl",
        description="Build the eXpand install DVD, configure installed appliances, run the "
                    "HA cluster and reach boxes for support.",
        epilog=EPILOG, formatter_class=HelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log every command run (secrets redacted) on stderr")
    parser.add_argument("--log-file", type=Path, metavar="FILE",
                        help="also write a full log (mode 0600) to FILE")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = None if argv is None else command_named(argv)
    for name, (module, help_line) in COMMANDS.items():
        if wanted is None or name == wanted:
            importlib.import_module(module).register(sub)
        else:
            sub.add_parser(name, help=help_line, add_help=False)
    return parser


def command_named(argv: Sequence[str]) -> str:
    """The command ``argv`` runs ('' for none: ``--help``, a typo), skipping the global
    options before it."""
    words = iter(argv)
    for word in words:
        if word == "--log-file":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(words)
    args = parser.parse_args(words)  # bad arguments: argparse's usage and exit 2
    try:
        setup_logging(args.verbose, args.log_file)
    except ExpandError as exc:
        print(f"expandctl: error: {exc}", file=sys.stderr)
        return 1
    try:
        return run(args)
    except Exception as exc:  # last resort: a bug gets one line, the traceback the log
        print(f"expandctl: {record_crash(exc, args.log_file)}", file=sys.stderr)
        return EXIT_INTERNAL


def run(args: argparse.Namespace) -> int:
    """The command, with the errors the user can act on turned into messages."""
    try:
        code: int = args.func(args)
    except ValidationFailed as exc:
        for report in exc.reports:
            print(report, file=sys.stderr)
        return 1
    except ExpandError as exc:
        print(f"expandctl: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("expandctl: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
