"""``expandctl hardware``: this machine's facts, its verdict against the seed's tiers, sizing."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from appliance.console import HelpFormatter, print_json
from appliance.errors import ExpandError
from appliance.readers import is_directory, show_path
from hardware_profiles.facts import gather_facts
from hardware_profiles.judge import judge
from hardware_profiles.render import facts_lines, sizing_lines, verdict_dict, verdict_lines
from hardware_profiles.sizing import size
from hardware_profiles.snapshot import HostFacts, facts_to_dict, load_facts, save_facts
from hardware_profiles.tiers import RECORDING

EXIT_OK, EXIT_SHORT, EXIT_STUDY = 0, 3, 4

EXIT_CODES = """exit codes:
  0  the box meets the tier the asked calls need, or no calls were asked
     (warnings such as "no RAID-1" or "one NIC" do not change the exit code)
  1  error: unreadable or invalid snapshot, bad value
  2  command-line usage error
  3  the box falls short of the tier needed for --concurrent-calls
  4  more than 240 concurrent calls: a study is needed, no standard tier applies"""

TIERS_TEXT = """tiers (from the product document; physical or VMware):
  Medium  ≤60 concurrent calls     4 cores            32 GB RAM
  Large   61–120                   8 cores            64 GB RAM
  XLarge  121–240                  2 × 8 cores        64 GB RAM
  >240    a study is needed
  all: 2 NICs ≥100 Mbps; 2 equal disks ≥500 GB in RAID-1 (100 GB when recordings
  live on a SAN); a VM: 2 NICs and one virtual disk ≥500 GB"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "hardware", help="check a server against the hardware tiers; size new hardware",
        description="Hardware facts of a server, its verdict against the seed's tiers, "
                    "and sizing for a number of concurrent calls.",
        epilog=TIERS_TEXT, formatter_class=HelpFormatter)
    cmds = parser.add_subparsers(dest="hardware_cmd", required=True, metavar="COMMAND")

    check = cmds.add_parser(
        "check", help="gather facts (or load a snapshot) and judge them",
        description=("Prints the facts of this machine (or of a saved snapshot) and a "
                     "verdict: the largest tier it carries, shortfalls (what and by how "
                     "much), warnings (no RAID-1, degraded RAID-1, one NIC, a VM with one "
                     "NIC, unequal or small disks) and notes. Reads only; writes nothing."),
        epilog=f"{EXIT_CODES}\n\nexamples:\n  expandctl hardware check\n"
               "  expandctl hardware check --concurrent-calls 90 --json\n"
               "  expandctl hardware check --facts box.json --san\n\n" + TIERS_TEXT,
        formatter_class=HelpFormatter)
    _source_options(check)
    check.add_argument("--concurrent-calls", type=int, metavar="N",
                       help="also say whether the box meets the tier N calls need")
    check.add_argument("--san", action="store_true",
                       help="recordings live on a SAN: local disks of 100 GB are enough")
    check.add_argument("--json", action="store_true", help="facts and verdict as JSON")
    check.set_defaults(func=run_check)

    facts = cmds.add_parser(
        "facts", help="print (and save) the facts of this machine",
        description=("Gathers CPU, memory, disks (/sys/block), md arrays (/proc/mdstat), "
                     "NICs (/sys/class/net) and virtualization, without judging them. "
                     "A saved snapshot can be judged later with 'check --facts FILE'."),
        epilog="examples:\n  expandctl hardware facts\n"
               "  expandctl hardware facts --save box.json\n"
               "  expandctl hardware check --facts box.json --concurrent-calls 60",
        formatter_class=HelpFormatter)
    _source_options(facts)
    facts.add_argument("--save", type=Path, metavar="FILE", help="write the facts as JSON")
    facts.add_argument("--json", action="store_true", help="print the facts as JSON")
    facts.set_defaults(func=run_facts)

    sizing = cmds.add_parser(
        "size", help="the hardware N concurrent calls need",
        description=("Tier, cores, memory, disks and NICs for N concurrent calls, and the "
                     "storage M minutes of recordings need. Recordings: "
                     f"{RECORDING.explanation}."),
        epilog="exit codes:\n  0  sized\n  1  bad value (N must be 1 or more, M 0 or more)\n"
               "  2  command-line usage error\n"
               "  4  more than 240 concurrent calls: a study is needed (the result says so)"
               "\n\nexamples:\n  expandctl hardware size --concurrent-calls 90\n"
               "  expandctl hardware size --concurrent-calls 200 "
               "--recording-minutes 5000000 --json\n"
               "  expandctl hardware size --concurrent-calls 40 --san "
               "--recording-minutes 1000000",
        formatter_class=HelpFormatter)
    sizing.add_argument("--concurrent-calls", type=int, metavar="N", required=True,
                        help="the most calls that run at the same time (1 or more)")
    sizing.add_argument("--recording-minutes", type=int, metavar="M",
                        help="minutes of call recordings to keep")
    sizing.add_argument("--san", action="store_true",
                        help="recordings live on a SAN (local disks of 100 GB)")
    sizing.add_argument("--json", action="store_true", help="the sizing as JSON")
    sizing.set_defaults(func=run_size)


def _source_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--facts", type=Path, metavar="FILE",
                       help="judge a saved snapshot instead of this machine")
    group.add_argument("--root", type=Path, metavar="DIR", default=Path("/"),
                       help="read proc/ and sys/ below DIR (a copy or a fake tree)")


def _facts(args: argparse.Namespace) -> tuple[HostFacts, str]:
    if getattr(args, "facts", None) is not None:
        return load_facts(args.facts), f"snapshot {args.facts}"
    if not is_directory(args.root):  # a file or nothing would read as "no disk, no NIC"
        raise ExpandError(f"--root {show_path(args.root)}: not a directory")
    facts = gather_facts(args.root)
    where = "this machine" if args.root == Path("/") else f"tree {args.root}"
    return facts, f"{where}: {facts.hostname or 'no hostname'}"


def run_check(args: argparse.Namespace) -> int:
    facts, origin = _facts(args)
    verdict = judge(facts, args.concurrent_calls, san=args.san)
    code = (EXIT_STUDY if verdict.study_needed
            else EXIT_SHORT if verdict.meets_need is False else EXIT_OK)
    if args.json:
        print_json({"source": origin, "facts": facts_to_dict(facts),
                    "verdict": verdict_dict(verdict), "exit_code": code})
    else:
        print("\n".join([*facts_lines(facts, origin), "", *verdict_lines(verdict)]))
    return code


def run_facts(args: argparse.Namespace) -> int:
    facts, origin = _facts(args)
    if args.save is not None:
        save_facts(facts, args.save)
    if args.json:
        print_json(facts_to_dict(facts))
    else:
        print("\n".join(facts_lines(facts, origin)))
        if args.save is not None:
            print(f"\nsaved to {args.save}")
    return EXIT_OK


def run_size(args: argparse.Namespace) -> int:
    result = size(args.concurrent_calls, args.recording_minutes, san=args.san)
    if args.json:
        print_json(dataclasses.asdict(result))
    else:
        print("\n".join(sizing_lines(result)))
    return EXIT_STUDY if result.study_needed else EXIT_OK
