"""The cluster first-boot step for real: a booted systemd-nspawn node with corosync,
pacemaker and pcs runs the unattended first boot of examples/answers/standalone.toml and
ends as a one-node cluster that holds the virtual IP ("standalone first"). Then the
primary is grown (``ha add-secondary``) and a second node's first boot, given the join
code, joins it as passive: the VIP never moves."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from firstboot import paths
from lab.nspawn import Lab, Node, lab
from lab.rootfs import HA_PACKAGES, ensure_rootfs
from tests.support import heavy_lock

REPO = Path(__file__).resolve().parents[2]
VIP = "198.51.100.100"
ANSWERS = "/root/standalone.toml"
FIRSTBOOT = ["expandctl", "firstboot", "--answers", ANSWERS, "--yes"]
# The PBX service resource is systemd:asterisk; Asterisk itself is not in the node's root.
# Without a unit its start fails, pacemaker bans it there and drags the VIP (colocated)
# to any node where it could run: a stand-in unit keeps the test about the cluster.
ASTERISK_STAND_IN = ("[Unit]\nDescription=Asterisk stand-in (test)\n[Service]\n"
                     "ExecStart=/bin/sleep infinity\n")
SERVICE_STARTED = re.compile(r"asterisk\s+\(systemd:asterisk\):\s+Started expand1")
CODE = re.compile(r"\b[A-Z2-7]{4}(?:-[A-Z2-7]{1,4}){6}\b")



def vip_holder(node: Node) -> str | None:
    status = node.run(["expandctl", "ha", "status", "--json"], check=False)
    if status.returncode != 0:
        return None
    holder = json.loads(status.stdout).get("vip_holder")
    return str(holder) if holder else None


def wait_for_vip(node: Node, timeout: float = 90) -> float:
    """Seconds until the VIP and the service both run on expand1."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        crm = node.run(["crm_mon", "-1", "-r"], check=False).stdout
        if vip_holder(node) == "expand1" and SERVICE_STARTED.search(crm):
            return time.monotonic() - started
        time.sleep(1)
    last = node.run(["crm_mon", "-1", "-r"], check=False)
    raise AssertionError(f"VIP not started after {timeout} s:\n{last.stdout}{last.stderr}")


def cib_epoch(node: Node) -> str:
    head = node.run(["cibadmin", "--query", "--scope", "resources"]).stdout
    cib = node.run(["cibadmin", "--query"]).stdout
    epoch = re.search(r'<cib [^>]*\bepoch="(\d+)"', cib)
    assert epoch, cib[:300]
    return f"{epoch.group(1)}:{len(head)}"


def add_asterisk_stand_in(node: Node) -> None:
    (node.root / "etc/systemd/system/asterisk.service").write_text(ASTERISK_STAND_IN)
    node.run(["systemctl", "daemon-reload"])


@pytest.fixture(scope="module")
def booted_lab(tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[Lab, Node, str, float]]:
    with heavy_lock():
        rootfs = ensure_rootfs(packages=HA_PACKAGES, flavor="ha")
        with lab(tmp_path_factory.mktemp("nspawn-ha")) as the_lab:
            node = the_lab.add_node("fbha", rootfs=rootfs, dhcp_like="198.51.100.153/24")
            add_asterisk_stand_in(node)
            shutil.copy(REPO / "examples/answers/standalone.toml", node.root / ANSWERS[1:])
            started = time.monotonic()
            result = node.run(FIRSTBOOT, check=False, timeout=400)
            seconds = time.monotonic() - started
            assert result.returncode == 0, result.stdout + result.stderr
            yield the_lab, node, result.stdout + result.stderr, seconds


@pytest.fixture(scope="module")
def booted(booted_lab: tuple[Lab, Node, str, float]) -> tuple[Node, str, float]:
    return booted_lab[1:]


def test_first_boot_ends_as_a_one_node_cluster_holding_the_vip(
        booted: tuple[Node, str, float]) -> None:
    node, output, seconds = booted
    assert "eXpand installed" in output
    waited = wait_for_vip(node)
    print(f"first boot {seconds:.1f} s; VIP started {waited:.1f} s after it returned")
    crm = node.run(["crm_mon", "-1", "-r"]).stdout
    assert re.search(r"vip\s+\(ocf:heartbeat:IPaddr2\):\s+Started expand1", crm), crm
    assert SERVICE_STARTED.search(crm), crm
    pcs = node.run(["pcs", "status"]).stdout
    assert "Online: [ expand1 ]" in pcs, pcs
    assert f"inet {VIP}/24" in node.run(["ip", "-4", "addr", "show", "eth0"]).stdout
    status = json.loads(node.run(["expandctl", "ha", "status", "--json"]).stdout)
    assert status["vip_holder"] == "expand1" and status["quorate"] is True
    assert [n["name"] for n in status["nodes"]] == ["expand1"]
    for unit in ("corosync.service", "pacemaker.service"):
        assert node.run(["systemctl", "is-enabled", unit]).stdout.strip() == "enabled"


