"""Engineers' fleet runs: a command on one or every appliance, through the support hub.

One gateway ``Connection`` to the hub is opened before the fan-out (fabric's ``open()`` is
not thread-safe, and a shared gateway opened by many threads fails with "No existing
session"); each site is ``localhost:PORT`` reached through it (direct-tcpip), in a bounded
thread pool, each with its own connect and command timeout. Host keys are pinned on the
gateway and on every site: fabric's ``Connection`` sets AutoAddPolicy and loads no
known_hosts, so each client gets our known_hosts and ``RejectPolicy`` before it connects.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import paramiko
from fabric import Config, Connection
from invoke.exceptions import CommandTimedOut

from appliance.errors import ExpandError
from tunnel.support.fleet_registry import Site

OK, FAILED, UNREACHABLE = "ok", "failed", "unreachable"
MAX_OUTPUT_CHARS = 64 * 1024  # per stream and site, in the table and the JSON


@dataclass(frozen=True)
class Hub:
    host: str
    port: int
    user: str
    known_hosts: Path          # the hub's own host key, pinned
    identity: Path | None = None


@dataclass(frozen=True)
class SiteResult:
    site: str
    port: int
    status: str                # ok, failed or unreachable
    exit_code: int | None
    stdout: str
    stderr: str
    why: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def connect_kwargs(identity: Path | None, timeout: float) -> dict[str, Any]:
    # A box that accepts TCP and then stalls must not hold a worker past its timeout.
    kwargs: dict[str, Any] = {"banner_timeout": timeout, "auth_timeout": timeout,
                              "channel_timeout": timeout}
    if identity is not None:
        kwargs.update(key_filename=str(identity), look_for_keys=False, allow_agent=False)
    return kwargs


def pinned(conn: Connection, known_hosts: Path) -> Connection:
    """``conn`` trusting only the keys in ``known_hosts`` (replaces fabric's AutoAddPolicy)."""
    conn.client.load_host_keys(str(known_hosts))
    conn.client.set_missing_host_key_policy(paramiko.RejectPolicy())
    return conn


def no_user_config() -> Config:
    # The engineer's ~/.ssh/config must not redirect or unpin what the registry says.
    return Config(overrides={"load_ssh_configs": False})


def open_hub(hub: Hub, timeout: float) -> Connection:
    conn = pinned(Connection(hub.host, user=hub.user, port=hub.port, config=no_user_config(),
                             connect_timeout=int(timeout),
                             connect_kwargs=connect_kwargs(hub.identity, timeout)), hub.known_hosts)
    try:
        conn.open()
    except (paramiko.SSHException, OSError, EOFError) as exc:
        conn.close()
        raise ExpandError(f"support hub {hub.user}@{hub.host}:{hub.port}: "
                          f"{why(exc, 'the hub')}") from exc
    return conn


def why(exc: BaseException, where: str = "the appliance") -> str:
    """One line for a connection problem, naming a refused host key as such."""
    if isinstance(exc, paramiko.BadHostKeyException):
        return f"host key of {exc.hostname} does not match the pinned one: refused"
    if isinstance(exc, paramiko.SSHException) and "not found in known_hosts" in str(exc):
        return f"{exc}: refused (no pinned key)"
    if isinstance(exc, paramiko.ChannelException):
        return f"the hub has no tunnel on that port ({exc.text or 'open failed'})"
    if isinstance(exc, paramiko.AuthenticationException):
        return f"authentication failed (is your key on {where}?)"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


def run_on_site(gateway: Connection, site: Site, command: str, *, user: str,
                known_hosts: Path, identity: Path | None, timeout: float) -> SiteResult:
    start = time.monotonic()

    def result(status: str, code: int | None, out: str, err: str, reason: str) -> SiteResult:
        return SiteResult(site.site, site.port, status, code, out[-MAX_OUTPUT_CHARS:],
                          err[-MAX_OUTPUT_CHARS:], reason, round(time.monotonic() - start, 3))

    conn = pinned(Connection("localhost", user=user, port=site.port, gateway=gateway,
                             config=no_user_config(), connect_timeout=int(timeout),
                             connect_kwargs=connect_kwargs(identity, timeout)), known_hosts)
    try:
        conn.open()
    except (paramiko.SSHException, OSError, EOFError) as exc:
        conn.close()
        return result(UNREACHABLE, None, "", "", why(exc))
    try:
        ran = conn.run(command, hide=True, warn=True, timeout=timeout, in_stream=False)
    except CommandTimedOut:
        return result(FAILED, None, "", "", f"timed out after {timeout:g} s")
    except (paramiko.SSHException, OSError, EOFError) as exc:
        return result(UNREACHABLE, None, "", "", why(exc))
    finally:
        conn.close()
    code = int(ran.exited)
    return result(OK if code == 0 else FAILED, code, ran.stdout, ran.stderr,
                  "" if code == 0 else f"exit {code}")


def run_everywhere(hub: Hub, sites: Sequence[Site], command: str, *, user: str,
                   known_hosts: Path, timeout: float = 30, workers: int = 8,
                   on_done: Callable[[SiteResult], None] | None = None) -> list[SiteResult]:
    """``command`` on every site, at most ``workers`` at a time; results in site order.

    Raises ExpandError only when the hub itself cannot be reached (then no site can be)."""
    if not sites:
        return []
    gateway = open_hub(hub, timeout)
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(sites)))) as pool:
            futures = [pool.submit(run_on_site, gateway, site, command, user=user,
                                   known_hosts=known_hosts, identity=hub.identity,
                                   timeout=timeout) for site in sites]
            results = []
            for future in futures:
                done = future.result()
                if on_done is not None:
                    on_done(done)
                results.append(done)
            return results
    finally:
        gateway.close()
