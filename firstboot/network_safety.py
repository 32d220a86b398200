"""The network safety net of an interactive, live first boot.

Before the apply, the network configuration files (and first boot's own state files)
are copied into memory. After it, the
new address must be up and the gateway must answer; then the technician must confirm
within a time limit. Otherwise the old files come back (through the FileSink) and the
network is restarted with them (through the Runner): a typo cannot lock the box out.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.platform import FAMILIES
from appliance.runner import Runner
from firstboot import paths

log = logging.getLogger("expand.firstboot")

CONFIRM_SECONDS = 60
PING_TRIES = 3

# What the network step may change, per backend (files, or folders taken whole): the
# platform table's.
NETWORK_PATHS = {p.network_backend: p.network_paths for p in FAMILIES.values()}
# First boot's own state goes back too: the journal (so a rerun applies again), the
# sentinel and the unit link (so the wizard comes back at the next boot), answers, report.
FIRSTBOOT_STATE = (paths.JOURNAL, paths.REPORT, paths.ANSWERS, paths.SENTINEL,
                   paths.UNIT_WANTS_LINK)
RESTART = {p.network_backend: p.network_restart for p in FAMILIES.values()}


@dataclass(frozen=True)
class SavedFile:
    content: bytes
    mode: int
    link: str | None = None  # a symlink's target (then content and mode are unused)


@dataclass(frozen=True)
class Snapshot:
    """The network files as they were: target path -> content and mode."""

    roots: tuple[str, ...]
    files: dict[str, SavedFile]


def _files_under(sink: FileSink, roots: Iterable[str]) -> list[str]:
    found: list[str] = []
    for target in roots:
        host = sink.target(target)
        if host.is_file() or host.is_symlink():
            found.append(target)
        elif host.is_dir():
            for dirpath, _, names in os.walk(host):
                for name in sorted(names):
                    rel = Path(dirpath, name).relative_to(sink.root)
                    found.append("/" + rel.as_posix())
    return sorted(found)


def take_snapshot(sink: FileSink, backend: str) -> Snapshot:
    roots = (*NETWORK_PATHS[backend], *FIRSTBOOT_STATE)
    files = {}
    for path in _files_under(sink, roots):
        host = sink.target(path)
        if host.is_symlink():
            files[path] = SavedFile(b"", 0, link=os.readlink(host))
        else:
            files[path] = SavedFile(host.read_bytes(), host.stat().st_mode & 0o7777)
    return Snapshot(roots, files)


def restore(sink: FileSink, snapshot: Snapshot) -> list[str]:
    """Put every saved file back and remove files that were not there; returns what changed."""
    changed: list[str] = []
    for path in _files_under(sink, snapshot.roots):
        if path not in snapshot.files and sink.remove(path):
            changed.append(path)
    for path, saved in sorted(snapshot.files.items()):
        if saved.link is not None:
            now = sink.target(path)
            if now.exists() and not now.is_symlink():
                sink.remove(path)
            done = sink.symlink(path, saved.link)
        else:
            if sink.target(path).is_symlink():
                sink.remove(path)  # write() would follow the link
            done = sink.write(path, saved.content, mode=saved.mode)
        if done:
            changed.append(path)
    return changed


def restart_network(runner: Runner, backend: str) -> None:
    for argv in RESTART[backend]:
        runner.run(argv, timeout=60)


def address_is_up(runner: Runner, address: IPv4Address) -> bool:
    result = runner.run(["ip", "-j", "-4", "addr", "show"], check=False)
    try:
        links = json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        return False
    return any(info.get("local") == str(address)
               for link in links if isinstance(link, dict)
               for info in link.get("addr_info", []))


def gateway_answers(runner: Runner, gateway: IPv4Address) -> bool:
    for _ in range(PING_TRIES):
        result = runner.run(["ping", "-c", "1", "-W", "1", "-n", str(gateway)], check=False)
        if result.returncode == 0:
            return True
    return False


def network_problem(runner: Runner, address: IPv4Address, gateway: IPv4Address) -> str | None:
    """Why the new network is not usable, or None when it is."""
    if not address_is_up(runner, address):
        return f"the address {address} is not up"
    if not gateway_answers(runner, gateway):
        return f"the gateway {gateway} does not answer ping"
    return None


Confirm = Callable[[str, int], bool]  # (question, seconds) -> kept


@dataclass
class SafetyNet:
    """Snapshot before apply; ``verify`` after it keeps or rolls back the network files."""

    sink: FileSink
    runner: Runner
    backend: str
    seconds: int = CONFIRM_SECONDS
    snapshot: Snapshot | None = None

    def save(self) -> None:
        self.snapshot = take_snapshot(self.sink, self.backend)

    def verify(self, address: IPv4Address, gateway: IPv4Address, confirm: Confirm) -> str | None:
        """None when the new network is kept; otherwise why it was rolled back."""
        if self.snapshot is None:
            raise ExpandError("network safety net: no snapshot taken before the apply")
        problem = network_problem(self.runner, address, gateway)
        if problem is None:
            question = (f"Network is up at {address}. Keep this configuration?\n\n"
                        f"Without an answer the previous configuration comes back in "
                        f"{self.seconds} s.")
        else:
            question = (f"The new network does not work: {problem}.\n\nKeep this "
                        f"configuration anyway? Without an answer the previous one comes "
                        f"back in {self.seconds} s.")
        if confirm(question, self.seconds):
            log.info("network configuration kept (%s)", problem or "checks passed")
            return None
        reason = problem or f"not confirmed within {self.seconds} s"
        changed = restore(self.sink, self.snapshot)
        log.warning("network rolled back (%s): restored %s", reason, ", ".join(changed) or "-")
        restart_network(self.runner, self.backend)
        return reason
