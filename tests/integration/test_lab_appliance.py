"""``expandctl lab up --appliance``: two booted systemd-nspawn nodes that set themselves up
with their own unattended first boot (primary, then the secondary with the join code), then
the lab's power switch as fencing. The cluster they formed survives a hard kill of the
active node, and the killed node boots again and rejoins as passive.

About 3 minutes under the heavy lock (two boots, two first boots, one reboot).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.integration.ha_support import (
    NODES,
    client_ping,
    client_tcp,
    expandctl,
    ha_json,
    lab_up,
    vip_holders,
    wait_for,
)


@pytest.fixture(scope="module", autouse=True)
def lab() -> Iterator[None]:
    with lab_up("--appliance", timeout=600):
        yield


def status(node: str) -> dict[str, object]:
    return ha_json(node, "status", program="expandctl")


def online(node: str) -> set[str]:
    nodes = status(node)["nodes"]
    assert isinstance(nodes, list)
    return {n["name"] for n in nodes if n["state"] == "online"}


def test_each_node_was_set_up_by_its_own_first_boot() -> None:
    for node, mode in zip(NODES, ("primary", "secondary"), strict=True):
        report = json.loads(expandctl("lab", "exec", node, "--", "cat",
                                      "/var/lib/expand/firstboot-report.json").stdout)
        assert report["ok"] is True, report
        assert {s["name"]: s["status"] for s in report["steps"]}["cluster"] == "done"
        saved = expandctl("lab", "exec", node, "--", "cat", "/etc/expand/answers.toml").stdout
        assert f'mode = "{mode}"' in saved
        assert expandctl("lab", "exec", node, "--", "hostname").stdout.strip() == node
        # corosync and pacemaker start at every boot, as the first boot left them
        enabled = expandctl("lab", "exec", node, "--", "systemctl", "is-enabled",
                            "corosync", "pacemaker").stdout.split()
        assert enabled == ["enabled", "enabled"]


def test_the_cluster_they_formed_has_fencing_and_serves_the_vip() -> None:
    for node in NODES:
        state = status(node)
        assert online(node) == set(NODES)
        assert state["fencing"] == "on" and state["quorate"] and state["warnings"] == []
        assert state["vip_holder"] == NODES[0]  # standalone first: the primary kept it
        checks = ha_json(node, "check", program="expandctl")
        assert checks["ok"], checks
    assert wait_for("ping of the VIP", client_ping, 10)
    assert wait_for("the service on the VIP", client_tcp, 10) == f"expand-lab {NODES[0]}"


def test_hard_kill_of_the_active_node_moves_the_service_and_it_rejoins_passive() -> None:
    victim, survivor = NODES
    expandctl("lab", "kill", victim)
    assert wait_for("VIP on the survivor", lambda: vip_holders() == [survivor], 30)
    assert wait_for("service from the survivor",
                    lambda: client_tcp() == f"expand-lab {survivor}", 15)
    fence = status(survivor)["last_fence"]
    assert isinstance(fence, dict) and fence["target"] == victim
    assert fence["status"] == "success"
    expandctl("lab", "revive", victim)  # boots again from its own disk
    wait_for("the revived node online", lambda: online(survivor) == set(NODES), 120, poll=1)
    assert vip_holders() == [survivor]
