"""The tunnel daemon: keep the reverse forward open while the support window is open.

Each cycle reads the window, opens a session (tunnel.session) and watches it until it is
lost, then waits a jittered backoff (0.5 s doubling to 30 s; reset by a session that
worked). Alerts - the hub's host key is not the pinned one, or the hub refuses the forward
by policy - retry only every ``policy-retry`` seconds: retrying faster cannot fix them.
The state file says what it is doing; systemd's watchdog is fed only on a verified forward
(an answered keepalive) and while the window is closed (nothing to verify then).
"""

from __future__ import annotations

import io
import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import paramiko

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.readers import read_text
from tunnel import state as st
from tunnel.backoff import Backoff
from tunnel.classify import Refusal, attach
from tunnel.config import TunnelConfig
from tunnel.pinning import HostKeyRefused, pinned_keys
from tunnel.sdnotify import notify
from tunnel.session import ForwardRefused, Session
from tunnel.window import Window, read_window, write_window

log = logging.getLogger("expand.tunnel")
LOG_CHANNEL = "expand.tunnel.paramiko"
WINDOW_POLL_S = 1.0
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def load_key(path: str) -> paramiko.PKey:
    """The appliance's private key (never logged); ExpandError naming the file."""
    text = read_text(Path(path), what="tunnel key", max_bytes=16384)
    try:
        return paramiko.Ed25519Key.from_private_key(io.StringIO(text))
    except (paramiko.SSHException, ValueError) as exc:
        raise ExpandError(f"{path}: not an unencrypted OpenSSH ed25519 private key "
                          f"({type(exc).__name__})") from None


class Daemon:
    def __init__(self, config: TunnelConfig, *, clock: Clock = utc_now,
                 sink: FileSink | None = None,
                 notifier: Callable[[str], bool] = notify) -> None:
        self.config = config
        self.clock = clock
        self.sink = sink or FileSink(Path("/"))
        self.notify = notifier
        self.backoff = Backoff()
        self.collector = attach(LOG_CHANNEL, log)
        self.state = st.TunnelState(st.STARTING, config.hub, config.forward_port,
                                    pid=os.getpid())
        self._ready = False

    def set_state(self, name: str, **changes: object) -> None:
        window = self.window().as_dict(self.clock())
        new = self.state.with_(state=name, support_window=window, **changes)
        if new != self.state:
            if new.state != self.state.state:
                log.info("tunnel %s%s", name, f": {new.last_error}" if new.last_error and
                         name != st.CONNECTED else "")
            self.state = new
            st.write_state(self.sink, self.config.state, new)
            self.notify(f"STATUS=tunnel {name}")

    def window(self) -> Window:
        try:
            return read_window(self.config.window)
        except ExpandError as exc:  # an unreadable window is a closed one
            log.warning("%s", exc)
            return Window(False)

    def window_open(self) -> bool:
        return self.window().is_open(self.clock())

    def close_window_keys(self) -> None:
        """A window that ran out: the engineers' keys go too (sshd's expiry-time already
        refuses them; this leaves no key behind in the file)."""
        window = self.window()
        if window.enabled and window.until and not window.is_open(self.clock()):
            write_window(Window(False), self.config.window, self.config.engineers,
                         self.config.engineers_authorized_keys, self.clock(), self.sink)

    def verified(self) -> None:
        if not self._ready:
            self.notify("READY=1")
            self._ready = True
        self.notify("WATCHDOG=1")

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if not self.window_open():
                self.close_window_keys()
                self.set_state(st.WINDOW_CLOSED, connected_since=None)
                self.notify("WATCHDOG=1")  # idle on purpose: nothing to verify
                stop.wait(WINDOW_POLL_S)
                continue
            delay = self.cycle(stop)
            self.wait(stop, delay)
        self.set_state(st.STOPPED, connected_since=None)

    def wait(self, stop: threading.Event, delay: float) -> None:
        """Wait ``delay`` seconds; a window closed meanwhile ends the wait."""
        waited = 0.0
        while waited < delay and not stop.is_set() and self.window_open():
            step = min(WINDOW_POLL_S, delay - waited)
            stop.wait(step)
            waited += step

    def cycle(self, stop: threading.Event) -> float:
        """One session, from connecting to its loss; returns the wait before the next."""
        cfg = self.config
        self.set_state(st.CONNECTING, connected_since=None)
        session: Session | None = None
        try:
            pinned = pinned_keys(cfg.known_hosts, cfg.host_key_name)
            session = Session(cfg, load_key(cfg.key), pinned, self.collector, LOG_CHANNEL)
            session.open()
            self.backoff.reset()
            self.set_state(st.CONNECTED, connected_since=self.clock().isoformat(),
                           last_error=None, sessions=self.state.sessions + 1,
                           reclaims=self.state.reclaims + int(session.reclaimed))
            self.verified()
            why = session.watch(stop, self.window_open, self.verified)
            self.set_state(st.BACKOFF, connected_since=None, last_error=why)
            return 0.0 if why == "stopped" else self.backoff.next_delay()
        except HostKeyRefused as exc:
            log.error("%s", exc)
            self.set_state(st.REFUSED_HOST_KEY, connected_since=None, last_error=str(exc))
            return cfg.policy_retry
        except ForwardRefused as exc:
            if exc.refusal is Refusal.POLICY:
                log.error("%s", exc)
                self.set_state(st.REFUSED_POLICY, connected_since=None, last_error=str(exc))
                return cfg.policy_retry
            return self.failed(str(exc))
        except paramiko.AuthenticationException as exc:
            return self.failed(f"the hub refused this appliance's key ({exc})")
        except (OSError, EOFError, paramiko.SSHException, ExpandError) as exc:
            return self.failed(str(exc) or type(exc).__name__)
        finally:
            if session is not None:
                session.close()

    def failed(self, why: str) -> float:
        delay = self.backoff.next_delay()
        self.set_state(st.BACKOFF, connected_since=None,
                       last_error=f"{why} (retry in {delay:.1f} s)")
        return delay
