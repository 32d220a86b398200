"""``iso boot-test`` ends QEMU on every path: the test over early, a timeout, Ctrl-C, and
QEMU dying at start. A stand-in QEMU serves the serial socket and ignores both the
monitor's "quit" (it has no monitor) and SIGTERM, so only the last resort ends it."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from appliance.errors import ExpandError
from iso import boottest
from iso.boottest import BootTestResult, _run_qemu, _Watcher
from iso.initramfs import DONE
from iso.menu import ParsedEntry

FAKE_QEMU = f"""\
import signal, socket, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
serial, pid_file, mode = sys.argv[1:4]
open(pid_file, "w").write(str(__import__("os").getpid()))
if mode == "die":
    sys.exit("qemu-system-x86_64: -drive file=x.iso: Could not open 'x.iso'")
server = socket.socket(socket.AF_UNIX)
server.bind(serial)
server.listen(1)
conn, _ = server.accept()
if mode == "done":
    conn.sendall(b"booting...\\r\\n{DONE}\\r\\n")
while True:
    time.sleep(1)
"""


@pytest.fixture(autouse=True)
def short_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boottest, "QUIT_GRACE_S", 0.5)


def watcher() -> _Watcher:
    result = BootTestResult(False, "bios", "cdrom", 1, "Install")
    return _Watcher(["Install"], None, ParsedEntry("Install", ("quiet",)), None, b"", result)


def run_fake(tmp_path: Path, mode: str, the_watcher: _Watcher,
             timeout_s: float = 20) -> int:
    script = tmp_path / "qemu.py"
    script.write_text(FAKE_QEMU)
    pid_file = tmp_path / "pid"
    argv = [sys.executable, str(script), str(tmp_path / "serial"), str(pid_file), mode]
    try:
        _run_qemu(argv, tmp_path / "serial", tmp_path / "monitor", timeout_s, the_watcher,
                  bytearray())
    finally:
        pid = int(pid_file.read_text())
        assert not Path(f"/proc/{pid}").exists(), f"stand-in QEMU {pid} still running"
    return pid


def test_qemu_ends_when_the_test_is_over_early(tmp_path: Path) -> None:
    w = watcher()
    started = time.monotonic()
    run_fake(tmp_path, "done", w)
    assert w.result.failure is None
    assert time.monotonic() - started < 10


def test_qemu_ends_on_timeout(tmp_path: Path) -> None:
    w = watcher()
    run_fake(tmp_path, "silent", w, timeout_s=1)
    assert w.result.failure == "timed out after 1 s"


def test_qemu_ends_on_ctrl_c(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    w = watcher()

    def interrupted(console: bytes) -> tuple[bytes, bool]:
        raise KeyboardInterrupt

    monkeypatch.setattr(w, "step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_fake(tmp_path, "silent", w)


def test_qemu_that_dies_at_start_is_reported_with_its_words(tmp_path: Path) -> None:
    with pytest.raises(ExpandError, match=r"QEMU did not start.*Could not open 'x\.iso'"):
        run_fake(tmp_path, "die", watcher())
    assert os.path.exists(tmp_path / "pid")
