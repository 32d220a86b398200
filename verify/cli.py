"""``expandctl verify``: the checks of a healthy appliance, here or over ssh, as a table."""

from __future__ import annotations

import argparse
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from appliance.console import HelpFormatter, print_json
from appliance.errors import ExpandError
from appliance.readers import ReadError, read_text, show_path
from verify.run import FAILED, CheckResult, pinned_ssh_config, run_checks, summary

EPILOG = """\
The checks: sshd running and its config (LogLevel VERBOSE, so each login's key fingerprint
is journaled), postfix running with the relay from the answers, the LAN address (and the
interconnect with --cluster), corosync/pacemaker, fencing, the virtual IP on exactly one node
(--cluster), Asterisk answering where the virtual IP is, the support tunnel connected
(/run/expand/tunnel.json), no world-readable secret under /etc/expand or /var/lib/expand.
Host keys are pinned: ssh trusts only --known-hosts and never adds to it.

examples:
  expandctl verify                                  this appliance
  expandctl verify --json                           the same, for scripts
  expandctl verify --host ssh://root@198.51.100.11 --known-hosts ./known_hosts
  expandctl verify --cluster --host ssh://root@198.51.100.11 --host ssh://root@198.51.100.12
  expandctl support verify acme                     one site, through the support hub

exit codes: 0 every check passed (or does not apply: skipped); 1 a check failed (the table
            names it and why) or the checks could not run; 2 wrong arguments
"""
HOST_URL = re.compile(r"^ssh://(?:[A-Za-z0-9._-]{1,64}@)?[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?$")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "verify", help="check that an appliance (or cluster) is healthy",
        description="Runs the testinfra checks of a healthy appliance (needs the 'verify' "
                    "extra: pytest-testinfra) on this box or over ssh, and prints one row "
                    "per check and host: ok, failed (with why) or skipped.",
        epilog=EPILOG, formatter_class=HelpFormatter)
    add_arguments(parser)
    parser.add_argument("--host", action="append", default=[], metavar="ssh://[USER@]HOST[:PORT]",
                        help="check this host over ssh (repeat for the nodes of a cluster); "
                             "default: this box")
    parser.add_argument("--known-hosts", type=Path, metavar="FILE",
                        default=Path.home() / ".ssh/known_hosts",
                        help="the only host keys trusted (default ~/.ssh/known_hosts)")
    parser.add_argument("--identity", type=Path, metavar="FILE", help="ssh private key")
    parser.add_argument("--root", default="/", metavar="DIR",
                        help="where the appliance's files are on the checked host (tests)")
    parser.set_defaults(func=verify)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cluster", action="store_true",
                        help="the hosts are one cluster: cluster daemons, fencing, one VIP")
    parser.add_argument("--json", action="store_true", help="machine-readable result")


def host_urls(values: Sequence[str]) -> list[str]:
    for value in values:
        port = value.rsplit(":", 1)[-1] if value.count(":") > 1 else ""
        if not HOST_URL.match(value) or (port and not 0 < int(port) < 65536):
            raise ExpandError(f"--host: {value[:80]!r} is not ssh://[USER@]HOST[:PORT]")
    return list(values)


def known_hosts_file(path: Path) -> Path:
    """The file ssh will trust, checked here so a bad one is one clear line."""
    try:
        text = read_text(path, what="known_hosts")
    except ReadError as exc:
        raise ExpandError(f"--known-hosts: {exc}") from exc
    if not text.strip():
        raise ExpandError(f"--known-hosts: {show_path(path)}: empty: no host key to trust")
    return path.resolve()


def verify(args: argparse.Namespace) -> int:
    hosts = host_urls(args.host)
    with tempfile.TemporaryDirectory(prefix="expand-verify-") as tmp:
        workdir = Path(tmp)
        config = None
        if hosts:
            config = workdir / "ssh_config"
            config.write_text(pinned_ssh_config(known_hosts_file(args.known_hosts),
                                                args.identity))
        rows = run_checks(hosts or ["local://"], workdir, ssh_config=config, root=args.root,
                          cluster=args.cluster)
    return show(rows, as_json=args.json)


def show(rows: Sequence[CheckResult], *, as_json: bool) -> int:
    counts = summary(rows)
    ok = counts[FAILED] == 0
    if as_json:
        print_json({"ok": ok, "counts": counts, "checks": [r.as_dict() for r in rows]})
    else:
        print(table(rows))
        print(", ".join(f"{n} {status}" for status, n in counts.items()))
    return 0 if ok else 1


def table(rows: Sequence[CheckResult]) -> str:
    lines = [("CHECK", "HOST", "RESULT", "WHY")] + [(r.check, r.host, r.status, r.why)
                                                   for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(3)]
    return "\n".join(f"{c:<{widths[0]}}  {h:<{widths[1]}}  {s:<{widths[2]}}  {w}".rstrip()
                     for c, h, s, w in lines)
