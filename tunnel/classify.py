"""Why the hub refused a remote forward.

OpenSSH answers both a forbidden forward and a port it cannot bind with a bare
REQUEST_FAILURE. Only the permission denial is preceded by SSH_MSG_DEBUG "port forwarding
refused" (openssh-portable channels.c); a bind clash is logged on the hub only. paramiko
logs the debug text on the transport's log channel, so a handler on that channel tells
them apart: policy → alert and retry slowly; no debug → the port is held, most likely by
an older session of this same appliance that the hub has not noticed is dead → reclaim.
"""

from __future__ import annotations

import enum
import logging
import threading

POLICY_DEBUG = "port forwarding refused"
DEBUG_PREFIX = "Debug msg: "


class Refusal(enum.Enum):
    POLICY = "policy"          # the hub's key line or sshd_config forbids this forward
    PORT_HELD = "port-held"    # the port is bound already (a stale session): reclaim it


def classify(debug_messages: list[str]) -> Refusal:
    """The kind of refusal, from the SSH_MSG_DEBUG texts received before it."""
    if any(POLICY_DEBUG in msg.lower() for msg in debug_messages):
        return Refusal.POLICY
    return Refusal.PORT_HELD


class DebugCollector(logging.Handler):
    """Collects the hub's SSH_MSG_DEBUG texts from one transport's log channel; passes
    paramiko's warnings on to ``forward_to``. Debug texts come from the hub: kept short."""

    def __init__(self, forward_to: logging.Logger) -> None:
        super().__init__(logging.DEBUG)
        self._lock_ = threading.Lock()
        self._messages: list[str] = []
        self._forward_to = forward_to

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a bad log call inside paramiko must not kill its reader thread
            return
        if text.startswith(DEBUG_PREFIX):
            with self._lock_:
                self._messages = [*self._messages[-19:], text[len(DEBUG_PREFIX):][:200]]
        elif record.levelno >= logging.WARNING:
            self._forward_to.log(record.levelno, "paramiko: %s", text[:300])

    def take(self) -> list[str]:
        """The texts received since the last call."""
        with self._lock_:
            taken, self._messages = self._messages, []
        return taken


def attach(channel: str, forward_to: logging.Logger) -> DebugCollector:
    """A collector on its own log channel (one per transport: no cross-talk)."""
    logger = logging.getLogger(channel)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    for old in list(logger.handlers):
        logger.removeHandler(old)
    collector = DebugCollector(forward_to)
    logger.addHandler(collector)
    return collector
