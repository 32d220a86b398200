"""Reconnect delays: jittered exponential backoff from 0.5 s up to 30 s.

Jitter keeps a fleet that lost the hub at the same moment from coming back in one burst.
"Equal jitter": each delay lies in [d/2, d], so it still grows when the dice roll low.
"""

from __future__ import annotations

import random
from collections.abc import Callable

FIRST_S = 0.5
CAP_S = 30.0


class Backoff:
    def __init__(self, first: float = FIRST_S, cap: float = CAP_S, factor: float = 2.0,
                 rng: Callable[[], float] = random.random) -> None:
        if not 0 < first <= cap or factor < 1:
            raise ValueError("backoff needs 0 < first <= cap and factor >= 1")
        self.first = first
        self.cap = cap
        self.factor = factor
        self._rng = rng
        self.failures = 0

    def ceiling(self) -> float:
        """The largest delay the next call may return."""
        return float(min(self.cap, self.first * self.factor ** min(self.failures, 64)))

    def next_delay(self) -> float:
        """The wait before the next attempt; each call counts one more failure."""
        top = self.ceiling()
        self.failures += 1
        return top / 2 + self._rng() * top / 2

    def reset(self) -> None:
        """A session that worked: the next failure starts again from ``first``."""
        self.failures = 0
