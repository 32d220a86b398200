"""Forwarded channels from the hub, each bridged to the appliance's own sshd.

paramiko calls the forward's handler in its transport reader thread: blocking there would
stop every channel and every reply of the session, so the handler only starts a worker.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
from collections.abc import Callable
from typing import Any

import paramiko

CHUNK = 32768
Handler = Callable[[paramiko.Channel, Any, Any], None]


def make_handler(host: str, port: int, log: logging.Logger) -> Handler:
    def handle(channel: paramiko.Channel, origin: Any, server: Any) -> None:
        threading.Thread(target=bridge, args=(channel, host, port, log),
                         name="tunnel-bridge", daemon=True).start()
    return handle


def bridge(channel: paramiko.Channel, host: str, port: int, log: logging.Logger) -> None:
    try:
        sock = socket.create_connection((host, port), timeout=5)
    except OSError as exc:
        log.warning("forwarded connection: the local sshd at %s:%s does not answer: %s",
                    host, port, exc)
        channel.close()
        return
    sock.settimeout(None)
    try:
        pump(channel, sock)
    except (OSError, EOFError, paramiko.SSHException) as exc:
        log.info("forwarded connection ended: %s", exc)
    finally:
        with contextlib.suppress(OSError):
            sock.close()
        channel.close()


def pump(channel: paramiko.Channel, sock: socket.socket) -> None:
    """Copy bytes both ways until either side closes (a closed transport closes the
    channel, which wakes the select)."""
    while not channel.closed:
        readable, _, _ = select.select([channel.fileno(), sock.fileno()], [], [], 30)
        if channel.fileno() in readable:
            data = channel.recv(CHUNK)
            if not data:
                return
            sock.sendall(data)
        if sock.fileno() in readable:
            data = sock.recv(CHUNK)
            if not data:
                return
            channel.sendall(data)
