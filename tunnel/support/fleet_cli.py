"""``expandctl support ssh|run|verify``: engineers reach appliances through the hub.

``register(cmds)`` adds them to the ``support`` command's subparsers (support/cli.py);
everything is pinned from the registry and --hub-known-hosts.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from appliance.console import HelpFormatter, print_json
from appliance.errors import ExpandError
from appliance.readers import ReadError, read_text, show_path
from tunnel.support import fleet_registry
from tunnel.support.fleet import OK, Hub, SiteResult, run_everywhere
from tunnel.support.fleet_registry import Site
from tunnel.support.registry import DEFAULT_REGISTRY as HUB_REGISTRY
from verify import cli as verify_cli
from verify.run import pinned_ssh_config, run_checks

DEFAULT_REGISTRY = Path(os.environ.get("EXPAND_SUPPORT_REGISTRY", str(HUB_REGISTRY)))
HUB_URL = re.compile(r"^(?:ssh://)?([A-Za-z0-9._-]{1,64})@([A-Za-z0-9.-]{1,253})(?::([0-9]{1,5}))?$")
EXIT_CODES = """\
exit codes: 0 done on every site; 1 a site failed or was unreachable (the table says which
            and why), or the hub/registry could not be used; 2 wrong arguments"""
RUN_EPILOG = f"""\
The command runs as --user on each appliance (through the hub: localhost:PORT of the site's
tunnel), at most --workers sites at a time, each within --timeout seconds. Every host key
is pinned: the hub's from --hub-known-hosts, each appliance's from the registry's host-key
(as [localhost]:PORT); a key that differs is refused, never learned.

examples:
  expandctl support run acme -- uptime
  expandctl support run --json --timeout 10 acme -- df -h
  expandctl support run --all -- systemctl is-active asterisk
  expandctl support run --all --json --timeout 10 -- cat /etc/expand/answers.toml

