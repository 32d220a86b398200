"""``iso boot-test``: boot the DVD in QEMU (TCG) and watch its serial console.

Success means all of: the boot menu showed every entry, the chosen entry (default:
the first) booted, the kernel got the entry's arguments (``inst.ks=hd:LABEL=...``), and
the initramfs read the kickstart from the disc found by its label (the demo base prints
it between markers, with its md5, which must equal the file on the ISO). Failure
markers end the run early. QEMU is a child of this process, ended on every path; the
serial port and the monitor are unix sockets this module talks to.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import shlex
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.runner import Runner
from appliance.wait import poll
from iso import initramfs, xorriso
from iso.inspect import inspect_iso
from iso.menu import ParsedEntry
from iso.screen import Screen, plain

log = logging.getLogger("expand.iso")

OVMF = Path("/usr/share/ovmf/OVMF.fd")
DOWN, ENTER = b"\x1b[B", b"\r"
COUNTDOWN_TEXTS = ("Automatic boot in", "executed automatically in")  # isolinux, GRUB
FAILURE_LINE_GRACE_S = 3.0
MENU_SETTLE_S = 2.0
QUIT_GRACE_S = 5.0  # after each of monitor "quit", SIGTERM: then the next, then SIGKILL
FAILURE_MARKERS = {
    "Kernel panic": "the kernel panicked",
    initramfs.FAILED: "the installer's initramfs failed",
    "(initramfs)": "dropped to an initramfs shell",
    "dracut:/#": "dropped to the dracut emergency shell",
    "No bootable device": "the firmware found no bootable device",
    "Boot failed": "the firmware could not boot the disc",
    "error: file": "GRUB could not load a file",
    "Could not find kernel image": "isolinux could not find the kernel",
}


@dataclass(frozen=True)
class BootTestOptions:
    iso: Path
    firmware: str  # "bios" | "uefi"
    media: str  # "cdrom" | "disk"
    entry: int | None = None  # 1-based menu position; None: the default
    timeout_s: float = 300.0
    log_path: Path | None = None
    wait_countdown: bool = False  # let the menu's countdown start the default entry
    memory_mb: int = 768


@dataclass
class BootTestResult:
    ok: bool
    firmware: str
    media: str
    entry: int
    entry_label: str
    menu_seen: list[str] = field(default_factory=list)
    menu_missing: list[str] = field(default_factory=list)
    menu_screen: str = ""
    cmdline: str | None = None
    missing_args: list[str] = field(default_factory=list)
    kickstart: str | None = None
    kickstart_read: bool = False
    failure: str | None = None
    log: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def qemu_argv(opts: BootTestOptions, serial_sock: Path, monitor_sock: Path) -> list[str]:
    argv = ["qemu-system-x86_64", "-accel", "tcg,thread=multi", "-m", str(opts.memory_mb),
            "-display", "none", "-nic", "none", "-no-reboot",
            "-monitor", f"unix:{monitor_sock},server=on,wait=off",
            "-chardev", f"socket,id=console,path={serial_sock},server=on,wait=on",
            "-serial", "chardev:console"]
    if opts.firmware == "uefi":
        argv += ["-bios", str(OVMF)]
    if opts.media == "cdrom":
        argv += ["-drive", f"file={opts.iso},format=raw,media=cdrom,readonly=on,if=ide"]
    else:  # the image written to a USB stick: a disk holding the hybrid image
        argv += ["-drive", f"file={opts.iso},format=raw,media=disk,if=ide,snapshot=on"]
    return argv


def boot_test(runner: Runner, opts: BootTestOptions) -> BootTestResult:
    if opts.firmware not in ("bios", "uefi") or opts.media not in ("cdrom", "disk"):
        raise ExpandError("--firmware is bios or uefi, --media is cdrom or disk")
    if opts.firmware == "uefi" and not OVMF.is_file():
        raise ExpandError(f"{OVMF} is missing: install the Debian package 'ovmf'")
    seen = inspect_iso(runner, opts.iso, verify=False)
    menu = seen.menus.get("isolinux" if opts.firmware == "bios" else "efiboot-grub")
    if menu is None or not menu.entries:
        raise ExpandError(f"{opts.iso}: no {opts.firmware.upper()} boot menu found")
    number = opts.entry or (menu.default_index or 0) + 1
    if not 1 <= number <= len(menu.entries):
        raise ExpandError(f"--entry {number}: the menu has entries 1 to {len(menu.entries)}")
    chosen = menu.entries[number - 1]
    if not chosen.args:
        raise ExpandError(f"entry {number} ({chosen.label!r}) does not start the installer; "
                          "boot-test checks entries that boot a kernel")
    ks_path, ks_md5 = _expected_kickstart(runner, opts.iso, chosen)
    log_path = opts.log_path or opts.iso.with_name(
        f"{opts.iso.stem}.boot-{opts.firmware}-{opts.media}.log")
    result = BootTestResult(False, opts.firmware, opts.media, number, chosen.label,
                            kickstart=ks_path, log=str(log_path))
    keys = b"" if opts.wait_countdown and opts.entry is None else (
        DOWN * (number - 1 - (menu.default_index or 0)) + ENTER)
    start = time.monotonic()
    console = bytearray()
    try:
        with tempfile.TemporaryDirectory(prefix="expand-boottest-") as tmp:
            serial_sock, monitor_sock = Path(tmp) / "serial", Path(tmp) / "monitor"
            watcher = _Watcher(menu.labels, menu.title, chosen, ks_md5, keys, result)
            _run_qemu(qemu_argv(opts, serial_sock, monitor_sock), serial_sock,
                      monitor_sock, opts.timeout_s, watcher, console)
    finally:
        result.seconds = round(time.monotonic() - start, 1)
        FileSink(log_path.parent).write(f"/{log_path.name}", bytes(console))
    return result


def _expected_kickstart(runner: Runner, iso: Path,
                        entry: ParsedEntry) -> tuple[str | None, str | None]:
    for arg in entry.args:
        match = re.match(r"inst\.ks=hd:LABEL=[^:]+:(/\S+)$", arg)
        if match:
            with tempfile.TemporaryDirectory(prefix="expand-boottest-") as tmp:
                host = Path(tmp) / "ks.cfg"
                xorriso.extract(runner, iso, [(match.group(1), host)])
                return match.group(1), hashlib.md5(host.read_bytes()).hexdigest()
    return None, None


class _Watcher:
    """Reads the console as it comes and decides: keep going, send keys, done, failed."""

    def __init__(self, labels: list[str], title: str | None, entry: ParsedEntry,
                 ks_md5: str | None, keys: bytes, result: BootTestResult) -> None:
        self.wanted = [*labels, *([title] if title else [])]
        self.entry, self.ks_md5, self.keys, self.result = entry, ks_md5, keys, result
        self.screen = Screen()
        self.menu_done = False
        self.menu_done_at: float | None = None
        self.keys_sent = False
        self.failure_seen_at: float | None = None

    def step(self, console: bytes) -> tuple[bytes, bool]:
        """Keys to send now, and whether the test is over."""
        text = plain(console)
        r = self.result
        # The kickstart printed between markers is data: it may contain any words.
        outside = re.sub(re.escape(initramfs.KS_BEGIN) + r".*?(" + re.escape(initramfs.KS_END)
                         + r"|\Z)", "", text, flags=re.S)
        for marker, meaning in FAILURE_MARKERS.items():
            at = outside.find(marker)
            if at < 0:
                continue
            # The serial line arrives a few bytes at a time: report it whole (or what came
            # within FAILURE_LINE_GRACE_S), not cut after the marker.
            self.failure_seen_at = self.failure_seen_at or time.monotonic()
            if ("\n" not in outside[at:]
                    and time.monotonic() - self.failure_seen_at < FAILURE_LINE_GRACE_S):
                return b"", False
            line = next((ln for ln in outside.splitlines() if marker in ln), marker)
            r.failure = f"{meaning}: {line.strip()[:200]}"
            return b"", True
        keys = b""
        if not self.keys_sent:
            self.screen = Screen()
            self.screen.feed(console)
            shown = self.screen.text()
            r.menu_seen = [w for w in self.wanted if w in shown or w in text]
            r.menu_missing = [w for w in self.wanted if w not in r.menu_seen]
            if not r.menu_missing:
                if self.menu_done_at is None:
                    self.menu_done_at = time.monotonic()
                self.menu_done = True
                r.menu_screen = shown.strip("\n")
                # Keys once the menu is fully drawn (its countdown shows), so the snapshot
                # holds the whole screen and the boot loader is reading the keyboard.
                settled = any(c in shown for c in COUNTDOWN_TEXTS)
                if settled or time.monotonic() - self.menu_done_at > MENU_SETTLE_S:
                    self.keys_sent = True
                    keys = self.keys
        match = re.search(re.escape(initramfs.CMDLINE) + r" (.*?)\r?\n", text)
        if match and r.cmdline is None:
            r.cmdline = match.group(1).strip()
            words = r.cmdline.split()
            r.missing_args = [a for a in self.entry.args if a not in words]
        if self.ks_md5 is not None:
            done = re.search(re.escape(initramfs.KS_END) + r" md5=([0-9a-f]{32})", text)
            if done:
                r.kickstart_read = done.group(1) == self.ks_md5
                if not r.kickstart_read:
                    r.failure = (f"the kickstart read from the disc (md5 {done.group(1)}) "
                                 f"differs from {r.kickstart} in the image ({self.ks_md5})")
        finished = initramfs.DONE in text or r.failure is not None
        if finished:
            r.ok = (r.failure is None and self.menu_done and r.cmdline is not None
                    and not r.missing_args and (self.ks_md5 is None or r.kickstart_read))
        return keys, finished


def _run_qemu(argv: list[str], serial_sock: Path, monitor_sock: Path, timeout_s: float,
              watcher: _Watcher, console: bytearray) -> None:
    # A long-lived process the watcher talks to while it runs: Runner.run waits for the
    # exit, so QEMU is started directly, and ended here on every path (test over early,
    # timeout, an exception, Ctrl-C).
    log.info("+ %s", shlex.join(argv))
    # stderr into a file, not a pipe: nobody reads a pipe while QEMU runs, and a full
    # one would stall it.
    with tempfile.TemporaryFile() as errors:
        try:
            qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=errors)
        except FileNotFoundError as exc:
            raise ExpandError(f"command not found: {argv[0]} (install qemu-system-x86)"
                              ) from exc
        try:
            _watch(qemu, serial_sock, timeout_s, watcher, console)
        except ExpandError as exc:  # QEMU did not start: say what it said
            end_qemu(qemu, monitor_sock)
            tail = _tail(errors)
            raise ExpandError(f"{exc}: {tail}" if tail else str(exc)) from exc
        finally:
            end_qemu(qemu, monitor_sock)
        stderr = _tail(errors)
    code = qemu.returncode
    if code not in (0, -signal.SIGTERM, -signal.SIGKILL) and not watcher.result.ok:
        watcher.result.failure = watcher.result.failure or (
            f"QEMU failed (exit {code}): {stderr}")


def _tail(errors: IO[bytes]) -> str:
    errors.seek(0)
    return errors.read().decode(errors="replace").strip()[-300:]


def _watch(qemu: subprocess.Popen[bytes], serial_sock: Path, timeout_s: float,
           watcher: _Watcher, console: bytearray) -> None:
    deadline = time.monotonic() + timeout_s
    serial = _connect(serial_sock, qemu, deadline)
    try:
        finished = False
        while not finished and time.monotonic() < deadline:
            try:
                chunk = serial.recv(65536)
            except TimeoutError:
                chunk = b""
            if not chunk and qemu.poll() is not None:
                break
            console += chunk
            keys, finished = watcher.step(bytes(console))
            for key in (keys[i:i + 3] if key_is_escape else keys[i:i + 1]
                        for i, key_is_escape in _key_starts(keys)):
                time.sleep(0.3)
                serial.sendall(key)
        if not finished:
            r = watcher.result
            r.failure = r.failure or ("QEMU ended before the test finished"
                                      if qemu.poll() is not None
                                      else f"timed out after {timeout_s:.0f} s")
    finally:
        serial.close()


def end_qemu(qemu: subprocess.Popen[bytes], monitor_sock: Path) -> None:
    """Ask QEMU to quit (monitor), then SIGTERM, then SIGKILL, until it has exited."""
    if qemu.poll() is None:
        _quit(monitor_sock)
    for stop in (None, qemu.terminate, qemu.kill):
        if qemu.poll() is not None:
            break
        if stop is not None:
            with contextlib.suppress(ProcessLookupError):
                stop()
        with contextlib.suppress(subprocess.TimeoutExpired):
            qemu.wait(timeout=QUIT_GRACE_S)
    qemu.wait()  # after SIGKILL it returns at once


def _key_starts(keys: bytes) -> list[tuple[int, bool]]:
    """Offsets of each key in ``keys``: an escape sequence (3 bytes) or one byte."""
    starts, i = [], 0
    while i < len(keys):
        escape = keys[i] == 0x1B
        starts.append((i, escape))
        i += 3 if escape else 1
    return starts


def _connect(path: Path, qemu: subprocess.Popen[bytes], deadline: float) -> socket.socket:
    def attempt() -> socket.socket | None:
        if not path.exists():
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(path))
        except OSError:
            sock.close()
            return None
        sock.settimeout(0.5)
        return sock

    _, sock = poll(attempt, lambda s: s is not None or qemu.poll() is not None,
                   timeout=max(0.0, deadline - time.monotonic()), interval=0.05)
    if sock is None:
        raise ExpandError("QEMU did not start (see 'expandctl -v iso boot-test ...')")
    return sock


def _quit(monitor: Path) -> None:
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(2)
        sock.connect(str(monitor))
        sock.sendall(b"quit\n")
        time.sleep(0.2)
