"""sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET (READY=1, WATCHDOG=1)."""

from __future__ import annotations

import os
import socket


def notify(message: str) -> bool:
    """Send ``message``; False when not run by systemd (no socket) or the send failed."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address or address[0] not in "/@":
        return False
    if address[0] == "@":  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError:
        return False
    return True