{EXIT_CODES}
"""


def add_hub_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hub", default=os.environ.get("EXPAND_SUPPORT_HUB", ""),
                        metavar="USER@HOST[:PORT]",
                        help="the support hub (default $EXPAND_SUPPORT_HUB)")
    parser.add_argument("--hub-known-hosts", type=Path, metavar="FILE",
                        default=Path.home() / ".ssh/known_hosts",
                        help="the hub's pinned host key (default ~/.ssh/known_hosts)")
    parser.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY, metavar="FILE",
                        help=f"sites, ports and host keys (default {DEFAULT_REGISTRY}, "
                             "or $EXPAND_SUPPORT_REGISTRY)")
    parser.add_argument("--identity", type=Path, metavar="FILE",
                        help="your ssh private key (default: ssh agent / ~/.ssh)")
    parser.add_argument("--user", default="support", help="login on the appliances")


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--all", action="store_true", help="every site of the registry")
    parser.add_argument("--timeout", type=float, default=30, help="seconds per site (30)")
    parser.add_argument("--workers", type=int, default=8, help="sites at a time (8)")
    parser.add_argument("--json", action="store_true", help="machine-readable result")
    add_hub_arguments(parser)


def split_run_words(args: argparse.Namespace) -> tuple[str | None, list[str]]:
    """(SITE or None for --all, the command) from ``[SITE] [OPTIONS] -- CMD``; options
    between SITE and "--" are set on ``args`` as if given before SITE."""
    words: list[str] = args.words
    if "--" in words:
        cut = words.index("--")
        head, command = words[:cut], words[cut + 1:]
    else:
        head, command = ([], words) if args.all else (words[:1], words[1:])
    options = argparse.ArgumentParser(prog="expandctl support run", add_help=False,
                                      argument_default=argparse.SUPPRESS, exit_on_error=False)
    add_run_options(options)
    try:
        _, rest = options.parse_known_args(head, namespace=args)
    except argparse.ArgumentError as exc:
        raise ExpandError(f"support run: {exc}") from None
    unknown = [w for w in rest if w.startswith("-")]
    if unknown:
        raise ExpandError(f"support run: unknown option {unknown[0][:40]!r}")
    wanted = 0 if args.all else 1
    if len(rest) != wanted:
        raise ExpandError("support run: give SITE -- CMD, or --all -- CMD"
                          + (f" (not {' '.join(rest)[:60]!r})" if rest else ""))
    return (rest[0] if rest else None), command


def register(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ssh = cmds.add_parser(
        "ssh", help="an interactive shell on one appliance, through the hub",
        description="OpenSSH to the site's tunnel port on the hub (ProxyJump), host keys "
                    "pinned from the registry.",
        epilog="examples:\n  expandctl support ssh acme\n  expandctl support ssh acme -- "
               "journalctl -u expand-tunnel -n 20\n\nexit codes: ssh's own (255: ssh could "
               "not connect); 1 the hub/registry could not be used",
        formatter_class=HelpFormatter)
    ssh.add_argument("site")
    ssh.add_argument("command", nargs="*", help="a command instead of a shell (after --)")
    add_hub_arguments(ssh)
    ssh.set_defaults(func=ssh_command)

    run = cmds.add_parser(
        "run", help="run a command on one or every appliance (fabric, in parallel)",
        usage="expandctl support run [OPTIONS] (SITE | --all) [OPTIONS] -- CMD...",
        description="Runs CMD on SITE (or every site of the registry with --all) and prints "
                    "a table: ok, failed (non-zero exit, timeout) or unreachable, then each "
                    "site's output.", epilog=RUN_EPILOG, formatter_class=HelpFormatter)
    add_run_options(run)
    # Everything from SITE on: options there are read by run_command (argparse would
    # take them for the command's or refuse them), the command is what follows "--".
    run.add_argument("words", nargs=argparse.REMAINDER, metavar="[SITE] -- CMD")
    run.set_defaults(func=run_command)

    ver = cmds.add_parser(
        "verify", help="expandctl verify on one appliance, through the hub",
        description="The checks of 'expandctl verify' over the site's tunnel (OpenSSH with "
                    "ProxyJump, host keys pinned).",
        epilog="examples:\n  expandctl support verify acme\n  expandctl support verify acme "
               "--json\n\n" + verify_cli.EPILOG.split("exit codes:")[1].join(
                   ["exit codes:", ""]), formatter_class=HelpFormatter)
    ver.add_argument("site")
    verify_cli.add_arguments(ver)
    add_hub_arguments(ver)
    ver.set_defaults(func=verify_command)


def parse_hub(value: str) -> tuple[str, str, int]:
    match = HUB_URL.match(value)
    port = int(match.group(3) or 22) if match else 0
    if not match or not 0 < port < 65536:
        raise ExpandError(f"--hub: {value[:80]!r} is not USER@HOST[:PORT]"
                          + (" (or set $EXPAND_SUPPORT_HUB)" if not value else ""))
    return match.group(1), match.group(2), port


def hub_of(args: argparse.Namespace) -> Hub:
    user, host, port = parse_hub(args.hub)
    return Hub(host, port, user, verify_cli.known_hosts_file(args.hub_known_hosts),
               identity_file(args.identity))


def identity_file(path: Path | None) -> Path | None:
    if path is None:
        return None
    try:
        read_text(path, what="identity")
    except ReadError as exc:
        raise ExpandError(f"--identity: {exc}") from exc
    return path.resolve()


def pinned_sites(registry: Path) -> list[Site]:
    sites = fleet_registry.load_sites(registry)
    unpinned = [s.site for s in sites if not s.host_key]
    if unpinned:
        raise ExpandError(f"{show_path(registry)}: no host-key for {', '.join(unpinned[:5])}: "
                          "its host key cannot be pinned")
    return sites


def run_command(args: argparse.Namespace) -> int:
    site_name, command = split_run_words(args)
    if not command:
        raise ExpandError("support run: no command (SITE -- CMD, or --all -- CMD)")
    if not 0 < args.timeout <= 3600 or not 0 < args.workers <= 64:
        raise ExpandError("support run: --timeout is 0-3600 s, --workers 1-64")
    hub = hub_of(args)
    sites = pinned_sites(args.registry)
    if site_name is not None:
        sites = [fleet_registry.find(sites, site_name)]
    if not sites:
        raise ExpandError(f"{show_path(args.registry)}: no sites: nothing to run on")
    with tempfile.TemporaryDirectory(prefix="expand-fleet-") as tmp:
        known = Path(tmp) / "known_hosts"
        known.write_text(fleet_registry.known_hosts(sites))
        results = run_everywhere(hub, sites, " ".join(_quoted(command)), user=args.user,
                                 known_hosts=known, timeout=args.timeout,
                                 workers=args.workers)
    return show_results(results, as_json=args.json)


def _quoted(command: Sequence[str]) -> list[str]:
    # One word given: it is a shell line ("uptime; df -h"); several: each is one argument.
    return list(command) if len(command) == 1 else [shlex.quote(w) for w in command]


def show_results(results: Sequence[SiteResult], *, as_json: bool) -> int:
    ok = all(r.status == OK for r in results)
    if as_json:
        print_json({"ok": ok, "sites": [r.as_dict() for r in results]})
        return 0 if ok else 1
    rows = [("SITE", "PORT", "RESULT", "SECONDS", "WHY")] + [
        (r.site, str(r.port), r.status, f"{r.seconds:.2f}", r.why) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(f"{cell:<{widths[i]}}" for i, cell in enumerate(row[:4]))
              + f"  {row[4]}".rstrip())
    for r in results:
        if r.stdout or r.stderr:
            print(f"\n--- {r.site} ({r.status})")
            print((r.stdout + r.stderr).rstrip("\n"))
    return 0 if ok else 1


def site_ssh_config(hub: Hub, site: Site, user: str, known_hosts: Path) -> str:
    """OpenSSH settings for ``site``: ProxyJump through the hub, both keys pinned."""
    blocks = (f"Host expand-hub\n  HostName {hub.host}\n  Port {hub.port}\n  User {hub.user}\n"
              f"Host {site.site}\n  HostName localhost\n  Port {site.port}\n  User {user}\n"
              "  ProxyJump expand-hub\n")
    return pinned_ssh_config(known_hosts, hub.identity, blocks)


def _site_files(args: argparse.Namespace, tmp: Path) -> tuple[Hub, Site, Path]:
    hub = hub_of(args)
    site = fleet_registry.find(pinned_sites(args.registry), args.site)
    known = tmp / "known_hosts"
    known.write_text(read_text(hub.known_hosts, what="known_hosts")
                     + fleet_registry.known_hosts([site]))
    config = tmp / "ssh_config"
    config.write_text(site_ssh_config(hub, site, args.user, known))
    return hub, site, config


def ssh_command(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="expand-ssh-") as tmp:
        _, site, config = _site_files(args, Path(tmp))
        return subprocess.run(["ssh", "-F", str(config), site.site, *args.command],
                              check=False).returncode


def verify_command(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="expand-verify-") as tmp:
        _, site, config = _site_files(args, Path(tmp))
        rows = run_checks([f"ssh://{site.site}"], Path(tmp), ssh_config=config,
                          cluster=args.cluster)
    return verify_cli.show(rows, as_json=args.json)