def test_join_code_on_screen_and_in_its_0600_file_only(booted: tuple[Node, str, float]) -> None:
    node, output, _ = booted
    codes = CODE.findall(output)
    assert len(codes) == 1, output
    assert node.run(["expandctl", "ha", "join-code"]).stdout.strip() == codes[0]
    mode = node.run(["stat", "-c", "%a", "/var/lib/expand/cluster-join-code"]).stdout.strip()
    assert mode == "600"
    assert node.run(["stat", "-c", "%a %s", "/etc/corosync/authkey"]).stdout.strip() == "400 256"
    hits = node.run(["grep", "-rlF", "--exclude=cluster-join-code", codes[0], "/etc",
                     "/var/lib/expand", "/var/log", "/run/log"], check=False)
    assert hits.returncode == 1 and hits.stdout == "", hits.stdout
    assert codes[0] not in node.run(["journalctl", "--no-pager", "-o", "cat"]).stdout
    report = node.run(["cat", paths.REPORT]).stdout
    assert codes[0] not in report and json.loads(report)["ok"] is True


def test_rerun_keeps_the_key_and_does_not_recreate_the_cluster(
        booted: tuple[Node, str, float]) -> None:
    node, _, _ = booted
    wait_for_vip(node)
    key = node.run(["sha256sum", "/etc/corosync/authkey"]).stdout
    before = cib_epoch(node)
    again = json.loads(node.run([*FIRSTBOOT, "--json"], timeout=400).stdout)
    assert again["ok"], again
    statuses = {s["name"]: s["status"] for s in again["steps"]}
    assert statuses["cluster"] == "done"  # applied again (secret inputs), changing nothing
    assert node.run(["sha256sum", "/etc/corosync/authkey"]).stdout == key
    assert cib_epoch(node) == before
    assert vip_holder(node) == "expand1"


def test_secondary_first_boot_with_the_join_code_joins_as_passive(
        booted_lab: tuple[Lab, Node, str, float]) -> None:
    the_lab, primary, _, _ = booted_lab
    wait_for_vip(primary)
    code = primary.run(["expandctl", "ha", "join-code"]).stdout.strip()
    # From the saved /etc/expand answers (no secrets in them). standalone.toml has no
    # fencing: two nodes without it are refused unless the choice is explicit.
    refused = primary.run(["expandctl", "ha", "add-secondary"], check=False)
    assert refused.returncode == 1 and "--no-fencing" in refused.stderr, refused.stderr
    assert "expand2" not in primary.run(["cat", "/etc/corosync/corosync.conf"]).stdout
    primary.run(["expandctl", "ha", "add-secondary", "--no-fencing"])
    secondary = the_lab.add_node("fbha2", rootfs=ensure_rootfs(packages=HA_PACKAGES,
                                                                  flavor="ha"),
                                 dhcp_like="198.51.100.154/24")
    add_asterisk_stand_in(secondary)
    text = (REPO / "examples/answers/standalone.toml").read_text()
    text = text.replace('mode = "primary"', 'mode = "secondary"')
    (secondary.root / "root/secondary.toml").write_text(
        text + f'\n[cluster]\njoin-code = "{code.lower()}"\n')
    result = secondary.run(["expandctl", "firstboot", "--answers", "/root/secondary.toml",
                            "--yes"], check=False, timeout=400)
    assert result.returncode == 0, result.stdout + result.stderr
    assert code not in result.stdout + result.stderr
    assert "does not see expand1" not in result.stdout  # it saw the primary during the step
    assert (secondary.run(["sha256sum", "/etc/corosync/authkey"]).stdout.split()[0]
            == primary.run(["sha256sum", "/etc/corosync/authkey"]).stdout.split()[0])
    started = time.monotonic()
    while time.monotonic() - started < 90:
        state = json.loads(primary.run(["expandctl", "ha", "status", "--json"]).stdout)
        online = sorted(n["name"] for n in state["nodes"] if n["state"] == "online")
        if online == ["expand1", "expand2"]:
            break
        time.sleep(1)
    else:
        raise AssertionError(primary.run(["crm_mon", "-1", "-r"], check=False).stdout)
    print(f"secondary joined {time.monotonic() - started:.1f} s after its first boot")
    assert state["vip_holder"] == "expand1"  # stickiness: the VIP did not move
    theirs = json.loads(secondary.run(["expandctl", "ha", "status", "--json"]).stdout)
    assert theirs["vip_holder"] == "expand1" and theirs["quorate"] is True
    kept = secondary.run(["test", "-e", "/var/lib/expand/cluster-join-code"], check=False)
    assert kept.returncode != 0  # only the primary keeps the code
