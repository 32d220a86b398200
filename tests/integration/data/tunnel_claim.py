#!/usr/bin/python3
"""The tunnel tests' stand-in for the hub's claim (branch tun-hub writes the real one, same
key line; EXPAND_TEST_CLAIM runs that instead): when localhost:PORT is held, end every older
sshd session of the caller's user (never the caller's own), then wait until the port is free.
Run by the hub's sshd as the tunnel user, with the system python: standard library only."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path


def stat(pid: int) -> tuple[str, int, int]:
    """(comm, parent pid, start time in ticks)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    rest = text[text.rindex(")") + 2:].split()
    return text[text.index("(") + 1:text.rindex(")")], int(rest[1]), int(rest[19])


def uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    return -1


def held(port: int) -> bool:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


def main() -> int:
    port = int(sys.argv[1])
    chain, pid = set(), os.getpid()
    while pid > 1:
        chain.add(pid)
        pid = stat(pid)[1]
    mine = [p for p in chain if stat(p)[0] == "sshd" and uid(p) == os.getuid()]
    born = min(stat(p)[2] for p in mine) if mine else 0
    ended = []
    for name in os.listdir("/proc") if held(port) else []:
        if not name.isdigit() or int(name) in chain:
            continue
        try:
            comm, _, start = stat(int(name))
            if comm == "sshd" and uid(int(name)) == os.getuid() and start <= born:
                os.kill(int(name), signal.SIGTERM)
                ended.append(name)
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + 2
    while held(port) and time.monotonic() < deadline:
        time.sleep(0.02)
    print(f"claim {port}: port {'still held' if held(port) else 'free'}"
          + "".join(f"; ended the older session {p}" for p in ended))
    return 0


if __name__ == "__main__":
    sys.exit(main())
