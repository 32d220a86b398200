"""``expandctl``: the one command line of the toolkit. Thin: parse, call the library, print."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from appliance.console import setup_logging
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
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="expandctl",
        description="Build the eXpand install DVD, configure installed appliances, run the "
                    "HA cluster and reach boxes for support.",
        epilog="Run 'expandctl COMMAND --help' for each command's options and examples.")
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
    args = parser.parse_args(argv)
    setup_logging(args.verbose, args.log_file)
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
