"""Drive a real text UI (``dialog``) under a private tmux server, and helpers for the
first-boot wizard tests: a network namespace that looks DHCP-configured, tree hashing.

``TmuxTUI`` is reusable for any TUI: start a command on an 80x25 pane, wait until some text
is shown and the screen has settled, type, press keys, read the exit code.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Self

POLL_S = 0.05
STILL_S = 0.3
# Box drawing (U+2500-U+257F) and block elements (U+2580-U+259F): borders and shadows.
_BOX = re.compile("[\u2500-\u259f]")


def normalize(text: str) -> str:
    """Screen text without borders, whitespace collapsed: dialog wraps text where it likes."""
    return " ".join(_BOX.sub(" ", text).split())


class TUIError(AssertionError):
    pass


class TmuxTUI:
    """One command on a private tmux server (``tmux -L <unique>``), 80x25 by default."""

    def __init__(self, command: str, workdir: Path, *, width: int = 80, height: int = 25,
                 env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.name = f"tui-{uuid.uuid4().hex[:10]}"
        self.command = command
        self.workdir = workdir  # holds the exit code and stderr files
        self.cwd = cwd or workdir
        self.width, self.height = width, height
        self.env = {"ESCDELAY": "25", "LANG": "C.UTF-8", **(env or {})}
        self.rc_file = workdir / f"{self.name}.rc"
        self.err_file = workdir / f"{self.name}.err"  # the command's stderr, for failures
        self.last = ""

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", self.name, *args], capture_output=True,
                              text=True, check=check)

    def start(self) -> Self:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        err = shlex.quote(str(self.err_file))
        shell = f"env {env} {self.command} 2>{err}; echo $? > {shlex.quote(str(self.rc_file))}"
        self._tmux("-f", "/dev/null", "new-session", "-d", "-x", str(self.width),
                   "-y", str(self.height), "-c", str(self.cwd), shell)
        return self

    def close(self) -> None:
        self._tmux("kill-server", check=False)
        deadline = time.monotonic() + 10
        while self._tmux("has-session", check=False).returncode == 0:
            if time.monotonic() > deadline:
                raise TUIError(f"tmux server {self.name} did not go away")
            time.sleep(POLL_S)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def capture(self) -> str:
        proc = self._tmux("capture-pane", "-p", "-J", check=False)
        return proc.stdout if proc.returncode == 0 else ""

    def wait_for(self, expected: str, timeout: float = 15.0) -> str:
        """Wait until ``expected`` (normalized) is on screen and the screen is still."""
        want = normalize(expected)
        deadline = time.monotonic() + timeout
        seen_at: float | None = None
        previous = None
        while time.monotonic() < deadline:
            screen = self.capture()
            self.last = screen
            if want in normalize(screen):
                if screen != previous:
                    seen_at = time.monotonic()
                elif seen_at is not None and time.monotonic() - seen_at >= STILL_S:
                    return normalize(screen)
            else:
                seen_at = None
            previous = screen
            if self.rc_file.exists() and want not in normalize(screen):
                break
            time.sleep(POLL_S)
        raise TUIError(f"not shown within {timeout} s: {expected!r}\n--- screen ---\n"
                       f"{self.last}\n--- {self.describe_exit()}")

    def stderr(self) -> str:
        return self.err_file.read_text() if self.err_file.exists() else ""

    def describe_exit(self) -> str:
        code = self.rc_file.read_text().strip() if self.rc_file.exists() else "running"
        return f"exit code: {code}\n--- stderr ---\n{self.stderr()[-3000:]}"

    def keys(self, *keys: str) -> None:
        """tmux key names: Enter, Escape, Down, Tab, C-u..."""
        self._tmux("send-keys", *keys)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-l", text)

    def wait_exit(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.rc_file.exists() and self.rc_file.read_text().strip():
                return int(self.rc_file.read_text().strip())
            time.sleep(POLL_S)
        raise TUIError(f"did not exit within {timeout} s\n--- screen ---\n{self.capture()}\n"
                       f"--- {self.describe_exit()}")


class DialogDriver(TmuxTUI):
    """``TmuxTUI`` with the moves of dialog's widgets."""

    def answer(self, prompt: str, value: str | None = None, timeout: float = 15.0) -> str:
        """Wait for an input box showing ``prompt``; replace its text (unless None); OK."""
        screen = self.wait_for(prompt, timeout)
        if value is not None:
            self.keys("C-u")
            if value:
                self.type(value)
        self.keys("Enter")
        return screen

    def password(self, prompt: str, value: str) -> None:
        self.wait_for(prompt)
        self.type(value)
        self.keys("Enter")

    def ok(self, text: str, timeout: float = 15.0) -> str:
        """A message or yes/no box: wait for ``text`` and press Enter (OK / Yes)."""
        screen = self.wait_for(text, timeout)
        self.keys("Enter")
        return screen

    def no(self, text: str) -> str:
        """A yes/no box: choose No."""
        screen = self.wait_for(text)
        self.keys("Tab", "Enter")
        return screen


def tree_digest(root: Path) -> str:
    """Hash of every path, mode and content below ``root``: equal means untouched."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = Path(dirpath, name)
            st = path.lstat()
            digest.update(f"{path.relative_to(root)}\0{st.st_mode:o}\0".encode())
            if path.is_file() and not path.is_symlink():
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@contextlib.contextmanager
def dhcp_like_netns(address: str = "198.51.100.37/24", gateway: str = "198.51.100.1",
                    dns: str = "198.51.100.53") -> Iterator[str]:
    """A network namespace whose eth0 holds a lease-like (dynamic) address, a default route
    and a resolv.conf (``ip netns exec`` binds /etc/netns/NS/resolv.conf): what a freshly
    installed box sees after DHCP. Real ``ip`` output, test addresses only."""
    name = f"wiz-{uuid.uuid4().hex[:8]}"
    etc = Path("/etc/netns") / name
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        # No dummy module on this kernel: a veth pair gives two NICs with carrier.
        _ip("-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
        for nic in ("eth0", "eth1"):
            _ip("-n", name, "link", "set", nic, "up")
        _ip("-n", name, "addr", "add", address, "dev", "eth0",
            "valid_lft", "3600", "preferred_lft", "3600")
        _ip("-n", name, "route", "add", "default", "via", gateway, "dev", "eth0")
        etc.mkdir(parents=True)
        (etc / "resolv.conf").write_text(f"nameserver {dns}\n")
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False, capture_output=True)
        with contextlib.suppress(FileNotFoundError):
            (etc / "resolv.conf").unlink()
        with contextlib.suppress(OSError):
            etc.rmdir()
        with contextlib.suppress(OSError):
            etc.parent.rmdir()  # only if no other namespace uses it
