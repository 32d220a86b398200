"""Progress of long steps: a library-side model, and the two ways the CLI shows it.

The library only calls ``Progress`` callbacks; it never prints. The CLI redraws one line
on a terminal (percent, MB/s, ETA) and writes a few plain lines otherwise (logs, CI).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

MB = 1_000_000


@dataclass(frozen=True)
class Progress:
    phase: str  # short human text: "checking the base DVD", "writing the image", ...
    done_bytes: int = 0
    total_bytes: int = 0  # 0: a phase without a measurable amount
    elapsed_s: float = 0.0
    finished: bool = False

    @property
    def fraction(self) -> float | None:
        if self.total_bytes <= 0:
            return None
        return 1.0 if self.finished else min(self.done_bytes / self.total_bytes, 0.99)

    @property
    def mb_per_s(self) -> float:
        return self.done_bytes / MB / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        rate = self.done_bytes / self.elapsed_s if self.elapsed_s > 0 else 0
        if self.total_bytes <= 0 or rate <= 0:
            return None
        return max(self.total_bytes - self.done_bytes, 0) / rate


ProgressCallback = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    """The default callback: library callers that do not care."""


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def format_line(p: Progress) -> str:
    frac = p.fraction
    if frac is None:
        return p.phase
    eta = "done" if p.finished else (
        f"ETA {_clock(p.eta_s)}" if p.eta_s is not None else "ETA ?")
    # xorriso's size estimate can fall short of what it writes: never show done > total.
    total = max(p.total_bytes, p.done_bytes)
    return (f"{p.phase}: {frac * 100:5.1f}%  {p.done_bytes / MB:8.0f} / "
            f"{total / MB:.0f} MB  {p.mb_per_s:6.1f} MB/s  {eta}")


class TerminalProgress:
    """One line redrawn in place (``\\r``), a newline when a phase ends or changes."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.phase: str | None = None

    def __call__(self, p: Progress) -> None:
        if self.phase is not None and p.phase != self.phase:
            self.stream.write("\n")
        self.phase = p.phase
        self.stream.write("\r\x1b[K" + format_line(p))
        if p.finished or p.fraction is None:
            self.stream.write("\n")
            self.phase = None
        self.stream.flush()


class LineProgress:
    """For logs: each phase once, then a line at every quarter of a measurable phase."""

    def __init__(self, stream: TextIO = sys.stderr, step: float = 0.25) -> None:
        self.stream = stream
        self.step = step
        self.phase: str | None = None
        self.next_mark = 0.0
        self.last = time.monotonic()

    def __call__(self, p: Progress) -> None:
        frac = p.fraction
        if p.phase != self.phase:
            self.phase = p.phase
            self.next_mark = self.step
            if frac is None or not p.finished:
                self.stream.write(f"{p.phase}\n")
        if frac is not None and (p.finished or frac >= self.next_mark):
            while self.next_mark <= frac:
                self.next_mark += self.step
            self.stream.write(format_line(p) + "\n")
        self.stream.flush()


def for_stream(stream: TextIO = sys.stderr) -> ProgressCallback:
    return TerminalProgress(stream) if stream.isatty() else LineProgress(stream)
