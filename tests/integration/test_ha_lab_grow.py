"""Standalone first: the primary runs alone as a one-node cluster that owns the VIP; the
secondary is added later (ha add-secondary + its first start) without the VIP moving,
and the grown cluster then survives the loss of the primary. One lab (~1 min), heavy lock."""

from __future__ import annotations

from collections.abc import Iterator
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
    vip_holders,
    wait_for,
)

PRIMARY_ANSWERS = Path(__file__).resolve().parents[2] / "examples" / "answers" / "primary.toml"


@pytest.fixture(scope="module", autouse=True)
def lab() -> Iterator[None]:
    with lab_up("--standalone"):
        yield


def test_standalone_primary_owns_the_vip() -> None:
    status = ha_json(NODES[0], "status")
    assert [n["name"] for n in status["nodes"]] == [NODES[0]]
    assert status["vip_holder"] == NODES[0] and status["fencing"] == "on"
    assert client_tcp() == f"expand-lab {NODES[0]}"


def test_secondary_joins_later_without_moving_the_vip() -> None:
    with VipWatcher() as watcher:
        out = expandctl("lab", "exec", NODES[0], "--", EXPANDCTL, "ha", "add-secondary",
                        "--answers", str(PRIMARY_ANSWERS)).stdout
        assert "(reloaded)" in out
        expandctl("lab", "revive", NODES[1])
        wait_for("the secondary online", lambda: {
            n["name"] for n in ha_json(NODES[0], "status")["nodes"]
            if n["state"] == "online"} == set(NODES), 40, poll=0.5)
    assert {holders for _, holders in watcher.history} == {(NODES[0],)}
    status = ha_json(NODES[1], "status")
    assert status["last_fence"] is None  # nobody was shot while growing
    assert ha_json(NODES[0], "check")["ok"]
    again = expandctl("lab", "exec", NODES[0], "--", EXPANDCTL, "ha", "add-secondary",
                      "--answers", str(PRIMARY_ANSWERS)).stdout
    assert "nothing to do" in again


def test_grown_cluster_survives_losing_the_primary() -> None:
    expandctl("lab", "kill", NODES[0])
    assert wait_for("VIP on the secondary", lambda: vip_holders() == [NODES[1]], 20)
    assert wait_for("service", lambda: client_tcp() == f"expand-lab {NODES[1]}", 10)
