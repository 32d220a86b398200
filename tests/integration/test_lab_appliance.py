"""``expandctl lab up --appliance``: two booted systemd-nspawn nodes that set themselves up
with their own unattended first boot (primary, then the secondary with the join code), then
the lab's power switch as fencing, and the real Asterisk 22 (from its own root, see
lab.appliance_asterisk) configured from examples/site/acme.toml as the cluster's service.
SIP OPTIONS from the client namespace (the real sipp, authenticated as extension 550) are
answered 200 on the VIP; a killed Asterisk is restarted in place by the cluster's monitor;
after a hard kill of the active node SIP answers on the survivor with the same secret, the
fence is recorded, and the killed node boots again and rejoins as passive.

About 4 minutes under the heavy lock (two boots, two first boots, one reboot).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest

from tests.integration.ha_support import (
    NODES,
    client_ping,
    expandctl,
    ha_json,
    lab_up,
    vip_holders,
    wait_for,
)
from tests.integration.sip_support import client_sip, node_secret


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
        steps = {s["name"]: s["status"] for s in report["steps"]}
        assert steps["cluster"] == steps["pbx"] == "done", steps  # the site applied
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
    secret = node_secret(NODES[0])
    assert wait_for("SIP OPTIONS answered 200 on the VIP", lambda: client_sip(secret), 60,
                    poll=1)
    assert not client_sip("a" + secret[1:] if secret[0] != "a" else "b" + secret[1:])


def test_both_nodes_render_the_same_sip_secrets_from_the_cluster_authkey() -> None:
    digests = {node: hashlib.sha256(node_secret(node).encode()).hexdigest() for node in NODES}
    assert len(set(digests.values())) == 1, "the nodes' SIP secrets for 550 differ"


def asterisk_pid(node: str) -> int:
    shown = expandctl("lab", "exec", node, "--", "systemctl", "show", "-p", "MainPID",
                      "--value", "asterisk").stdout.strip()
    return int(shown or 0)


def test_a_killed_asterisk_is_restarted_in_place_by_the_cluster() -> None:
    active = NODES[0]
    before = asterisk_pid(active)
    assert before > 0
    expandctl("lab", "exec", active, "--", "kill", "-9", str(before))
    wait_for("Asterisk restarted on the same node",
             lambda: asterisk_pid(active) not in (0, before), 60, poll=1)
    secret = node_secret(active)
    assert wait_for("SIP on the VIP again", lambda: client_sip(secret), 60, poll=1)
    assert vip_holders() == [active]  # restarted in place: nothing moved
    failed = expandctl("lab", "exec", active, "--", "crm_failcount", "--query", "-r",
                       "asterisk", "-N", active).stdout
    assert "value=1" in failed, failed
    expandctl("lab", "exec", active, "--", "pcs", "resource", "cleanup", "asterisk")


def test_hard_kill_of_the_active_node_moves_the_service_and_it_rejoins_passive() -> None:
    victim, survivor = NODES
    expandctl("lab", "kill", victim)
    assert wait_for("VIP on the survivor", lambda: vip_holders() == [survivor], 30)
    secret = node_secret(survivor)
    assert wait_for("SIP answered 200 from the survivor", lambda: client_sip(secret), 60,
                    poll=0.5)
    fence = status(survivor)["last_fence"]
    assert isinstance(fence, dict) and fence["target"] == victim
    assert fence["status"] == "success"
    expandctl("lab", "revive", victim)  # boots again from its own disk
    wait_for("the revived node online", lambda: online(survivor) == set(NODES), 120, poll=1)
    assert vip_holders() == [survivor]
