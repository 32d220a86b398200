"""Standalone first: the primary runs alone as a one-node cluster that owns the VIP; the
secondary is added later (ha add-secondary + its first start) without the VIP moving,
and the grown cluster then survives the loss of the primary.

Before the secondary has ever joined, the grown primary must come back alone after a
reboot (wait_for_all off, no startup fencing of a node that was never there); once both
were members together, wait_for_all is on for both (a node starting alone waits for its
peer). One lab (~2 min), heavy lock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from tests.integration.ha_support import (
    EXPANDCTL,
    NODES,
    VipWatcher,
    client_tcp,
    expandctl,
    ha_json,
    lab_up,
    online_nodes,
    vip_holders,
    wait_for,
)

PRIMARY_ANSWERS = Path(__file__).resolve().parents[2] / "examples" / "answers" / "primary.toml"


@pytest.fixture(scope="module", autouse=True)
def lab() -> Iterator[None]:
    with lab_up("--standalone"):
        yield


def on_node(node: str, *argv: str) -> str:
    return expandctl("lab", "exec", node, "--", *argv, check=False).stdout


def quorum_flags(node: str) -> tuple[str, set[str]]:
    """(Quorate: Yes|No, the Flags set) from corosync-quorumtool on ``node``."""
    out = on_node(node, "corosync-quorumtool", "-s")
    lines = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return lines.get("Quorate", "").strip(), set(lines.get("Flags", "").split())


def quorum_flags_of(node: str) -> set[str]:
    return quorum_flags(node)[1]


def test_standalone_primary_owns_the_vip() -> None:
    status = ha_json(NODES[0], "status")
    assert [n["name"] for n in status["nodes"]] == [NODES[0]]
    assert status["vip_holder"] == NODES[0] and status["fencing"] == "on"
    assert client_tcp() == f"expand-lab {NODES[0]}"


def test_grown_primary_serves_across_a_reboot_before_the_secondary_joined() -> None:
    out = expandctl("lab", "exec", NODES[0], "--", EXPANDCTL, "ha", "add-secondary",
                    "--answers", str(PRIMARY_ANSWERS)).stdout
    assert "(reloaded)" in out and "wait_for_all stays off" in out
    assert "wait_for_all: 0" in on_node(NODES[0], "cat", "/etc/corosync/corosync.conf")
    expandctl("lab", "kill", NODES[0])
    started = time.monotonic()
    expandctl("lab", "revive", NODES[0])
    wait_for("the VIP back on the primary, alone", lambda: vip_holders() == [NODES[0]], 60,
             poll=0.2)
    wait_for("the service", lambda: client_tcp() == f"expand-lab {NODES[0]}", 20)
    print(f"grown primary serving again {time.monotonic() - started:.1f} s after power-on")
    quorate, flags = quorum_flags(NODES[0])
    assert quorate == "Yes" and "2Node" in flags and "WaitForAll" not in flags
    status = ha_json(NODES[0], "status")
    assert status["last_fence"] is None  # nothing fenced the absent secondary
    assert NODES[1] not in online_nodes(NODES[0])


def test_secondary_joins_later_without_moving_the_vip_and_seals_wait_for_all() -> None:
    with VipWatcher() as watcher:
        expandctl("lab", "revive", NODES[1])
        wait_for("the secondary online", lambda: online_nodes(NODES[0]) == set(NODES), 40,
                 poll=0.5)
        # The seal (started at the primary's boot, as expand-ha-seal.service would be).
        wait_for("the primary sealed", lambda: "wait_for_all" not in on_node(
            NODES[0], "cat", "/etc/corosync/corosync.conf"), 30, poll=0.5)
    assert {holders for _, holders in watcher.history} == {(NODES[0],)}
    status = ha_json(NODES[1], "status")
    assert status["last_fence"] is None  # nobody was shot while growing
    assert on_node(NODES[0], "cat", "/etc/corosync/corosync.conf") == on_node(
        NODES[1], "cat", "/etc/corosync/corosync.conf")  # identical again
    fencing = expandctl("lab", "exec", NODES[0], "--", "crm_attribute", "--type",
                        "crm_config", "--name", "startup-fencing", "--query", check=False)
    assert fencing.returncode != 0  # back to pacemaker's default (on)
    assert ha_json(NODES[0], "check")["ok"]
    again = expandctl("lab", "exec", NODES[0], "--", EXPANDCTL, "ha", "add-secondary",
                      "--answers", str(PRIMARY_ANSWERS)).stdout
    assert "nothing to do" in again


def test_grown_cluster_survives_losing_the_primary() -> None:
    expandctl("lab", "kill", NODES[0])
    assert wait_for("VIP on the secondary", lambda: vip_holders() == [NODES[1]], 20)
    assert wait_for("service", lambda: client_tcp() == f"expand-lab {NODES[1]}", 10)


def test_sealed_nodes_wait_for_all_after_both_went_down() -> None:
    """wait_for_all is on for both: a node starting alone has no quorum and runs nothing
    until it has seen its peer."""
    expandctl("lab", "kill", NODES[1])
    # The primary was killed by the test before, but the secondary fenced it with pacemaker's
    # default action (reboot): it may be up again, having seen its peer (then quorate).
    expandctl("lab", "kill", NODES[0], check=False)
    for alone in NODES:
        expandctl("lab", "revive", alone)
        wait_for(f"corosync on {alone}", partial(quorum_flags_of, alone), 20, poll=0.2)
        time.sleep(8)  # long enough for a quorate node to start the VIP (~2 s measured)
        quorate, flags = quorum_flags(alone)
        assert quorate == "No" and {"2Node", "WaitForAll"} <= flags, (alone, flags)
        assert vip_holders() == []
        expandctl("lab", "kill", alone)
    expandctl("lab", "revive", NODES[0])
    expandctl("lab", "revive", NODES[1])
    assert wait_for("the VIP once both are up", lambda: len(vip_holders()) == 1, 60)
    for node in NODES:
        quorate, flags = quorum_flags(node)
        assert quorate == "Yes" and "WaitForAll" in flags, (node, flags)
