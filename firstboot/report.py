"""Text forms of the apply report and of the first-boot state, for the CLI and the wizard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from appliance.filesink import FileSink
from firstboot import paths
from firstboot.engine import ApplyReport, read_report
from firstboot.journal import load_journal

MARK = {"done": "ok  ", "already-done": "ok  ", "failed": "FAIL"}


def report_lines(report: ApplyReport) -> list[str]:
    """The final report: each step's result, then every warning, then the verdict."""
    lines = []
    for step in report.steps:
        again = " (already done)" if step.status == "already-done" else ""
        lines.append(f"[{MARK.get(step.status, step.status)}] {step.title}{again}: {step.detail}")
    if report.warnings:
        lines.append("Warnings:")
        lines += [f"  - {w}" for w in report.warnings]
    failed = report.failed_step
    if failed is None:
        lines.append("dry run: nothing applied (files written under the --root folder only, "
                     "no command run)" if report.dry_run else "eXpand installed")
        lines += report.shown_once
    else:
        lines.append(f"eXpand NOT installed: step '{failed.name}' failed; fix the cause and run "
                     "again (finished steps are skipped)")
    return lines


def status(root: Path) -> dict[str, Any]:
    sink = FileSink(root)
    journal = load_journal(sink, strict=True)  # a broken one is named, not hidden
    return {
        "pending": sink.exists(paths.SENTINEL),
        "journal": None if journal is None else {"done": list(journal.done),
                                                 "complete": journal.complete},
        "report": read_report(root),
        "answers_saved": sink.exists(paths.ANSWERS),
    }


def status_lines(state: dict[str, Any]) -> list[str]:
    lines = ["first boot: " + ("pending (the wizard runs at next boot)" if state["pending"]
                               else "not pending")]
    journal = state["journal"]
    if journal is None:
        lines.append("journal: none (never applied)")
    else:
        done = ", ".join(journal["done"]) or "-"
        lines.append(f"journal: steps done: {done}; "
                     + ("complete" if journal["complete"] else "incomplete (run again to resume)"))
    report = state["report"]
    if report is not None:
        verdict = "ok" if report.get("ok") else f"FAILED at {report.get('failed_step')}"
        lines.append(f"last report: {verdict}")
        lines += [f"  warning: {w}" for w in report.get("warnings", [])]
    return lines
