"""SAN mode in the namespace lab: the data filesystem (a shared folder, bind-mounted by the
active node only) comes before the VIP and follows the service on a switchover and on a
hard kill. One lab for the file (~1 min), under the heavy lock."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ha.cib import DATA_DIR
from tests.integration.ha_support import (
    EXPANDCTL,
    NODES,
    client_tcp,
    expandctl,
    ha_json,
    lab_up,
    vip_holders,
    wait_for,
)


@pytest.fixture(scope="module", autouse=True)
def lab() -> Iterator[None]:
    with lab_up("--storage", "san"):
        yield


def mounted_on(node: str) -> bool:
    proc = expandctl("lab", "exec", node, "--", "findmnt", "-n", DATA_DIR, check=False)
    return proc.returncode == 0


def node_sh(node: str, script: str) -> str:
    return expandctl("lab", "exec", node, "--", "sh", "-c", script).stdout


def test_data_is_mounted_only_where_the_service_runs() -> None:
    active = vip_holders()[0]
    status = ha_json(active, "status")
    assert status["storage"] == f"data filesystem Started on {active}"
    assert [n for n in NODES if mounted_on(n)] == [active]
    node_sh(active, f"echo recorded-on-{active} > {DATA_DIR}/probe.txt")
    assert not Path(DATA_DIR).exists() or not (Path(DATA_DIR) / "probe.txt").exists(), \
        "the node's data directory leaked onto the host"


def test_data_follows_switchover_and_hard_kill() -> None:
    first = vip_holders()[0]
    second = next(n for n in NODES if n != first)
    expandctl("lab", "exec", first, "--", EXPANDCTL, "ha", "switchover")
    assert [n for n in NODES if mounted_on(n)] == [second]
    assert node_sh(second, f"cat {DATA_DIR}/probe.txt").strip() == f"recorded-on-{first}"
    expandctl("lab", "kill", second)
    wait_for("VIP back on the first node", lambda: vip_holders() == [first], 30)
    assert wait_for("service", lambda: client_tcp() == f"expand-lab {first}", 10)
    assert mounted_on(first)
    assert node_sh(first, f"cat {DATA_DIR}/probe.txt").strip() == f"recorded-on-{first}"
    subprocess.run([EXPANDCTL, "lab", "revive", second], check=True, capture_output=True)
