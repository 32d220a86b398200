"""The two-node cluster on real corosync/pacemaker in namespace nodes, fencing on.

One lab for the whole file (about 2 minutes), under the heavy lock. The tests run in
order and each leaves the cluster whole (both nodes online) for the next.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.ha_support import (
    EXPANDCTL,
    NODES,
    VipWatcher,
    client_ping,
    client_tcp,
    expandctl,
    ha_json,
    lab_up,
    online_nodes,
    vip_holders,
    wait_for,
)


@pytest.fixture(scope="module", autouse=True)
def lab() -> Iterator[None]:
    with lab_up():
        yield


def active() -> str:
    holders = vip_holders()
    assert len(holders) == 1, f"VIP holders: {holders}"
    return holders[0]


def other(node: str) -> str:
    return next(n for n in NODES if n != node)


def both_online() -> bool:
    return online_nodes(NODES[0]) == set(NODES)


def test_cluster_forms_on_both_nodes() -> None:
    for node in NODES:
        status = ha_json(node, "status")
        assert {n["name"]: n["state"] for n in status["nodes"]} == dict.fromkeys(NODES, "online")
        assert status["fencing"] == "on" and status["quorate"]
        assert status["vip_holder"] in NODES
        assert status["warnings"] == []
        checks = ha_json(node, "check")
        assert checks["ok"], checks
        assert "fencing gateway 198.51.100.1" in {c["name"] for c in checks["checks"]}


def test_vip_and_service_answer_from_client() -> None:
    holder = active()
    assert wait_for("ping of the VIP", client_ping, 10)
    assert wait_for("TCP service on the VIP", client_tcp, 10) == f"expand-lab {holder}"


def test_planned_switchover_moves_the_service() -> None:
    before = active()
    out = expandctl("lab", "exec", before, "--", EXPANDCTL, "ha", "switchover").stdout
    assert f"from {before} to {other(before)}" in out
    assert active() == other(before)
    assert wait_for("service on the new node",
                    lambda: client_tcp() == f"expand-lab {other(before)}", 10)


def test_standby_moves_and_unstandby_does_not_steal_back() -> None:
    before = active()
    expandctl("lab", "exec", before, "--", EXPANDCTL, "ha", "standby", before)
    assert active() == other(before)
    status = ha_json(before, "status")
    assert {n["name"]: n["state"] for n in status["nodes"]}[before] == "standby"
    expandctl("lab", "exec", before, "--", EXPANDCTL, "ha", "unstandby", before)
    wait_for("both nodes online", both_online, 20)
    assert active() == other(before)  # stickiness: the service stays where it is


def test_interconnect_cut_keeps_one_cluster() -> None:
    holder = active()
    fence_before = ha_json(NODES[0], "status")["last_fence"]
    expandctl("lab", "cut", NODES[1], "--link", "interconnect")
    try:
        wait_for("link 0 reported down", lambda: not ha_json(NODES[0], "check")["ok"], 15)
        checks = {c["name"]: c for c in ha_json(NODES[0], "check")["checks"]}
        assert not checks["link 0 (interconnect)"]["ok"]
        assert checks["link 1 (LAN)"]["ok"] and checks["quorum"]["ok"]
        assert both_online()
        assert ha_json(NODES[0], "status")["last_fence"] == fence_before  # nobody fenced
        assert vip_holders() == [holder]
    finally:
        expandctl("lab", "cut", NODES[1], "--link", "interconnect", "--restore")
    wait_for("link 0 back", lambda: ha_json(NODES[0], "check")["ok"], 20)


def test_hard_kill_moves_vip_and_service_then_node_rejoins_passive() -> None:
    victim = active()
    survivor = other(victim)
    expandctl("lab", "kill", victim)
    assert wait_for("VIP on the survivor", lambda: vip_holders() == [survivor], 20)
    assert wait_for("service from the survivor",
                    lambda: client_tcp() == f"expand-lab {survivor}", 10)
    fence = ha_json(survivor, "status")["last_fence"]
    assert fence and fence["target"] == victim and fence["status"] == "success"
    expandctl("lab", "revive", victim)
    wait_for("the revived node online", both_online, 40, poll=0.5)
    assert vip_holders() == [survivor]  # rejoined as passive


def test_both_links_cut_fencing_leaves_exactly_one_vip_holder() -> None:
    # The hardest case: the node cut off is the primary and holds the VIP. The delay
    # favours the primary in a race, so only the gateway check keeps it from winning.
    if active() != NODES[0]:
        expandctl("lab", "exec", NODES[1], "--", EXPANDCTL, "ha", "switchover")
    victim = active()
    assert victim == NODES[0]
    with VipWatcher() as watcher:
        expandctl("lab", "cut", victim, "--link", "both")
        try:
            wait_for("VIP on the other node", lambda: vip_holders() == [other(victim)], 20)
            wait_for("service on the other node",
                     lambda: client_tcp() == f"expand-lab {other(victim)}", 10)
        finally:
            expandctl("lab", "cut", victim, "--link", "both", "--restore")
    assert watcher.samples > 20
    assert watcher.double == [], f"VIP on both nodes at {watcher.double}: {watcher.history}"
    fence = ha_json(other(victim), "status")["last_fence"]
    assert fence and fence["target"] == victim
    wait_for("the fenced node back as passive", both_online, 40, poll=0.5)
    assert vip_holders() == [other(victim)]


def test_symmetric_split_the_delay_lets_the_primary_win() -> None:
    # Both nodes still see the gateway, so both pass the gateway check and race to fence;
    # the delay on the device that fences the primary decides. The VIP starts on the
    # secondary: the harder case, it must move.
    if active() != NODES[1]:
        expandctl("lab", "exec", NODES[0], "--", EXPANDCTL, "ha", "switchover")
    assert active() == NODES[1]
    with VipWatcher() as watcher:
        expandctl("lab", "split")
        try:
            wait_for("VIP on the primary", lambda: vip_holders() == [NODES[0]], 20)
            wait_for("service on the primary",
                     lambda: client_tcp() == f"expand-lab {NODES[0]}", 10)
        finally:
            expandctl("lab", "split", "--restore")
    assert watcher.double == [], f"VIP on both nodes at {watcher.double}: {watcher.history}"
    fence = ha_json(NODES[0], "status")["last_fence"]
    assert fence and fence["target"] == NODES[1] and fence["status"] == "success"
    wait_for("the fenced secondary back as passive", both_online, 40, poll=0.5)
    assert vip_holders() == [NODES[0]]
