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

# Each module has ``register(subparsers)``; its parsers set ``func(args) -> int``.
COMMAND_MODULES = (
    "appliance.cmd_answers",
    "hardware_profiles.cli",
    "firstboot.cli",
    "kickstart.cli",
    "iso.cli",
    "ha.cli",
    "lab.cli",
    "pbx.cli",
    "tunnel.cli",
    "tunnel.support.cli",
    "verify.cli",
)


EXIT_INTERNAL = 70  # sysexits.h EX_SOFTWARE: a bug, not the user's input
EPILOG = """\
Run 'expandctl COMMAND --help' for each command's options, examples and exit codes.

exit codes of every command: 0 done; 1 an error the message explains (bad input, refused,
a command failed; nothing written); 2 wrong arguments (usage shown); 130 interrupted;
70 internal error (a bug): one line on stderr, and the traceback, secrets redacted, only in
a 0600 log: the --log-file if given, else /var/log/expand/expandctl.log (as root), else a
new file $XDG_RUNTIME_DIR/expandctl-crash-*.log (or in /tmp). The line names the file.
"""


def build_parser() -> argparse.ArgumentParser:
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
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # bad arguments: argparse's usage and exit 2
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
