"""``expandctl pbx``: check and explain site files without writing anything."""

from __future__ import annotations

import argparse
from pathlib import Path

from appliance.console import HelpFormatter, print_json, print_reports
from appliance.readers import is_directory, show_path
from appliance.reports import Report
from pbx.fields import all_fields
from pbx.show import dump_site, site_data
from pbx.site import check_file


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "pbx", help="the PBX site file: departments, users, extensions, queues, IVR, schedules",
        formatter_class=HelpFormatter,
        description="A site file holds the customer's PBX as TOML (see examples/site/acme.toml, "
                    "the seed's boot camp). Nothing here writes anything.")
    cmds = parser.add_subparsers(dest="pbx_cmd", required=True, metavar="COMMAND")

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
    if args.json:
        print_json({"file": str(args.site), "ok": not reports,
                    "problems": [r.as_dict() for r in reports]})
    elif reports:
        print_reports(reports)
    else:
        print(f"{args.site}: site file valid")
    return 1 if reports else 0


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
