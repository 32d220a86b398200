"""What a process listens on, from /proc (the host's network namespace, which a chroot
shares), and whether a listener is reachable from outside."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from pathlib import Path


def listening_on(pid: int | None) -> list[str]:
    """"proto address:port" of every socket ``pid`` listens on (TCP) or is bound to (UDP),
    from /proc/net (the host's network namespace, which a chroot shares)."""
    if pid is None:
        return []
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    found = []
    for proto in ("tcp", "udp", "tcp6", "udp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/net/{proto}").read_text().splitlines()[1:]:
                cols = line.split()
                # TCP state 0A is LISTEN; a bound UDP socket is 07 (unconnected).
                if cols[9] in inodes and cols[3] in ("0A", "07"):
                    found.append(f"{proto} {_address(cols[1])}")
    return sorted(set(found))


def _address(hex_pair: str) -> str:
    """/proc/net's "0100007F:1F90" → "127.0.0.1:8080" (IPv6 likewise)."""
    host, port = hex_pair.split(":")
    raw = bytes.fromhex(host)
    # /proc/net prints each 32-bit word in host (little-endian) order.
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
    shown = socket.inet_ntop(family, words)
    return f"[{shown}]:{int(port, 16)}" if family == socket.AF_INET6 else f"{shown}:{int(port, 16)}"


def exposed(listener: str) -> bool:
    """A socket reachable from outside on a port someone configured. res_pjsip itself
    always holds two unconnected UDP sockets on kernel-chosen ports of the wildcard address
    (0.0.0.0 and ::; with or without transports, as a live Asterisk does): those are not
    services and take no configured port, so they are listed but not held against it."""
    proto, where = listener.split(" ", 1)
    address, port = where.rsplit(":", 1)
    if ipaddress.ip_address(address.strip("[]")).is_loopback:
        return False
    low, high = _ephemeral_ports()
    return not (proto.startswith("udp") and low <= int(port) <= high)


def _ephemeral_ports() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default
