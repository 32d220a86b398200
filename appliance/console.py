"""Output helpers for the CLI and the wizard only (library code never prints)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from appliance.reports import Report
from appliance.runner import RedactingFilter, Redactor

REDACTOR = Redactor()


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """--help text: prose paragraphs filled to the terminal, indented lines (examples, exit
    codes) kept as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for para in text.split("\n\n"):
            if any(line[:1].isspace() for line in para.splitlines()):
                paragraphs.append(textwrap.indent(para, indent))
            else:
                paragraphs.append(textwrap.fill(" ".join(para.split()), width,
                                                initial_indent=indent, subsequent_indent=indent))
        return "\n\n".join(paragraphs)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def print_reports(reports: Iterable[Report], stream: Any = None) -> None:
    out = stream or sys.stderr
    for report in reports:
        print(report, file=out)


def setup_logging(verbose: bool = False, log_file: Path | None = None) -> Redactor:
    """Log to stderr (warnings, or everything with -v) and optionally to a 0600 file.

    Every handler goes through the same redactor, so a secret registered with it never
    reaches a log, whatever the code that logs it.
    """
    root = logging.getLogger("expand")
    root.setLevel(logging.DEBUG)
    root.handlers.clear()
    root.propagate = False
    handler: logging.Handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactingFilter(REDACTOR))
    root.addHandler(handler)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log_file.touch(mode=0o600, exist_ok=True)
        log_file.chmod(0o600)
        file_handler = logging.FileHandler(log_file)
        file_handler.setLevel(logging.DEBUG)
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        file_handler.addFilter(RedactingFilter(REDACTOR))
        root.addHandler(file_handler)
    return REDACTOR
