"""``expandctl pbx audio check|convert``: the IVR prompts in the format Asterisk plays as is.

Registered by pbx/cli.py (``add_audio(cmds)`` on the ``pbx`` command's subparsers).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from appliance.console import HelpFormatter, print_verdict
from appliance.readers import is_directory, show_path
from appliance.runner import Runner
from pbx.audio import BITS, RATE, BadAudio, check_dir, convert
from pbx.site import check_file


def add_audio(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = cmds.add_parser(
        "audio", help="check and convert IVR prompts (8000 Hz mono 16-bit PCM WAV)",
        formatter_class=HelpFormatter,
        description="Prompts must be what Asterisk plays without transcoding (the seed's "
                    "Anexo D): RIFF/WAVE, PCM 16-bit, mono, 8000 Hz, named NAME.wav.\n\n"
                    "    expandctl pbx audio check prompts/ --site examples/site/acme.toml\n"
                    "    expandctl pbx audio convert recorded.wav prompts/msjBienvenida.wav")
    sub = parser.add_subparsers(dest="audio_cmd", required=True, metavar="COMMAND")

    chk = sub.add_parser(
        "check", help="check every *.wav of a folder; exit 0 when all are right, 1 otherwise",
        formatter_class=HelpFormatter,
        description="One line per problem, 'DIR/NAME.wav: what is wrong'. Reads the headers "
                    "only; writes nothing.")
    chk.add_argument("dir", type=Path, metavar="DIR")
    chk.add_argument("--site", type=Path, metavar="SITE",
                     help="also: every prompt this site file plays must be in DIR")
    chk.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    chk.set_defaults(func=check_command)

    conv = sub.add_parser(
        "convert", help="convert any audio sox reads to an 8000 Hz mono 16-bit PCM WAV",
        formatter_class=HelpFormatter,
        description="Runs sox into a temporary file next to DEST, checks it, then renames it "
                    "to DEST (DEST is never left half-written). DEST's folder must exist.")
    conv.add_argument("src", type=Path, metavar="SRC")
    conv.add_argument("dest", type=Path, metavar="DEST")
    conv.set_defaults(func=convert_command)


def check_command(args: argparse.Namespace) -> int:
    count, reports = check_dir(args.dir)
    if args.site is not None and is_directory(args.dir):
        _, site_reports = check_file(args.site, audio_dir=args.dir)
        reports = reports + site_reports
    return print_verdict(reports, as_json=args.json,
                         data={"dir": str(args.dir), "files": count},
                         ok_line=f"{args.dir}: {count} prompt(s), all 8000 Hz mono 16-bit PCM")


def convert_command(args: argparse.Namespace) -> int:
    try:
        convert(args.src, args.dest, Runner())
    except BadAudio as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"wrote {show_path(args.dest)} ({RATE} Hz mono {BITS}-bit PCM)")
    return 0
