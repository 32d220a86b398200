"""The one poll loop: ask until an answer is good or a deadline passes.

Every wait in the toolkit (pacemaker answering, a peer joining, a node booting, a lab
supervisor starting, a cluster state reached) is this loop with its own question.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(probe: Callable[[], T], done: Callable[[T], bool], *, timeout: float,
         interval: float = 0.25) -> tuple[bool, T]:
    """Call ``probe`` until ``done(answer)`` or ``timeout`` seconds have passed.

    Returns (reached, last answer): the caller words its own timeout error from the last
    answer, so a failure says what the state was, not only that time ran out. ``probe``
    is called at least once, and once more right at the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        answer = probe()
        if done(answer):
            return True, answer
        left = deadline - time.monotonic()
        if left <= 0:
            return False, answer
        time.sleep(min(interval, left))
