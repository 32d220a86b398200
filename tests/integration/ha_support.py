"""Helpers for the HA integration tests: the heavy lock, the lab, and probes from the client."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from appliance.runner import Runner
from lab import netns
from tests.support import heavy_lock, require_tools

EXPANDCTL = str(Path(sys.executable).parent / "expandctl")
VIP = IPv4Address("198.51.100.100")
NODES = ("expand1", "expand2")


def require_cluster_tools() -> None:
    require_tools("corosync", "pacemakerd", "pcs", "crm_mon", "nsenter", "ping")


@contextmanager
def lab_up(*args: str, timeout: float = 180) -> Iterator[None]:
    """A lab for a whole test module, under the heavy lock, always torn down."""
    require_cluster_tools()
    with heavy_lock():
        expandctl("lab", "down", check=False)
        try:
            expandctl("lab", "up", *args, timeout=timeout)
            yield
        finally:
            expandctl("lab", "down", check=False)


def expandctl(*args: str, check: bool = True,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([EXPANDCTL, *args], capture_output=True, text=True, timeout=timeout,
                          check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"expandctl {' '.join(args)} exited {proc.returncode}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def ha_json(node: str, *args: str, program: str = EXPANDCTL) -> dict[str, Any]:
    """``expandctl ha ARGS --json`` inside a lab node (``program="expandctl"``: the node's
    own, in appliance nodes). ``ha check`` exits 1 when a check fails: the JSON is what
    the tests look at."""
    proc = expandctl("lab", "exec", node, "--", program, "ha", *args, "--json", check=False)
    assert proc.stdout.strip(), f"no JSON from ha {' '.join(args)}: {proc.stderr}"
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def online_nodes(node: str) -> set[str]:
    """The nodes ``node`` sees online; none while it cannot answer for the cluster (it is
    booting or joining: ``ha status`` exits 3 or 4 then)."""
    proc = expandctl("lab", "exec", node, "--", EXPANDCTL, "ha", "status", "--json",
                     check=False)
    if proc.returncode in (3, 4):
        return set()
    assert proc.returncode == 0, proc.stderr
    return {n["name"] for n in json.loads(proc.stdout)["nodes"] if n["state"] == "online"}


def vip_holders() -> list[str]:
    runner = Runner()
    return [n for n in NODES if VIP in netns.addresses(runner, f"{netns.PREFIX}-{n}")]


def client_ping(address: IPv4Address = VIP) -> bool:
    proc = subprocess.run(["ip", "netns", "exec", netns.CLIENT_NS, "ping", "-c1", "-W1",
                           "-q", str(address)], capture_output=True, check=False)
    return proc.returncode == 0


def client_tcp(address: IPv4Address = VIP, port: int = 5060) -> str | None:
    """The service's banner ('expand-lab NODE') seen from the client namespace, or None."""
    code = ("import socket,sys\ntry:\n"
            " s=socket.create_connection((sys.argv[1],int(sys.argv[2])),1)\n"
            " print(s.recv(100).decode().strip())\nexcept OSError:\n sys.exit(1)\n")
    proc = subprocess.run(["ip", "netns", "exec", netns.CLIENT_NS, sys.executable, "-c", code,
                           str(address), str(port)], capture_output=True, text=True,
                          check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 30,
             poll: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class VipWatcher:
    """Samples both nodes' addresses in a thread; records any moment with two VIP holders."""

    def __init__(self) -> None:
        self.samples = 0
        self.double: list[float] = []
        self.history: list[tuple[float, tuple[str, ...]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._start = time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set():
            holders = tuple(vip_holders())
            self.samples += 1
            at = round(time.monotonic() - self._start, 2)
            if len(holders) > 1:
                self.double.append(at)
            if not self.history or self.history[-1][1] != holders:
                self.history.append((at, holders))

    def __enter__(self) -> VipWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

