"""Progress: percent, MB/s and ETA on a terminal; a few plain lines otherwise."""

from __future__ import annotations

import io

from iso.progress import LineProgress, Progress, TerminalProgress, format_line

MB = 1_000_000


def test_format_line_has_percent_rate_and_eta() -> None:
    line = format_line(Progress("writing", 50 * MB, 200 * MB, 2.0))
    assert "25.0%" in line and "25.0 MB/s" in line and "ETA 0:06" in line


def test_phase_without_amount_is_just_its_name() -> None:
    assert format_line(Progress("checking the base DVD")) == "checking the base DVD"


def test_fraction_stays_below_one_until_finished() -> None:
    assert Progress("w", 300, 200, 1.0).fraction == 0.99
    assert Progress("w", 300, 300, 1.0, finished=True).fraction == 1.0


def test_line_progress_writes_quarters_only() -> None:
    out = io.StringIO()
    show = LineProgress(out)
    show(Progress("checking"))
    for done in range(0, 101, 5):
        show(Progress("writing", done * MB, 100 * MB, 1 + done / 10))
    show(Progress("writing", 100 * MB, 100 * MB, 11.0, finished=True))
    lines = out.getvalue().splitlines()
    assert lines[0] == "checking" and lines[1] == "writing"
    assert len(lines) <= 7  # the phases plus one line per quarter
    assert lines[-1].endswith("done")
    assert "\r" not in out.getvalue()


def test_terminal_progress_redraws_one_line() -> None:
    out = io.StringIO()
    show = TerminalProgress(out)
    show(Progress("writing", 10 * MB, 100 * MB, 1.0))
    show(Progress("writing", 20 * MB, 100 * MB, 2.0))
    show(Progress("writing", 100 * MB, 100 * MB, 5.0, finished=True))
    text = out.getvalue()
    assert text.count("\r") == 3 and text.count("\n") == 1
