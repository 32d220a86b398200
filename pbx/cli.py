"""``expandctl pbx``: check and explain site files without writing anything."""

from __future__ import annotations

import argparse
import ipaddress
from pathlib import Path, PurePosixPath

from appliance.console import (
    REDACTOR,
    HelpFormatter,
    print_json,
    print_reports,
    print_verdict,
)
from appliance.readers import is_directory, show_path
from appliance.reports import Report
from pbx import secrets_store
from pbx.cli_apply import add_apply
from pbx.cli_audio import add_audio
from pbx.cli_prove import add_prove
from pbx.fields import all_fields
from pbx.render import DEFAULT_BIND, ETC, render, write
from pbx.secrets_store import SECRETS_PATH
from pbx.show import dump_site, site_data
from pbx.site import check_file


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "pbx", help="the PBX site file: departments, users, extensions, queues, IVR, schedules",
        formatter_class=HelpFormatter,
        description="A site file holds the customer's PBX as TOML (see examples/site/acme.toml, "
                    "the seed's boot camp). Only `render` writes, under its --out root.")
    cmds = parser.add_subparsers(dest="pbx_cmd", required=True, metavar="COMMAND")
    add_prove(cmds)
    add_apply(cmds)
    add_audio(cmds)

    val = cmds.add_parser(
        "validate", help="check a site file; exit 0 when clean, 1 otherwise",
        formatter_class=HelpFormatter,
        description="Reports every problem, one line each, as 'FILE: key: problem'.\n\n"
                    "    expandctl pbx validate examples/site/acme.toml --audio prompts/")
    val.add_argument("site", type=Path, metavar="SITE")
    val.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    val.add_argument("--audio", type=Path, metavar="DIR",
                     help="folder of the prompts (NAME.wav): every prompt the site plays must "
                          "be there (default: the site's audio-dir, when it exists)")
    val.set_defaults(func=validate)

    show = cmds.add_parser("show", help="print a validated site with defaults filled in "
                                        "(secrets left out)")
    show.add_argument("site", type=Path, metavar="SITE")
    show.add_argument("--json", action="store_true", help="the model as JSON")
    show.set_defaults(func=show_site)

    ren = cmds.add_parser(
        "render", help="write the Asterisk configuration of a site file under a root",
        formatter_class=HelpFormatter,
        description="Validates SITE, then writes /etc/asterisk/*.conf (pjsip, extensions, "
                    "queues, voicemail, musiconhold, res_fax, chan_dahdi, modules, logger), "
                    "the PIN file and fax mailer, and /etc/dahdi/system.conf under DIR. "
                    "Secrets the site leaves out are generated once and kept in "
                    f"{SECRETS_PATH} (0600) under the state root; they are never printed. "
                    "A bad site: its problems, exit 1, nothing written.\n\n"
                    "    expandctl pbx render examples/site/acme.toml --out /tmp/acme")
    ren.add_argument("site", type=Path, metavar="SITE")
    ren.add_argument("--out", type=Path, required=True, metavar="DIR",
                     help="root the files are written under (created when its parent exists)")
    ren.add_argument("--state", type=Path, metavar="DIR",
                     help="root of the secrets file (default: --out)")
    ren.add_argument("--bind", default=DEFAULT_BIND, metavar="ADDR:PORT",
                     help="SIP UDP transport address: the VIP on an appliance")
    ren.add_argument("--etc-dir", default=ETC, metavar="PATH",
                     help="where Asterisk will read this configuration (PIN file, fax mailer)")
    ren.set_defaults(func=render_site)

    keys = cmds.add_parser("keys", help="list every key a site file may hold")
    fmt = keys.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--markdown", action="store_true", help="the table as in README.md")
    keys.set_defaults(func=list_keys)


def validate(args: argparse.Namespace) -> int:
    reports: list[Report]
    if args.audio is not None and not is_directory(args.audio):
        reports = [Report("--audio", "", f"{show_path(args.audio)} is not a directory")]
    else:
        _, reports = check_file(args.site, audio_dir=args.audio)
    return print_verdict(reports, as_json=args.json, data={"file": str(args.site)},
                         ok_line=f"{args.site}: site file valid")


def show_site(args: argparse.Namespace) -> int:
    site, reports = check_file(args.site)
    if site is None:
        print_reports(reports)
        return 1
    if args.json:
        print_json(site_data(site))
    else:
        print(dump_site(site), end="")
    return 0


def _default(value: object, required: bool, secret: bool) -> str:
    if required:
        return "**required**"
    if secret or value in ("", None, ()):
        return "—"
    if isinstance(value, tuple):
        return "`" + ", ".join(str(v) for v in value) + "`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def keys_markdown() -> str:
    """The key table for README.md, generated so the docs cannot drift from the parser."""
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for key, f in all_fields():
        lines.append(f"| `{key}` | {_default(f.default, f.required, f.secret)} | {f.help} |")
    return "\n".join(lines) + "\n"


def list_keys(args: argparse.Namespace) -> int:
    rows = [{"key": key, "required": f.required, "secret": f.secret,
             "default": None if f.required or f.secret else f.default, "help": f.help}
            for key, f in all_fields()]
    if args.json:
        print_json(rows)
    elif args.markdown:
        print(keys_markdown(), end="")
    else:
        for key, f in all_fields():
            default = _default(f.default, f.required, f.secret).strip("`*")
            print(f"{key:44} {default:20} {f.help}")
    return 0


def _bind_problem(bind: str) -> str | None:
    host, _, port = bind.rpartition(":")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return f"{bind!r} is not ADDRESS:PORT (0.0.0.0:5060, or the VIP)"
    if not port.isdigit() or not 0 < int(port) < 65536:
        return f"{bind!r}: the port is not 1-65535"
    return None


def _root_problem(path: Path, option: str) -> str | None:
    if is_directory(path):
        return None
    if path.exists() or path.is_symlink():
        return f"{show_path(path)} is not a directory"
    if not is_directory(path.parent):
        return f"{show_path(path.parent)} does not exist"
    return None


def render_site(args: argparse.Namespace) -> int:
    state = args.state if args.state is not None else args.out
    problems = [Report(opt, "", msg) for opt, msg in (
        ("--out", _root_problem(args.out, "--out")),
        ("--state", _root_problem(state, "--state") if args.state is not None else None),
        ("--bind", _bind_problem(args.bind)),
        ("--etc-dir", None if PurePosixPath(args.etc_dir).is_absolute()
         and "," not in args.etc_dir else f"{args.etc_dir!r} is not an absolute path"),
    ) if msg]
    if problems:
        print_reports(problems)
        return 1
    site, reports = check_file(args.site)
    if site is None:
        print_reports(reports)
        return 1
    stored = secrets_store.load(state)
    secrets, keep = secrets_store.complete(site, stored,
                                           authkey=secrets_store.cluster_key(state))
    for secret in secrets.all():
        REDACTOR.add(secret)
    files = render(site, secrets, source=str(args.site), bind=args.bind,
                   etc_dir=args.etc_dir)  # a value that cannot be carried: ValidationFailed
    args.out.mkdir(exist_ok=True)
    saved = secrets_store.save(state, keep)
    generated = sum(len(t) for t in keep.values())
    for written in write(files, args.out):
        shown_path = show_path(args.out / written.path.lstrip("/"))
        print(f"{'wrote' if written.changed else 'unchanged'} {shown_path}")
    print(f"{'wrote' if saved else 'unchanged'} "
          f"{show_path(state / SECRETS_PATH.lstrip('/'))} (0600: {generated} generated "
          "secret(s), not shown)")
    return 0
