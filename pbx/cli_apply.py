"""``expandctl pbx apply SITE`` and ``expandctl pbx status``.

Registered by pbx/cli.py (``add_apply(cmds)`` on the ``pbx`` command's subparsers).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from appliance import backup
from appliance.console import REDACTOR, HelpFormatter, print_json, print_reports
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.readers import is_directory, show_path
from appliance.reports import Report, ValidationFailed
from appliance.runner import Runner
from pbx.apply import apply_site
from pbx.cli_prove import place_for
from pbx.render import DEFAULT_BIND
from pbx.status import box_status, status_lines
from pbx.throwaway import AsteriskPlace

EXITS = ("exit codes: 0 applied, unchanged or live on disk (no Asterisk running here); "
         "1 rejected (the throwaway Asterisk or the live check refused it: the running "
         "configuration is untouched or rolled back); 2 bad input (site file, --root, "
         "--in-root); 3 restart required (proven and staged, not live)")


def add_apply(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = cmds.add_parser(
        "apply", help="render a site into a new release, prove it, swap it in, reload "
                      "only what changed",
        formatter_class=HelpFormatter,
        description="Renders SITE into /var/lib/expand/pbx/releases/NNNN-DIGEST (a whole "
                    "/etc/asterisk: the box's packaged files plus ours), proves it on a "
                    "throwaway Asterisk, points the /etc/asterisk symlink at it, reloads "
                    "only the modules whose files changed and checks the live counts; on "
                    "any failure it flips back. The same site again changes nothing. "
                    "Changes Asterisk cannot reload (DAHDI, modules) while it runs are "
                    "staged and reported as 'restart required'. Progress goes to stderr. "
                    f"{EXITS}.\n\n"
                    "    expandctl pbx apply /etc/expand/site.toml\n"
                    "    expandctl pbx apply acme.toml --root /mnt/box --in-root /mnt/box "
                    "--json\n"
                    "    expandctl pbx apply acme.toml --root /tmp/box --in-root "
                    "/var/cache/expand/rootfs/sid-asterisk --dry-run")
    parser.add_argument("site", type=Path, metavar="SITE")
    parser.add_argument("--root", type=Path, default=Path("/"), metavar="DIR",
                        help="the box's root filesystem (default /)")
    parser.add_argument("--in-root", type=Path, metavar="ASTERISK_ROOT",
                        help="run Asterisk (the proof, and the live box's CLI when it is "
                             "the same as --root) inside this root filesystem (chroot)")
    parser.add_argument("--bind", default=DEFAULT_BIND, metavar="ADDR:PORT",
                        help="SIP UDP transport address: the VIP on an appliance")
    parser.add_argument("--dry-run", action="store_true",
                        help="say what would change and reload; write nothing")
    parser.add_argument("--json", action="store_true", help="the report as JSON on stdout")
    parser.set_defaults(func=apply_command)

    status = cmds.add_parser(
        "status", help="the live release, older ones, Asterisk's counts against the model",
        formatter_class=HelpFormatter,
        description="Reads the releases under --root and asks the running Asterisk (if "
                    "any) for its counts. Writes nothing. Exit 0, 2 on bad input.\n\n"
                    "    expandctl pbx status\n    expandctl pbx status --root /mnt/box "
                    "--in-root /mnt/box --json")
    status.add_argument("--root", type=Path, default=Path("/"), metavar="DIR")
    status.add_argument("--in-root", type=Path, metavar="ASTERISK_ROOT",
                        help="reach the running Asterisk inside this root (chroot)")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=status_command)


def _bad(problems: list[Report]) -> int:
    print_reports(problems)
    return 2


def _root_problem(root: Path) -> Report | None:
    if not is_directory(root):
        return Report("--root", "", f"{show_path(root)} is not a directory")
    return None


def _place(args: argparse.Namespace) -> AsteriskPlace | Report:
    """The Asterisk that --in-root names (or this system's), or the problem with --root or
    --in-root."""
    problem = _root_problem(args.root)
    if problem:
        return problem
    try:
        return place_for(args.in_root)
    except ExpandError as exc:
        return Report("--in-root", "", str(exc).split(": ", 1)[-1])


def apply_command(args: argparse.Namespace) -> int:
    place = _place(args)
    if isinstance(place, Report):
        return _bad([place])
    # The box's own Asterisk: on / itself, or inside --root when --in-root is that root.
    live_place = place if (args.root == Path("/") and args.in_root is None) or (
        args.in_root is not None and args.root.resolve() == args.in_root.resolve()) else None

    def progress(line: str) -> None:
        print(f"pbx apply: {REDACTOR(line)}", file=sys.stderr, flush=True)

    try:
        outcome = apply_site(args.site, root=args.root, place=place, live_place=live_place,
                             runner=Runner(REDACTOR), bind=args.bind, dry_run=args.dry_run,
                             progress=progress)
    except ValidationFailed as exc:
        return _bad(list(exc.reports))
    except ExpandError as exc:  # a root that is no box, a broken state file: named, exit 2
        print(f"expandctl: error: {exc}", file=sys.stderr)
        return 2
    if outcome.exit_code == 0 and not args.dry_run:
        _keep_backup(args.root, progress)
    if args.json:
        print_json({"site": str(args.site), **outcome.as_dict()})
        return outcome.exit_code
    where = outcome.release or "(the box's own /etc/asterisk)"
    print(f"{show_path(args.site)}: {outcome.status}: release {where}")
    for line in outcome.changed:
        print(f"  changed {line}")
    for line in outcome.reloads:
        print(f"  {'would run' if outcome.status == 'dry-run' else 'reloaded'}: {line}")
    for line in outcome.restart:
        print(f"  restart required: {line}")
    for line in (*outcome.notes, *outcome.problems):
        print(f"  {line}")
    if outcome.reason:
        print(f"  {outcome.reason}")
    return outcome.exit_code


def _keep_backup(root: Path, progress: Callable[[str], None]) -> None:
    """A box that keeps an upgrade backup (its first boot made one) keeps it current: the
    site file is part of it. Secrets are carried over from the current backup."""
    sink = FileSink(root)
    if not sink.target(backup.CURRENT).is_symlink():
        return
    try:
        backup.refresh(sink, Runner(REDACTOR), live=root == Path("/"))
    except (ExpandError, OSError) as exc:
        progress(f"the upgrade backup on {backup.BACKUP_DIR} was not refreshed: {exc}")


def status_command(args: argparse.Namespace) -> int:
    place = _place(args)
    if isinstance(place, Report):
        return _bad([place])
    reach = args.root == Path("/") or args.in_root is not None
    try:
        data = box_status(args.root, place if reach else None, Runner(REDACTOR))
    except ExpandError as exc:
        print(f"expandctl: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print_json(data)
    else:
        print("\n".join(status_lines(data)))
    return 0
