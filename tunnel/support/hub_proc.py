"""What /proc tells about the hub's tunnel listeners and the sshd sessions holding them.

Standard library only: the claim program is built from this module (``hub_install``), and
runs in ~50 ms as the tunnel user.

A listener is a LISTEN line of /proc/net/tcp or tcp6 on a loopback address (sshd binds
both 127.0.0.1 and ::1 for "localhost"). Its socket inode leads to the process holding it
through /proc/PID/fd, which only root can read for sshd's session processes: they changed
uid, so the kernel made them non-dumpable. Callers that are not root get ``None`` for the
holder and use what else they know (the claim's session record).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
LISTEN = "0A"
LOOPBACK = {"127.0.0.1", "::1"}
SSHD = "sshd"


@dataclass(frozen=True)
class Listener:
    address: str
    port: int
    uid: int
    inode: int


@dataclass(frozen=True)
class Process:
    pid: int
    comm: str
    ppid: int
    uid: int
    start_ticks: int  # clock ticks after boot (field 22 of /proc/PID/stat)

    @property
    def started(self) -> float:
        """Start time, seconds since the epoch."""
        return boot_time() + self.start_ticks / os.sysconf("SC_CLK_TCK")


def loopback_listeners(proc: Path = PROC) -> dict[int, list[Listener]]:
    """Every TCP listener on 127.0.0.1 or ::1, by port (one read of each table)."""
    found: dict[int, list[Listener]] = {}
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        try:
            text = (proc / "net" / table).read_text()
        except OSError:  # no IPv6 in this kernel or namespace
            continue
        for line in text.splitlines()[1:]:
            listener = _parse_tcp_line(line, family)
            if listener is not None and listener.address in LOOPBACK:
                found.setdefault(listener.port, []).append(listener)
    return found


def _parse_tcp_line(line: str, family: int) -> Listener | None:
    fields = line.split()
    if len(fields) < 10 or fields[3] != LISTEN:
        return None
    try:
        address_hex, port_hex = fields[1].split(":")
        address = socket.inet_ntop(family, _host_order(bytes.fromhex(address_hex)))
        return Listener(address, int(port_hex, 16), int(fields[7]), int(fields[9]))
    except (ValueError, OSError):
        return None


def _host_order(raw: bytes) -> bytes:
    """/proc/net/tcp prints each 32-bit word of an address in host byte order."""
    if sys.byteorder == "big":
        return raw
    return b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))


def read_process(pid: int, proc: Path = PROC) -> Process | None:
    """The process, or None once it is gone."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
        status = (proc / str(pid) / "status").read_text()
    except OSError:
        return None
    try:
        head, tail = stat.rsplit(")", 1)
        comm = head.split("(", 1)[1]
        rest = tail.split()
        uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
        return Process(pid, comm, int(rest[1]), int(uid_line.split()[1]), int(rest[19]))
    except (IndexError, ValueError, StopIteration):
        return None


def sshd_processes(proc: Path = PROC) -> list[Process]:
    found = []
    for entry in os.scandir(proc):
        if entry.name.isdigit():
            process = read_process(int(entry.name), proc)
            if process is not None and process.comm == SSHD:
                found.append(process)
    return found


def socket_holders(inodes: set[int], processes: list[Process],
                   proc: Path = PROC) -> dict[int, Process] | None:
    """Which of ``processes`` hold each socket inode; None when their fds are unreadable
    (not root: we cannot tell who holds what)."""
    targets = {f"socket:[{inode}]": inode for inode in inodes}
    holders: dict[int, Process] = {}
    readable = False
    for process in processes:
        fd_dir = proc / str(process.pid) / "fd"
        try:
            names = os.listdir(fd_dir)
        except OSError:
            continue
        readable = True
        for name in names:
            with contextlib.suppress(OSError):
                inode = targets.get(os.readlink(fd_dir / name))
                if inode is not None:
                    holders[inode] = process
    return holders if readable or not processes else None


def ancestors(pid: int, proc: Path = PROC) -> list[Process]:
    """``pid`` and its parents up to (not including) PID 1."""
    chain = []
    while pid > 1:
        process = read_process(pid, proc)
        if process is None:
            break
        chain.append(process)
        pid = process.ppid
    return chain


_BOOT_TIME: list[float] = []


def boot_time(proc: Path = PROC) -> float:
    if not _BOOT_TIME:
        btime = next(line for line in (proc / "stat").read_text().splitlines()
                     if line.startswith("btime "))
        _BOOT_TIME.append(float(btime.split()[1]))
    return _BOOT_TIME[0]
