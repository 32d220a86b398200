"""One connection to the hub: connect, pin, authenticate, open the forward, keep it alive.

The order matters: the hub's host key is checked right after the key exchange, before the
user name or the appliance's key is sent, so a hub that is not the pinned one learns
nothing. Liveness is ours: a ``keepalive@openssh.com`` request that wants a reply, with a
deadline; ``misses`` unanswered deadlines in a row end the session (paramiko's own
keepalive wants no reply and never notices a dead hub).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable

import paramiko

from appliance.errors import ExpandError
from appliance.wait import poll
from tunnel.bridge import make_handler
from tunnel.classify import DebugCollector, Refusal, classify
from tunnel.config import TunnelConfig
from tunnel.pinning import check_host_key, key_algorithms
from tunnel.requests import RequestSlot

log = logging.getLogger("expand.tunnel")
FORWARD_ADDRESS = "localhost"  # permitlisten matches the literal name, not 127.0.0.1
RECLAIM_COMMAND = "claim"      # the hub key line's forced command runs whatever is asked
RECLAIM_SETTLE_S = 3.0         # how long the freed port may take to be free on the hub
OUTPUT_LIMIT = 2048
REST_STEP_S = 0.1


class SessionLost(ExpandError):
    """The session ended: the hub closed it, or stopped answering."""


class ForwardRefused(ExpandError):
    def __init__(self, refusal: Refusal, message: str) -> None:
        self.refusal = refusal
        super().__init__(message)


def tcp_socket(config: TunnelConfig) -> socket.socket:
    """The connected socket paramiko gets: TCP_USER_TIMEOUT bounds how long sent data may
    stay unacknowledged before the kernel drops the connection (else ~15 minutes)."""
    sock = socket.create_connection((config.hub_host, config.hub_port),
                                    timeout=config.connect_timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT,
                    int(config.tcp_user_timeout * 1000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class Session:
    def __init__(self, config: TunnelConfig, key: paramiko.PKey,
                 pinned: list[paramiko.PKey], collector: DebugCollector,
                 log_channel: str) -> None:
        self.config = config
        self.key = key
        self.pinned = pinned
        self.collector = collector
        self.log_channel = log_channel
        self.transport: paramiko.Transport | None = None
        self.slot = RequestSlot()
        self.reclaimed = False

    # -- opening -------------------------------------------------------------------------
    def open(self) -> None:
        cfg = self.config
        transport = paramiko.Transport(tcp_socket(cfg))
        self.transport = transport
        transport.set_log_channel(self.log_channel)
        transport.banner_timeout = cfg.connect_timeout
        transport.handshake_timeout = cfg.connect_timeout
        transport.auth_timeout = cfg.connect_timeout
        transport.get_security_options().key_types = key_algorithms(self.pinned)
        transport.start_client(timeout=cfg.connect_timeout)
        check_host_key(transport.get_remote_server_key(), self.pinned, cfg.host_key_name)
        transport.auth_publickey(cfg.hub_user, self.key)
        self.open_forward()

    def _request_forward(self) -> None:
        """``tcpip-forward`` for localhost:PORT, under the deadline; ForwardRefused."""
        transport = self._active()
        self.collector.take()  # only the debug texts sent with this refusal count
        handler = make_handler(self.config.sshd_host, self.config.sshd_port, log)
        pending = self.slot.start(
            lambda: transport.request_port_forward(FORWARD_ADDRESS, self.config.forward_port,
                                                   handler), "tunnel-forward")
        if not pending.wait(self.config.connect_timeout):
            raise SessionLost(f"the hub did not answer the forward request in "
                              f"{self.config.connect_timeout:g} s")
        if isinstance(pending.error, paramiko.SSHException) and transport.is_active():
            refusal = classify(self.collector.take())
            raise ForwardRefused(refusal, self._refusal_text(refusal))
        if pending.error is not None:
            raise SessionLost(f"the forward request failed: {pending.error}")

    def _refusal_text(self, refusal: Refusal) -> str:
        where = f"localhost:{self.config.forward_port} on hub {self.config.hub}"
        if refusal is Refusal.POLICY:
            return f"the hub refuses the forward {where} by policy (its key line or sshd_config)"
        return f"the port of the forward {where} is held (a stale session?)"

    def open_forward(self) -> None:
        """The forward, after the hub's claim (the key line's forced command: it ends an
        older session of this key still holding the port, and records this one so the
        next claim can find it). A port still held is claimed again, then asked for again
        at once, for up to RECLAIM_SETTLE_S."""
        self.claim()
        try:
            self._request_forward()
            return
        except ForwardRefused as exc:
            if exc.refusal is Refusal.POLICY:
                raise
        log.warning("forward port %s held on the hub: ending the stale session",
                    self.config.forward_port)
        self.claim()
        self.reclaimed = True
        last: list[ForwardRefused] = []

        def attempt() -> bool:
            try:
                self._request_forward()
            except ForwardRefused as exc:
                if exc.refusal is Refusal.POLICY:
                    raise
                last[:] = [exc]
                return False
            return True

        ok, _ = poll(attempt, bool, timeout=RECLAIM_SETTLE_S, interval=0.1)
        if not ok:
            raise last[0] if last else SessionLost("the forward was not opened")

    def claim(self) -> None:
        """Run the hub's reclaim command (a session exec; its one line goes to the log).
        A failing claim is logged, not fatal: the forward request says whether it matters."""
        transport = self._active()
        try:
            channel = transport.open_session(timeout=self.config.connect_timeout)
        except paramiko.ChannelException as exc:  # a hub that allows no session at all
            log.warning("hub claim not run: the hub refused a session (%s)", exc)
            return
        try:
            channel.settimeout(self.config.connect_timeout)
            channel.exec_command(RECLAIM_COMMAND)
            if not channel.status_event.wait(self.config.connect_timeout):
                raise SessionLost("the hub's reclaim command did not finish in "
                                  f"{self.config.connect_timeout:g} s")
            status = channel.recv_exit_status()
            output = b""
            while channel.recv_ready() and len(output) < OUTPUT_LIMIT:
                output += channel.recv(OUTPUT_LIMIT)
            while channel.recv_stderr_ready() and len(output) < 2 * OUTPUT_LIMIT:
                output += channel.recv_stderr(OUTPUT_LIMIT)
        finally:
            channel.close()
        text = " ".join(output.decode(errors="replace").split())[:300]
        if "ended" in text:
            self.reclaimed = True
        (log.info if status == 0 else log.warning)("hub claim exited %s: %s", status, text)

    # -- keeping it alive ------------------------------------------------------------------
    def watch(self, stop: threading.Event, keep_going: Callable[[], bool],
              verified: Callable[[], None]) -> str:
        """Probe until stopped, ``keep_going()`` is False (returns why), or the hub is
        lost (SessionLost). ``verified`` is called on every answered probe."""
        cfg = self.config
        misses = 0
        started = time.monotonic()
        while not stop.is_set():
            if not keep_going():
                return "the support window closed"
            transport = self._active()
            pending = self.slot.pending
            if pending is None or pending.done:
                started = time.monotonic()
                pending = self.slot.start(self._keepalive(transport), "tunnel-keepalive")
            if pending.wait(cfg.keepalive_deadline) and transport.is_active():
                misses = 0
                verified()
                self._rest(stop, transport, started + cfg.keepalive_interval)
                continue
            self._active()
            misses += 1
            log.warning("hub %s: keepalive %d/%d unanswered after %g s", cfg.hub, misses,
                        cfg.keepalive_misses, cfg.keepalive_deadline)
            if misses >= cfg.keepalive_misses:
                raise SessionLost(f"the hub did not answer {misses} keepalive probes "
                                  f"({misses * cfg.keepalive_deadline:g} s)")
        return "stopped"

    @staticmethod
    def _rest(stop: threading.Event, transport: paramiko.Transport, until: float) -> None:
        """Wait for the next probe, but notice at once a hub that closed the connection
        (a restart): the next cycle then starts within a tenth of a second."""
        while not stop.is_set() and transport.is_active():
            left = until - time.monotonic()
            if left <= 0:
                return
            stop.wait(min(REST_STEP_S, left))

    @staticmethod
    def _keepalive(transport: paramiko.Transport) -> Callable[[], object]:
        return lambda: transport.global_request("keepalive@openssh.com", wait=True)

    def _active(self) -> paramiko.Transport:
        transport = self.transport
        if transport is None or not transport.is_active():
            raise SessionLost("the hub closed the connection")
        return transport

    def close(self) -> None:
        if self.transport is not None:
            with contextlib.suppress(Exception):
                self.transport.close()
