"""``expandctl firstboot``: apply answers (unattended or from the wizard), plan, status."""

from __future__ import annotations

import argparse
import logging
import queue
import sys
import threading
from pathlib import Path

from appliance.answers import Answers, check_file
from appliance.console import (
    REDACTOR,
    HelpFormatter,
    add_log_file,
    print_json,
    print_reports,
)
from appliance.errors import ExpandError
from appliance.platform import FAMILIES, Platform, detect
from appliance.readers import is_directory, show_path
from appliance.reports import Report
from appliance.runner import RecordingRunner, Runner
from firstboot import cli_upgrade, engine, paths
from firstboot.host import Host, gather, load_host
from firstboot.network_safety import CONFIRM_SECONDS, NetworkConfirmation
from firstboot.report import report_lines, status, status_lines
from pbx.site_key import site_path

log = logging.getLogger("expand.firstboot")

PLATFORMS = FAMILIES  # --platform FAMILY: the family as it is (a bare folder has no os-release)
EPILOG = """\
examples:
  expandctl firstboot                                  the wizard (on tty1 at first boot)
  expandctl firstboot --reconfigure                    the wizard pre-filled from /etc/expand
  expandctl firstboot --root /tmp/dry --platform debian
                                                       try the wizard: files into /tmp/dry only
  expandctl firstboot --answers primary.toml           validate, show the plan, ask, apply
  expandctl firstboot --answers primary.toml --yes     unattended
  expandctl firstboot --answers primary.toml --yes --confirm-timeout 120
                                                       unattended, but the new network must be
                                                       confirmed on this terminal within 120 s
  expandctl firstboot --answers primary.toml --yes --root /tmp/dry
                                                       dry run: files only, into /tmp/dry
  expandctl firstboot plan primary.toml                files it would write, commands it would run
  expandctl firstboot status                           pending? which steps done? last report

exit codes: 0 applied; 1 invalid answers, refused or error (nothing applied);
            2 a step failed (the report names it; run again to resume), also when the
              new network was not confirmed: the previous one is back, nothing after
              the network step was applied
            3 the wizard was left with Escape/Cancel (nothing written)
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "firstboot", help="configure this appliance: wizard, answers file, plan, status",
        description="First-boot configuration: network, host names, DNS, mail relay, time "
                    "zone, hardware report, then the cluster (corosync, pacemaker, the "
                    "virtual IP): a primary starts as a one-node cluster and its final "
                    "report shows the join code the secondary's first boot asks for. "
                    "Steps are journaled: a run cut short resumes where it stopped. "
                    "Passwords and the join code are never logged or saved in answers.",
        epilog=EPILOG, formatter_class=HelpFormatter)
    parser.add_argument("--answers", type=Path, metavar="FILE",
                        help="apply this answers file instead of asking (unattended)")
    parser.add_argument("--yes", action="store_true", help="apply without asking to confirm")
    parser.add_argument("--reconfigure", action="store_true",
                        help="run the wizard pre-filled from the current configuration")
    parser.add_argument(
        "--confirm-timeout", type=_seconds, metavar="SECONDS",
        help="right after the network step, ask to keep the new network (the wizard: a "
             "countdown box; otherwise on this terminal, where no stdin counts as no); "
             "without a yes within SECONDS the previous network comes back and the apply "
             "stops there, before anything else ran on it "
             "(a rerun starts again at the network step). Default: "
             f"{CONFIRM_SECONDS} in the wizard on this system; unattended (--answers) and "
             "--root runs do not ask unless this is given. 0: never ask. A run cut during "
             "the question (power loss) restores the previous network when first boot runs "
             "again")
    _target_options(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable report on stdout")
    parser.set_defaults(func=run_firstboot)
    cmds = parser.add_subparsers(dest="firstboot_cmd", metavar="COMMAND")

    plan_p = cmds.add_parser(
        "plan", help="list the files first boot would write and the commands it would run",
        description="Validates FILE and prints the plan; writes and runs nothing.")
    plan_p.add_argument("file", type=Path, metavar="FILE", help="answers file (TOML)")
    _target_options(plan_p)
    plan_p.add_argument("--json", action="store_true",
                        help="machine-readable plan: steps, files, commands, warnings")
    plan_p.set_defaults(func=run_plan)

    status_p = cmds.add_parser("status", help="is first boot pending; the journal and last report")
    status_p.add_argument("--root", type=Path, default=Path("/"), metavar="DIR",
                          help="look at an alternate root (default: this system)")
    status_p.add_argument("--json", action="store_true", help="machine-readable state")
    status_p.set_defaults(func=run_status)


def _target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, metavar="DIR",
                        help="alternate root: write files there only, run no command (dry run)")
    parser.add_argument("--platform", choices=sorted(PLATFORMS),
                        help="with --root: the target distribution when DIR has no "
                             "/etc/os-release")
    parser.add_argument("--lan-nic", metavar="NAME",
                        help="LAN interface (default: the one with the default route)")
    parser.add_argument("--interconnect-nic", metavar="NAME",
                        help="HA interconnect interface (default: the next Ethernet NIC)")
    parser.add_argument("--host-facts", type=Path, metavar="FILE",
                        help="saved host facts (JSON: nics, hardware) instead of this "
                             "machine's; for dry runs and tests")


def interactive(args: argparse.Namespace) -> int:
    """The dialog wizard (firstboot/wizard*.py) with this engine as its apply step."""
    from firstboot.wizard_cli import run_interactive

    root, live = _root(args)
    runner = Runner(REDACTOR) if live else RecordingRunner()
    host, platform = _host(args), _platform(args)
    platform = platform or detect(root)  # an unknown distribution fails before the screens

    def apply(answers: Answers, progress: engine.ProgressFn,
              confirm: NetworkConfirmation | None) -> engine.ApplyReport:
        register_secrets(answers)  # typed in the wizard: redacted before anything is logged
        _log_to_target(root)
        return engine.apply(answers, root=root, runner=runner, live=live, host=host,
                            platform=platform, progress=progress, hook=confirm)

    return run_interactive(root, reconfigure=args.reconfigure, apply_fn=apply, runner=runner,
                           confirm_seconds=args.confirm_timeout)


def run_firstboot(args: argparse.Namespace) -> int:
    if args.answers is None and not args.reconfigure:
        root, live = _root(args)
        if cli_upgrade.restored_answers(root):  # the first boot after "Upgrade eXpand"
            _log_to_target(root)
            return cli_upgrade.run_restored(root, Runner(REDACTOR) if live else RecordingRunner(),
                                            live, _host(args), _platform(args))
    if args.answers is None:
        return interactive(args)
    if args.reconfigure:
        raise ExpandError("--reconfigure is for the wizard; with --answers the file is the "
                          "configuration")
    if args.json and not args.yes:
        raise ExpandError("--json needs --yes (there is no prompt in JSON mode)")
    if args.json and args.confirm_timeout:
        raise ExpandError("--confirm-timeout asks on the terminal: not with --json (there is "
                          "no prompt in JSON mode)")
    answers = _load(args.answers, args.json)
    if answers is None:
        return 1
    root, live = _root(args)
    register_secrets(answers)
    runner = Runner(REDACTOR) if live else RecordingRunner()
    host, platform = _host(args), _platform(args)
    if not args.yes:
        the_plan = engine.plan(answers, root=root, live=live, host=host, platform=platform)
        print("\n".join(the_plan.lines()))
        if not _confirm("Apply this configuration?"):
            print("nothing applied")
            return 1
    _log_to_target(root)
    log.info("applying %s to %s", args.answers, root)
    hook = (NetworkConfirmation(_confirm_in_time, seconds=args.confirm_timeout)
            if args.confirm_timeout else None)
    report = engine.apply(answers, root=root, runner=runner, live=live, host=host,
                          platform=platform, progress=None if args.json else _progress,
                          hook=hook)
    if args.json:
        print_json(report.as_dict())
    else:
        print("\n".join(report_lines(report)))
    return 0 if report.ok else 2


def run_plan(args: argparse.Namespace) -> int:
    answers = _load(args.file, args.json)
    if answers is None:
        return 1
    root, live = _root(args)
    register_secrets(answers)
    host = _host(args)
    the_plan = engine.plan(answers, root=root, live=live, host=host, platform=_platform(args))
    if args.json:
        print_json(the_plan.as_dict())
    else:
        print("\n".join(the_plan.lines()))
    return 0


def run_status(args: argparse.Namespace) -> int:
    if not is_directory(args.root):
        raise ExpandError(f"--root {show_path(args.root)}: not a directory")
    state = status(args.root)
    if args.json:
        print_json(state)
    else:
        print("\n".join(status_lines(state)))
    return 0


def _load(path: Path, as_json: bool) -> Answers | None:
    answers, reports = check_file(path)
    if answers is not None and answers.pbx.site:
        # The answers name a file of the box: read here, where first boot runs.
        _, problem = site_path(answers.pbx.site)
        if problem:
            answers, reports = None, [Report(show_path(path), "pbx.site", problem)]
    if answers is None:
        if as_json:
            print_json({"ok": False, "problems": [r.as_dict() for r in reports]})
        print_reports(reports)
        print(f"{show_path(path)}: {len(reports)} problem(s); nothing applied", file=sys.stderr)
    return answers


def register_secrets(answers: Answers) -> None:
    for secret in answers.secrets():
        REDACTOR.add(secret)


def _root(args: argparse.Namespace) -> tuple[Path, bool]:
    if args.root is None:
        if args.platform:
            raise ExpandError("--platform only applies with --root")
        return Path("/"), True
    if not is_directory(args.root):  # never raises, even for a name too long
        raise ExpandError(f"--root {show_path(args.root)}: not a directory")
    return args.root.resolve(), False


def _platform(args: argparse.Namespace) -> Platform | None:
    """--platform, else None (the root's os-release decides); a bare folder needs it."""
    if args.platform:
        return PLATFORMS[str(args.platform)]
    root = args.root
    if root is not None and not any((root / p).exists()
                                    for p in ("etc/os-release", "usr/lib/os-release")):
        raise ExpandError(f"--root {root}: no etc/os-release there; say which distribution "
                          "the files are for with --platform rhel or --platform debian")
    return None


def _host(args: argparse.Namespace) -> Host:
    # Gathering only reads (files, systemd-detect-virt): the real runner even for --root.
    host = load_host(args.host_facts) if args.host_facts else gather(Runner(REDACTOR))
    for option, nic in (("--lan-nic", args.lan_nic), ("--interconnect-nic", args.interconnect_nic)):
        # On this machine a named NIC must exist; for another root it is taken on trust.
        if nic and args.root is None and not args.host_facts and nic not in host.nics:
            probe = Runner(REDACTOR).run(["ip", "link", "show", "dev", nic], check=False)
            if probe.returncode != 0:
                raise ExpandError(f"{option} {nic}: no such network interface here "
                                  f"(found: {', '.join(host.nics) or 'none'})")
    return host.with_nic_overrides(args.lan_nic, args.interconnect_nic)


def _log_to_target(root: Path) -> None:
    """Full log under the target (0600, never through a symlink), secrets redacted."""
    add_log_file(root / paths.LOG.lstrip("/"))


def _confirm(question: str) -> bool:
    try:
        reply = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return reply.strip().lower() in ("y", "yes")


def _confirm_in_time(question: str, seconds: int) -> bool:
    """The network question on the terminal: only a yes within ``seconds`` keeps it."""
    print(f"{question}\nKeep the new network? [y/N] ", end="", flush=True)
    engine.maybe_die("countdown")
    if sys.stdin is None:
        return False
    # A reader thread, not select(): a line already buffered by sys.stdin (piped answers
    # to the plan's question and this one) counts too. Left blocked, it ends with us.
    replies: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: replies.put(_read_line()), daemon=True).start()
    try:
        reply = replies.get(timeout=seconds)
    except queue.Empty:
        print(f"\nno answer within {seconds} s", flush=True)
        return False
    return reply.strip().lower() in ("y", "yes")


def _read_line() -> str:
    try:
        return sys.stdin.readline()
    except (OSError, ValueError):  # no usable stdin: nobody can answer
        return ""


def _seconds(text: str) -> int:
    """--confirm-timeout: whole seconds, 0 (never ask) to an hour."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r}: whole seconds from 0 to 3600 expected")
    return value


def _progress(percent: int, title: str) -> None:
    print(f"[{percent:3d}%] {title}", flush=True)
