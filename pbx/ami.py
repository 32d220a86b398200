"""A minimal Asterisk Manager Interface client over loopback TCP: log in, collect events.

Enough for tests and the demo to follow the path a call took: render_dialplan.py sends a
``UserEvent(Expand...)`` at every decision, and app_queue says which member answered
(``AgentConnect``). A reader thread keeps every event (a dict of its headers) in order;
``wait_for`` polls them. The secret is sent once, in the Login action, and never kept in a
message or a repr.
"""

from __future__ import annotations

import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from appliance.errors import ExpandError
from appliance.wait import poll

Event = dict[str, str]
USER = "expand-test"


def manager_conf(user: str, secret: str) -> str:
    """A manager.conf with one read-mostly user; the throwaway rebinds it to loopback."""
    return ("[general]\nenabled = yes\nport = 5038\nbindaddr = 127.0.0.1\n"
            "displayconnects = no\n\n"
            f"[{user}]\nsecret = {secret}\ndeny = 0.0.0.0/0.0.0.0\n"
            "permit = 127.0.0.1/255.255.255.255\n"
            "read = system,call,agent,user,dialplan\nwrite = system,call,originate\n")


def new_secret() -> str:
    return secrets.token_urlsafe(18)


@dataclass
class Ami:
    sock: socket.socket
    events: list[Event] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _buffer: bytes = b""

    def _blocks(self) -> Iterator[Event]:
        while True:
            while b"\r\n\r\n" not in self._buffer:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
                self._buffer += chunk
            block, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
            message: Event = {}
            for line in block.decode(errors="replace").split("\r\n"):
                key, sep, value = line.partition(":")
                if sep:
                    message.setdefault(key.strip(), value.strip())
            yield message

    def _read_forever(self) -> None:
        try:
            for message in self._blocks():
                if "Event" in message:
                    with self._lock:
                        self.events.append(message)
        except OSError:
            return

    def snapshot(self, match: Callable[[Event], bool] = lambda e: True) -> list[Event]:
        with self._lock:
            return [e for e in self.events if match(e)]

    def wait_for(self, match: Callable[[Event], bool], count: int = 1,
                 timeout: float = 20) -> list[Event]:
        """The events ``match`` accepts, once there are ``count``; ExpandError after
        ``timeout`` s naming what came (the Expand user events)."""
        reached, found = poll(lambda: self.snapshot(match), lambda f: len(f) >= count,
                              timeout=timeout, interval=0.1)
        if not reached:
            seen = [e.get("UserEvent", e.get("Event", "?")) for e in self.snapshot()
                    if e.get("Event") in ("UserEvent", "AgentConnect")]
            raise ExpandError(f"AMI: {len(found)} of {count} awaited events in {timeout:.0f} s"
                              f" (seen: {', '.join(seen[-30:]) or 'none'})")
        return found


def user_event(name: str, **headers: str) -> Callable[[Event], bool]:
    """Matches ``UserEvent: name`` whose headers include ``headers`` (lower-case keys)."""
    def match(event: Event) -> bool:
        if event.get("Event") != "UserEvent" or event.get("UserEvent") != name:
            return False
        lowered = {k.lower(): v for k, v in event.items()}
        return all(lowered.get(k.lower()) == v for k, v in headers.items())
    return match


@contextmanager
def connected(address: tuple[str, int], user: str, secret: str,
              timeout: float = 10) -> Iterator[Ami]:
    """Logged in to AMI at ``address`` (loopback), events collected until the block ends."""
    try:
        sock = socket.create_connection(address, timeout=timeout)
    except OSError as error:
        raise ExpandError(f"AMI {address[0]}:{address[1]}: {error.strerror or error}") \
            from None
    try:
        banner = sock.recv(1024)
        if not banner.startswith(b"Asterisk Call Manager"):
            raise ExpandError(f"AMI {address[0]}:{address[1]}: not an Asterisk manager")
        ami = Ami(sock)
        sock.sendall((f"Action: Login\r\nUsername: {user}\r\nSecret: {secret}\r\n"
                      "Events: on\r\n\r\n").encode())
        reply = next(ami._blocks(), {})
        if reply.get("Response") != "Success":
            raise ExpandError(f"AMI login as {user}: {reply.get('Message', 'refused')}")
        sock.settimeout(None)
        reader = threading.Thread(target=ami._read_forever, daemon=True)
        reader.start()
        yield ami
    finally:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
