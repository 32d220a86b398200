"""``expandctl answers``: check answers files without writing anything."""

from __future__ import annotations

import argparse
from pathlib import Path

from appliance.answers import check_file
from appliance.answers_toml import dump_answers
from appliance.console import print_json, print_reports
from appliance.fields import FIELDS


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "answers", help="validate and explain first-boot answers files",
        description="Answers files hold what the first-boot wizard asks, as TOML "
                    "(see examples/answers/). Nothing here writes anything.")
    cmds = parser.add_subparsers(dest="answers_cmd", required=True, metavar="COMMAND")

    val = cmds.add_parser(
        "validate", help="check files; exit 0 when all are clean, 1 otherwise",
        description="Reports every problem of every file, one line each, as "
                    "'FILE: section.key: problem'.")
    val.add_argument("files", nargs="+", type=Path, metavar="FILE")
    val.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    val.set_defaults(func=validate)

    keys = cmds.add_parser("keys", help="list every key an answers file may hold")
    fmt = keys.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--markdown", action="store_true", help="the table as in README.md")
    keys.set_defaults(func=list_keys)

    show = cmds.add_parser("show", help="print a validated file with defaults filled in "
                                        "(secrets left out)")
    show.add_argument("file", type=Path, metavar="FILE")
    show.set_defaults(func=show_file)


def validate(args: argparse.Namespace) -> int:
    results = []
    failed = False
    for path in args.files:
        _, reports = check_file(path)
        failed |= bool(reports)
        results.append({"file": str(path), "ok": not reports,
                        "problems": [r.as_dict() for r in reports]})
        if not args.json:
            print_reports(reports)
    if args.json:
        print_json({"ok": not failed, "files": results})
    elif not failed:
        print(f"{len(args.files)} answers file(s) valid")
    return 1 if failed else 0


def list_keys(args: argparse.Namespace) -> int:
    rows = [{"key": f.key, "required": f.required,
             "default": None if f.required or f.secret else f.default, "help": f.help}
            for f in FIELDS]
    if args.json:
        print_json(rows)
        return 0
    if args.markdown:
        print(keys_markdown(), end="")
        return 0
    for row in rows:
        default = "(required)" if row["required"] else f"default {row['default']!r}"
        print(f"{row['key']:34} {default:32} {row['help']}")
    return 0


def keys_markdown() -> str:
    """The key table for README.md, generated so the docs cannot drift from the parser."""
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for f in FIELDS:
        if f.required:
            default = "**required**"
        elif f.secret or f.default in ("", None):
            default = "—"
        else:
            default = f"`{f.default}`"
        lines.append(f"| `{f.key}` | {default} | {f.help} |")
    return "\n".join(lines) + "\n"


def show_file(args: argparse.Namespace) -> int:
    answers, reports = check_file(args.file)
    if answers is None:
        print_reports(reports)
        return 1
    print(dump_answers(answers), end="")
    return 0
