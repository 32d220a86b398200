"""``expandctl pbx prove DIR``: boot a throwaway Asterisk on a directory of its config.

Registered by pbx/cli.py (``add_prove(cmds)`` on the ``pbx`` command's subparsers).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from appliance.console import HelpFormatter, print_json
from appliance.errors import ExpandError
from pbx.asterisk_counts import Expect
from pbx.chroot import chroot_prefix
from pbx.throwaway import AsteriskPlace, prove


def add_prove(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = cmds.add_parser(
        "prove", help="load a directory of Asterisk config on a throwaway Asterisk; exit 0 "
                      "when it loads cleanly with the expected counts, 1 otherwise",
        formatter_class=HelpFormatter,
        description="Copies DIR into a temporary directory, boots a private Asterisk on it "
                    "(its own directories, listening on loopback only, a JSON log), reads "
                    "its pjsip endpoints, dialplan contexts and queues, stops it and removes "
                    "the copy. Warnings and errors about DIR's files are the problems; the "
                    "others are counted (listed with --all). Nothing is written elsewhere.\n\n"
                    "    expandctl pbx prove out/asterisk --endpoints 6 --queue recl=rrmemory\n"
                    "    expandctl pbx prove out/asterisk --in-root "
                    "/var/cache/expand/rootfs/sid-asterisk")
    parser.add_argument("dir", type=Path, metavar="DIR")
    parser.add_argument("--endpoints", type=_count, metavar="N",
                        help="pjsip endpoints the config must define")
    parser.add_argument("--contexts", type=_count, metavar="N",
                        help="dialplan contexts extensions.conf must create")
    parser.add_argument("--queue", action="append", type=_queue, default=[],
                        metavar="NAME=STRATEGY",
                        help="a queue the config must define (repeat; any given means "
                             "exactly these queues)")
    parser.add_argument("--in-root", type=Path, metavar="ROOT",
                        help="run the Asterisk of this root filesystem (chroot), e.g. the "
                             "Debian unstable one 'python -m lab.asterisk_root' builds; "
                             "default: the asterisk of this system")
    parser.add_argument("--timeout", type=float, default=60, metavar="S",
                        help="seconds Asterisk may take to boot (default 60)")
    parser.add_argument("--all", action="store_true",
                        help="also list the warnings and errors about other files")
    parser.add_argument("--json", action="store_true", help="machine-readable result")
    parser.set_defaults(func=prove_command)


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: a count (0 or more)")
    return int(text)


def _queue(text: str) -> tuple[str, str]:
    found = re.fullmatch(r"([^=\s]+)=([a-z]+)", text)
    if not found:
        raise argparse.ArgumentTypeError(f"{text!r}: NAME=STRATEGY, e.g. recl=rrmemory")
    return found.group(1), found.group(2)


def place_for(in_root: Path | None) -> AsteriskPlace:
    if in_root is None:
        return AsteriskPlace()
    if not (in_root / "usr/sbin/asterisk").is_file():
        raise ExpandError(f"--in-root {in_root}: no usr/sbin/asterisk in it (build one with "
                          "'python -m lab.asterisk_root')")
    return AsteriskPlace(chroot_prefix(in_root), in_root)


def prove_command(args: argparse.Namespace) -> int:
    expect = Expect(endpoints=args.endpoints, contexts=args.contexts,
                    queues=dict(args.queue) if args.queue else None)
    proof = prove(args.dir, expect, place=place_for(args.in_root), boot_timeout=args.timeout)
    if args.json:
        print_json({"dir": str(args.dir), **proof.as_dict()})
        return 0 if proof.ok else 1
    print(f"{args.dir}: {proof.summary()}")
    for problem in proof.problems:
        print(f"  {problem}")
    if args.all:
        for message in proof.other_messages:
            print(f"  (other) {message}")
    elif proof.other_messages:
        print(f"  {len(proof.other_messages)} warnings/errors about other files "
              "(modules without config; --all lists them)")
    return 0 if proof.ok else 1
