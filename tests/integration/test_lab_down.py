"""``lab down`` ends booted appliance nodes by the PIDs the supervisor recorded, even when
the supervisor itself was killed: no systemd-nspawn, no container systemd, no namespace,
no mount of the lab is left.

Two appliance nodes are booted by the real supervisor (no first boot: the nodes only have
to run), then the supervisor is SIGKILLed and ``expandctl lab down`` runs as its own
process. About 20 s under the heavy lock.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.runner import Runner
from appliance.wait import poll
from lab import appliance, netns, nspawn, procs
from lab.nsnode import LAB_DIR
from lab.rootfs import HA_PACKAGES, ensure_rootfs
from lab.state import node_runner, power, start_supervisor, write_state
from lab.teardown import NODE_RECORD, SUPERVISOR_RECORD
from tests.integration.ha_support import NODES, expandctl
from tests.support import heavy_lock, require_tools


def lab_processes() -> list[str]:
    """Live processes whose command line names the lab's directory (nspawn -D, --bind)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(LAB_DIR) in cmdline and state != "Z":
            found.append(f"{entry.name}: {cmdline[:120]}")
    return found


@pytest.fixture
def booted_appliance_lab() -> Iterator[dict[str, procs.Recorded]]:
    require_tools("systemd-nspawn", "nsenter", "ip")
    with heavy_lock():
        expandctl("lab", "down", check=False)
        try:
            yield boot_nodes()
        finally:
            expandctl("lab", "down", check=False)


def boot_nodes() -> dict[str, procs.Recorded]:
    runner = Runner()
    rootfs = ensure_rootfs(packages=HA_PACKAGES, flavor="ha", runner=runner)
    nodes = netns.default_nodes(2)
    LAB_DIR.mkdir(parents=True, exist_ok=True)
    netns.create_network(runner, nodes)
    for node in nodes:
        appliance.prepare_root(LAB_DIR, node.name, rootfs, runner)
    write_state(LAB_DIR, {
        "nodes": [{"name": n.name, "lan_ip": str(n.lan_ip), "ic_ip": str(n.ic_ip),
                   "netns": n.netns} for n in nodes],
        "vip": "198.51.100.100", "client_netns": netns.CLIENT_NS, "storage": "none",
        "kind": "appliance"})
    start_supervisor(LAB_DIR)
    recorded = {}
    for name in NODES:
        power(LAB_DIR, "on", name)
        nspawn.wait_booted(node_runner(name).run, name)
        for role, proc in procs.load(LAB_DIR / "nodes" / name / NODE_RECORD).items():
            recorded[f"{name} {role}"] = proc
    recorded.update(procs.load(LAB_DIR / SUPERVISOR_RECORD))
    return recorded


def test_lab_down_after_the_supervisor_was_killed(
        booted_appliance_lab: dict[str, procs.Recorded]) -> None:
    recorded = booted_appliance_lab
    assert set(recorded) == {"supervisor", *(f"{n} {r}" for n in NODES
                                             for r in ("holder", "init"))}
    assert all(p.alive() for p in recorded.values())
    assert lab_processes(), "the booted nodes should show up as lab processes"
    os.kill(recorded["supervisor"].pid, signal.SIGKILL)
    gone, _ = poll(lambda: recorded["supervisor"].alive(), lambda alive: not alive,
                   timeout=10)
    assert gone
    assert all(p.alive() for name, p in recorded.items() if name != "supervisor"), \
        "the nodes outlive their supervisor (what lab down must handle)"

    proc = expandctl("lab", "down")
    assert "expand1 powered off" in proc.stdout and "expand2 powered off" in proc.stdout

    assert [n for n, p in recorded.items() if p.alive()] == []
    assert lab_processes() == []
    assert [ns for ns in netns.existing_netns(Runner())
            if ns.startswith(f"{netns.PREFIX}-")] == []
    assert str(LAB_DIR) not in Path("/proc/mounts").read_text()
    assert not LAB_DIR.exists()
