"""The reclaim: the forced command of every appliance key line (``command="claim PORT"``).

An appliance whose link died silently is still "connected" on the hub until ClientAlive
gives up (~30 s): its old session holds ``localhost:PORT`` and the new session's forward is
refused. The appliance therefore runs the forced command first (a session ``exec``), then
asks for the forward: the claim ends the OLDER session of the same user holding the port,
waits until the listener is gone, and records its own session for the next claim.

Which session holds the port: the sshd process whose fds hold the listener's socket inode
(readable by root only: sshd's session processes changed uid and are non-dumpable), else
the session the previous claim of this port recorded (pid and start time, so a reused pid
is never taken for it). Only sshd processes of the caller's user are ever signalled, never
the caller's own session, never a session younger than it. Standard library only (the
claim program is a zipapp of this module and its imports).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.readers import ReadError, read_text
from appliance.wait import poll
from tunnel.support.hub_proc import (
    SSHD,
    Listener,
    Process,
    ancestors,
    loopback_listeners,
    read_process,
    socket_holders,
    sshd_processes,
)

RECORD_DIR = ".expand-claim"
TERM_WAIT = 1.5
KILL_WAIT = 1.0


@dataclass(frozen=True)
class ClaimResult:
    port: int
    ended: tuple[Process, ...]
    free: bool
    note: str

    def line(self) -> str:
        ended = "".join(f"; ended the older session {p.pid} (started "
                        f"{time.strftime('%H:%M:%S', time.gmtime(p.started))} UTC)"
                        for p in self.ended)
        state = "free" if self.free else "still held"
        return f"claim {self.port}: port {state}{ended}" + (f"; {self.note}" if self.note else "")


def claim(port: int, *, uid: int | None = None, pid: int | None = None,
          record_dir: Path | None = None) -> ClaimResult:
    uid = os.getuid() if uid is None else uid
    chain = ancestors(os.getpid() if pid is None else pid)
    own_session = next((p for p in chain if p.comm == SSHD and p.uid == uid), None)
    # Root (an admin freeing a port by hand) reads the fds and keeps no record; the tunnel
    # user records its session, as the next claim cannot read the fds.
    records = None if uid == 0 else record_dir or Path.home() / RECORD_DIR
    with _records_locked(records) as usable:
        listeners = loopback_listeners().get(port, [])
        ended: list[Process] = []
        note = ""
        ours = False
        if listeners:
            candidates, note = _holders(port, listeners, uid, records if usable else None)
            mine = {p.pid for p in chain}
            for process in candidates:
                if process.pid in mine:
                    note, ours = "held by this session", True
                elif own_session and process.start_ticks > own_session.start_ticks \
                        and process.uid == own_session.uid:
                    note = f"held by session {process.pid}, newer than this one: left alone"
                else:
                    ended.append(process)
            _end(ended, port)
        free = port not in loopback_listeners()
        if records and usable and own_session is not None and (free or ours):
            _record(records, port, own_session)
        elif records and not usable:
            note = (note + "; " if note else "") + f"cannot keep a record in {records}"
    return ClaimResult(port, tuple(ended), free, note)


def _holders(port: int, listeners: list[Listener], uid: int,
             records: Path | None) -> tuple[list[Process], str]:
    sockets = {lst.inode for lst in listeners if lst.uid == uid or uid == 0}
    if not sockets:
        return [], "held by another user: left alone"
    sshds = [p for p in sshd_processes() if p.uid == uid or uid == 0]
    holders = socket_holders(sockets, sshds)
    owners = {lst.uid for lst in listeners}
    if holders is not None and holders:
        return sorted({p.pid: p for p in holders.values() if p.uid in owners}.values(),
                      key=lambda p: p.pid), ""
    recorded = _recorded(records, port) if records else None
    if recorded is not None and recorded.uid in owners:
        return [recorded], ""
    return [], "its session is unknown (no record): ClientAlive frees it within ~30 s"


def _end(processes: list[Process], port: int) -> None:
    """SIGTERM, then SIGKILL for a session that does not go within TERM_WAIT."""
    for signum, wait in ((signal.SIGTERM, TERM_WAIT), (signal.SIGKILL, KILL_WAIT)):
        alive = [p for p in processes if _same_process(p)]
        if not alive:
            return
        for process in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signum)
        reached, _ = poll(lambda: port in loopback_listeners(), lambda held: not held,
                          timeout=wait, interval=0.02)
        if reached:
            return


def _same_process(process: Process) -> bool:
    now = read_process(process.pid)
    return now is not None and now.start_ticks == process.start_ticks and now.comm == SSHD


def _recorded(records: Path, port: int, comm: str = SSHD) -> Process | None:
    try:
        pid_text, ticks_text = read_text(records / str(port), max_bytes=64).split()
        process = read_process(int(pid_text))
    except (ReadError, ValueError):
        return None
    if process is None or process.comm != comm or process.start_ticks != int(ticks_text):
        return None
    return process


def _record(records: Path, port: int, session: Process) -> None:
    FileSink(Path("/")).write(str(records / str(port)), f"{session.pid} {session.start_ticks}\n",
                              mode=0o600, dir_mode=0o700)


@contextlib.contextmanager
def _records_locked(records: Path | None) -> Iterator[bool]:
    """The record folder, locked (two claims of one port at once end the same session once);
    False when it cannot be made (the user's home is missing or read-only)."""
    if records is None:
        yield False
        return
    try:
        FileSink(Path("/")).mkdir(str(records), 0o700)
        fd = os.open(records, os.O_RDONLY | os.O_DIRECTORY)
    except (OSError, ExpandError):
        yield False
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield True
    finally:
        os.close(fd)


def parse_port(text: str) -> int:
    if not text.isdigit() or not 1024 < int(text) < 65536:
        raise ExpandError(f"PORT: {text[:20]!r} is not a port number above 1024")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    """The claim program (``python -m tunnel.support.claim PORT``, or the zipapp that
    hub-install writes): one line on stdout, which the appliance logs; exit 0 unless PORT is
    wrong."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if len(args) != 1:
            raise ExpandError("usage: claim PORT")
        print(claim(parse_port(args[0])).line())
    except ExpandError as exc:
        print(f"claim: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
