"""The one poll loop: reached, timed out with the last answer, at least one probe."""

from __future__ import annotations

import time

from appliance.wait import poll


def test_poll_returns_the_first_good_answer() -> None:
    answers = iter([1, 2, 3, 4])
    reached, last = poll(lambda: next(answers), lambda n: n >= 3, timeout=5, interval=0)
    assert (reached, last) == (True, 3)


def test_poll_times_out_with_the_last_answer() -> None:
    calls: list[float] = []

    def probe() -> int:
        calls.append(time.monotonic())
        return len(calls)

    started = time.monotonic()
    reached, last = poll(probe, lambda n: False, timeout=0.3, interval=0.05)
    assert not reached
    assert last == len(calls) >= 2
    assert time.monotonic() - started < 2


def test_poll_probes_once_even_with_no_time() -> None:
    reached, last = poll(lambda: "up", lambda s: s == "up", timeout=0)
    assert (reached, last) == (True, "up")
