"""``expandctl release``: build the product package (RPM with bundled wheels)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from appliance.console import HelpFormatter, print_json
from appliance.runner import Runner
from release import wheelhouse
from release.build import DEFAULT_CACHE, REPO, BuildOptions, build_release
from release.wheeltags import TARGET

HELP = "build the product package (expand-appliance RPM with its Python wheels)"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "release", help=HELP,
        description="Build the eXpand product package that the install DVD's kickstart "
                    "installs: the toolkit and every Python dependency as wheels, installed "
                    "offline into /opt/expand when the package is installed.")
    cmds = parser.add_subparsers(dest="release_cmd", required=True, metavar="COMMAND")
    _register_build(cmds)
    _register_wheels(cmds)


def _register_build(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = cmds.add_parser(
        "build", help="build expand-appliance-VERSION-RELEASE.x86_64.rpm",
        formatter_class=HelpFormatter,
        description=(
            "Builds the toolkit's wheel from this checkout (offline), picks the wheels its "
            f"runtime needs for {TARGET} from the wheelhouse, and runs rpmbuild and rpmlint "
            "(no error allowed). The package installs the wheels into a venv in /opt/expand "
            "(%post, offline), /usr/bin/expandctl and the first-boot unit. Every wheel in "
            "--wheels must fit the appliance; a missing one is named. The RPM appears in "
            "--out only when complete. Progress on stderr."),
        epilog="examples:\n"
               "  expandctl release build                       # downloads the wheels "
               f"into {DEFAULT_CACHE} first\n"
               f"  expandctl release build --wheels {DEFAULT_CACHE} --out dist/ --release 2\n"
               "  expandctl release build --wheels ./wheelhouse --json\n\n"
               "exit codes: 0 built; 1 refused or a tool failed (the message says which "
               "wheel, folder or tool); 2 wrong arguments")
    p.add_argument("--out", type=Path, default=Path("dist"), metavar="DIR",
                   help="folder for the RPM (default dist/; created if missing)")
    p.add_argument("--wheels", type=Path, metavar="DIR",
                   help="an offline wheelhouse (from 'expandctl release wheels'); without "
                        f"it the wheels are downloaded into {DEFAULT_CACHE}")
    p.add_argument("--release", default="1", metavar="N",
                   help="the RPM release number (default 1)")
    p.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    p.set_defaults(func=cmd_build)


def _register_wheels(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = cmds.add_parser(
        "wheels", help="download the wheels a release build needs (the only online step)",
        formatter_class=HelpFormatter,
        description=(
            f"Downloads wheels for {TARGET} of every runtime dependency of the toolkit "
            "(transitively), pip, and setuptools (to build the toolkit's wheel), and builds "
            f"wheels of the sdist-only projects ({', '.join(wheelhouse.SDIST_ONLY)}). "
            "Downloads nothing when DIR already holds every wheel (resolved offline). "
            "Then checks every wheel in DIR."),
        epilog="examples:\n"
               f"  expandctl release wheels --out {DEFAULT_CACHE}\n"
               "  make wheelhouse                # the same, as an install step\n\n"
               "exit codes: 0 filled; 1 pip failed or a wheel in DIR does not fit; "
               "2 wrong arguments")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="the wheelhouse folder (created; wheels already there are kept)")
    p.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    p.set_defaults(func=cmd_wheels)


def _progress(line: str) -> None:
    print(f"release: {line}", file=sys.stderr, flush=True)


def cmd_build(args: argparse.Namespace) -> int:
    opts = BuildOptions(out=args.out, wheels=args.wheels, release=args.release)
    result = build_release(opts, Runner(), _progress)
    if args.json:
        print_json(result.as_dict())
        return 0
    print(f"{result.path}: {result.size_bytes / 1e6:.1f} MB, {len(result.wheels)} wheels, "
          f"in {result.build_s:.1f} s")
    print(f"  requires: {', '.join(result.requires)}")
    print(f"  rpmlint: {result.rpmlint}")
    return 0


def cmd_wheels(args: argparse.Namespace) -> int:
    wheels = wheelhouse.fill(args.out, REPO, Runner(), _progress)
    if args.json:
        print_json({"path": str(args.out), "wheels": [w.filename for w in wheels]})
        return 0
    print(f"{args.out}: {len(wheels)} wheels for {TARGET}")
    return 0
