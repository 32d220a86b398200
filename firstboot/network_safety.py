"""The network safety net: the new network is confirmed right after the network step.

``NetworkConfirmation`` is a step hook of the engine. Before the network step writes, the
network files (and first boot's own state: the journal, so a rerun applies the network step
again) are saved to disk (``paths.NETWORK_SNAPSHOT``, 0600). After the step, on this system
the new address must be up and the gateway must answer; then the technician must confirm
within a time limit. Otherwise the old files come back (through the FileSink), the network is
restarted with them (through the Runner) and the apply stops there, before postfix, the
cluster or anything else ran on the new network: a typo cannot lock the box out. A snapshot
still on disk at the start of a run means the last one was cut (power loss, kill) during its
confirmation: ``recover`` restores that network before anything else.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.platform import FAMILIES
from appliance.runner import Runner
from appliance.wait import poll
from firstboot import paths

if TYPE_CHECKING:
    from firstboot.engine import StepOutcome
    from firstboot.steps import Context, Step

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
RESTART = {p.network_backend: p.network_rollback for p in FAMILIES.values()}


NETWORK_STEP = "network"  # the step whose result is confirmed (its journal name)
SNAPSHOT_VERSION = 1
SNAPSHOT_MAX_BYTES = 8 << 20  # network files are small: anything bigger is not ours
SETTLE_SECONDS = 15.0


@dataclass(frozen=True)
class SavedFile:
    content: bytes
    mode: int
    link: str | None = None  # a symlink's target (then content and mode are unused)


@dataclass(frozen=True)
class Snapshot:
    """The network files as they were: target path -> content and mode."""

    backend: str
    roots: tuple[str, ...]
    files: dict[str, SavedFile]

    def to_json(self) -> str:
        files = {path: {"mode": saved.mode, "link": saved.link,
                        "content": base64.b64encode(saved.content).decode()}
                 for path, saved in sorted(self.files.items())}
        return json.dumps({"version": SNAPSHOT_VERSION, "backend": self.backend,
                           "roots": list(self.roots), "files": files}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Snapshot:
        """Raises ValueError (or KeyError, TypeError) on anything but a snapshot we wrote."""
        data = json.loads(text)
        if data["version"] != SNAPSHOT_VERSION:
            raise ValueError(f"version {data['version']!r}")
        backend = data["backend"]
        if backend not in RESTART:
            raise ValueError(f"unknown network backend {backend!r}")
        roots = tuple(_target_path(r) for r in data["roots"])
        files = {}
        for path, saved in data["files"].items():
            link, mode = saved["link"], saved["mode"]
            if (link is not None and not isinstance(link, str)) or not isinstance(mode, int) \
                    or not 0 <= mode <= 0o7777:
                raise ValueError(f"bad entry for {path!r}")
            content = base64.b64decode(saved["content"], validate=True)
            files[_target_path(path)] = SavedFile(content, mode, link)
        return cls(backend, roots, files)


def _target_path(value: object) -> str:
    if not isinstance(value, str) or not value.startswith("/") or ".." in value.split("/"):
        raise ValueError(f"not a target path: {value!r}")
    return value


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
    return Snapshot(backend, roots, files)


def save_snapshot(sink: FileSink, snapshot: Snapshot) -> None:
    # Atomic and fsynced (FileSink): the network step writes only once this is on disk.
    sink.write(paths.NETWORK_SNAPSHOT, snapshot.to_json(), mode=0o600)


def load_snapshot(sink: FileSink) -> Snapshot | None:
    """The snapshot on disk, None when there is none; ExpandError naming the file if unreadable."""
    host = sink.target(paths.NETWORK_SNAPSHOT)
    where = paths.NETWORK_SNAPSHOT
    try:
        if host.stat().st_size > SNAPSHOT_MAX_BYTES:
            raise ExpandError(f"{where}: larger than {SNAPSHOT_MAX_BYTES} bytes: not a network "
                              "snapshot of first boot; check the network files, then remove it")
        text = host.read_bytes().decode()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ExpandError(f"{where}: cannot be read ({exc}); check the network files, then "
                          "remove it") from exc
    try:
        return Snapshot.from_json(text)
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise ExpandError(f"{where}: not a network snapshot of first boot ({exc}); check the "
                          "network files, then remove it") from exc


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


def roll_back(sink: FileSink, runner: Runner, snapshot: Snapshot) -> list[str]:
    """Old files back, network restarted on them, then (only then) the snapshot removed:
    cut anywhere in between, the next run does it all again."""
    changed = restore(sink, snapshot)
    restart_network(runner, snapshot.backend)
    sink.remove(paths.NETWORK_SNAPSHOT)
    return changed


def recover(sink: FileSink, runner: Runner) -> list[str] | None:
    """At the start of a run: restore the network a cut run left unconfirmed (the files that
    changed); None when there was no snapshot."""
    snapshot = load_snapshot(sink)
    if snapshot is None:
        return None
    changed = roll_back(sink, runner, snapshot)
    log.warning("a previous first boot was cut before its new network was confirmed: "
                "previous network restored (%s)", ", ".join(changed) or "files unchanged")
    return changed


def restart_network(runner: Runner, backend: str) -> None:
    for argv in RESTART[backend]:
        runner.run(argv, timeout=60)


def address_is_up(runner: Runner, address: IPv4Address, wait: float = 0.0) -> bool:
    """Whether ``address`` is on a link, waiting up to ``wait`` s (a restarted network
    daemon takes a moment to configure it)."""
    up, _ = poll(lambda: _has_address(runner, address), bool, timeout=wait, interval=0.5)
    return up


def _has_address(runner: Runner, address: IPv4Address) -> bool:
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


def network_problem(runner: Runner, address: IPv4Address, gateway: IPv4Address, *,
                    wait: float = 0.0) -> str | None:
    """Why the new network is not usable, or None when it is."""
    if not address_is_up(runner, address, wait):
        return f"the address {address} is not up"
    if not gateway_answers(runner, gateway):
        return f"the gateway {gateway} does not answer ping"
    return None


Confirm = Callable[[str, int], bool]  # (question, seconds) -> kept


@dataclass(frozen=True)
class NetworkConfirmation:
    """The engine's step hook (``engine.StepHook``) guarding the network step."""

    confirm: Confirm
    seconds: int = CONFIRM_SECONDS
    settle_seconds: float = SETTLE_SECONDS  # for the new address to come up

    def before_step(self, ctx: Context, step: Step) -> None:
        if step.name == NETWORK_STEP:
            save_snapshot(ctx.sink, take_snapshot(ctx.sink, ctx.platform.network_backend))

    def after_step(self, ctx: Context, outcome: StepOutcome) -> str | None:
        """None when the new network is kept; otherwise why it was rolled back (the engine
        then stops the apply)."""
        if outcome.name != NETWORK_STEP:
            return None
        snapshot = load_snapshot(ctx.sink)
        if snapshot is None:
            if outcome.status == "failed":
                return None  # failed before it wrote (saving the snapshot): its own reason
            raise ExpandError("network safety net: no snapshot taken before the network step")
        if outcome.status == "failed":
            reason: str | None = outcome.detail
        else:
            reason = self.ask(ctx)
            if reason is None:
                ctx.sink.remove(paths.NETWORK_SNAPSHOT)
                log.info("new network configuration kept")
                return None
        changed = roll_back(ctx.sink, ctx.runner, snapshot)
        log.warning("network rolled back (%s): restored %s", reason, ", ".join(changed) or "-")
        return f"{reason}; the previous network configuration is restored"

    def ask(self, ctx: Context) -> str | None:
        """None when kept; else the reason (the check that failed, or no confirmation)."""
        address, gateway = ctx.answers.lan_ip, ctx.answers.network.gateway
        later = f"the previous configuration comes back in {self.seconds} s."
        problem = (network_problem(ctx.runner, address, gateway, wait=self.settle_seconds)
                   if ctx.live else None)
        if not ctx.live:
            question = (f"Dry run: the new network files are under {ctx.root} only; nothing "
                        f"was restarted or checked. Keep them?\n\nWithout an answer {later}")
        elif problem is None:
            question = (f"Network is up at {address}. Keep this configuration?\n\n"
                        f"Without an answer {later}")
        else:
            question = (f"The new network does not work: {problem}.\n\nKeep this "
                        f"configuration anyway? Without an answer {later}")
        if self.confirm(question, self.seconds):
            log.info("network configuration confirmed (%s)", problem or "checks passed")
            return None
        return problem or f"not confirmed within {self.seconds} s"
