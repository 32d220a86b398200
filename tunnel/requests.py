"""Global requests with a deadline, one at a time.

paramiko's ``global_request(wait=True)`` waits without a deadline on one completion event
shared by every request of the transport. So each request runs in its own thread, only
one is ever outstanding, and the caller decides how long to wait for it. A request still
unanswered stays the outstanding one: later waits wait for *its* reply (replies come in
order, so a late reply still proves the hub alive) instead of sending another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Pending(Generic[T]):
    """One request running in a worker thread."""

    def __init__(self, call: Callable[[], T], name: str) -> None:
        self._done = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call,), name=name,
                                        daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], T]) -> None:
        try:
            self.result = call()
        except BaseException as exc:  # handed to the caller, who knows what it means
            self.error = exc
        finally:
            self._done.set()

    def wait(self, timeout: float) -> bool:
        """True once the request finished (answered, failed or the transport closed)."""
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()


class RequestSlot:
    """The transport's single slot for a global request."""

    def __init__(self) -> None:
        self._pending: Pending[object] | None = None

    @property
    def busy(self) -> bool:
        return self._pending is not None and not self._pending.done

    def start(self, call: Callable[[], object], name: str) -> Pending[object]:
        if self.busy:
            raise RuntimeError("a global request is still outstanding")
        self._pending = Pending(call, name)
        return self._pending

    @property
    def pending(self) -> Pending[object] | None:
        return self._pending
