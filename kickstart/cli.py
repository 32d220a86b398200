"""``expandctl kickstart``: render the DVD's kickstarts and check kickstart files."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from appliance.console import HelpFormatter, print_json, print_reports
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.readers import show_path
from appliance.volume_label import check_volume_label
from kickstart.build import KickstartOptions, render_install, render_upgrade
from kickstart.checks import validate_file

RENDER_EPILOG = """examples:
  expandctl kickstart render                       # install kickstart on stdout
  expandctl kickstart render --upgrade -o /tmp/expand-upgrade.ks
  expandctl kickstart render --volid Rocky-9-4-x86_64-dvd --version 3.2
  expandctl kickstart render --root-password-hash "$(openssl passwd -6)"
  expandctl kickstart render | expandctl kickstart validate -
"""

VALIDATE_EPILOG = """examples:
  expandctl kickstart validate /tmp/expand-install.ks
  expandctl kickstart render | expandctl kickstart validate -
  expandctl kickstart validate --json ks.cfg

Checks beyond pykickstart's RHEL 9 syntax (which ksvalidator also does): RAID members that
no 'part' defines, RAID1 with fewer than two members, a mount point used twice, no EFI
system partition, --ondisk outside 'ignoredisk --only-use'. When the partitioning comes
from the eXpand %pre (%include /tmp/expand-part.ks), the layouts it writes for one and two
disks, BIOS and UEFI, are checked in place of the include.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "kickstart", help="render and validate the install DVD's kickstarts",
        description="The kickstarts anaconda runs from the eXpand DVD: a text install from "
                    "the disc, disks chosen at install time (two disks: RAID-1), and the "
                    "first-boot wizard enabled.")
    cmds = parser.add_subparsers(dest="kickstart_cmd", required=True, metavar="COMMAND")

    render = cmds.add_parser(
        "render", help="print (or write) the install or upgrade kickstart",
        description="Render the kickstart from pykickstart objects (RHEL 9 syntax).",
        epilog=RENDER_EPILOG, formatter_class=HelpFormatter)
    defaults = KickstartOptions()
    render.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="write FILE atomically instead of printing")
    render.add_argument("--upgrade", action="store_true",
                        help=f"the upgrade kickstart ({defaults.previous} -> "
                             f"{defaults.version}): keeps the data filesystem")
    render.add_argument("--volid", default=defaults.volid, metavar="LABEL",
                        help="volume label of the DVD, used to find it: 1-32 letters, digits, "
                             "'.', '_' or '-' (default %(default)s)")
    render.add_argument("--version", default=defaults.version, metavar="V",
                        help="eXpand version being installed (default %(default)s)")
    render.add_argument("--previous", default=defaults.previous, metavar="V",
                        help="version an upgrade comes from (default %(default)s)")
    render.add_argument("--timezone", default=defaults.timezone, metavar="ZONE",
                        help="default %(default)s")
    render.add_argument("--root-password-hash", metavar="HASH",
                        help="crypt(3) hash for root (e.g. from 'openssl passwd -6'); "
                             "default: root locked")
    render.add_argument("--answers-on-media", action="store_true",
                        help="the disc carries an answers file for the first boot")
    render.set_defaults(func=render_cmd)

    val = cmds.add_parser(
        "validate", help="check a kickstart; exit 0 when clean, 1 with one line per problem",
        description="Problems print as 'FILE:LINE: message' or 'FILE: key: message'.",
        epilog=VALIDATE_EPILOG, formatter_class=HelpFormatter)
    val.add_argument("file", metavar="FILE", help="kickstart file, or - for standard input")
    val.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    val.set_defaults(func=validate_cmd)


def render_cmd(args: argparse.Namespace) -> int:
    check_volume_label(args.volid, "--volid")
    options = KickstartOptions(volid=args.volid, version=args.version, previous=args.previous,
                               timezone=args.timezone,
                               root_password_hash=args.root_password_hash,
                               answers_on_media=args.answers_on_media)
    try:
        text = render_upgrade(options) if args.upgrade else render_install(options)
    except ValueError as exc:
        raise ExpandError(str(exc)) from exc
    if args.output is None:
        sys.stdout.write(text)
        return 0
    target = Path(os.path.realpath(args.output))  # never raises, even on a symlink loop
    # A root password hash is not a secret like a password, but keep it off other users.
    mode = 0o600 if args.root_password_hash else 0o644
    try:
        FileSink(Path("/")).write(str(target), text, mode=mode)
    except OSError as exc:
        raise ExpandError(f"{show_path(target)}: cannot write: "
                          f"{(exc.strerror or str(exc)).lower()}") from None
    print(f"wrote {target}", file=sys.stderr)
    return 0


def validate_cmd(args: argparse.Namespace) -> int:
    reports = validate_file(args.file)
    if args.json:
        print_json({"file": args.file, "ok": not reports,
                    "problems": [r.as_dict() for r in reports]})
    elif reports:
        print_reports(reports)
    else:
        print(f"{args.file}: kickstart valid", file=sys.stderr)
    return 1 if reports else 0
