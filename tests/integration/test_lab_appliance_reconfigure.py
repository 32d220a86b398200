"""The live cluster follows the answers, for real: on the appliance lab's running two-node
cluster (booted nspawn nodes, each set up by its own first boot), the primary's first
boot is run again unattended with a new virtual IP. The old VIP is gone from both nodes,
the new one answers ping and SIP from the client, nobody is fenced, the service keeps
running (same PID: only the VIP resource restarted), the cluster keeps its members, and a
rerun with the same answers leaves the CIB alone (same epoch).

About 4 minutes under the heavy lock (two boots, two first boots, two reruns).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from ipaddress import IPv4Address
from xml.etree import ElementTree as ET

import pytest

from appliance.runner import Runner
from lab import netns
from lab.appliance import ANSWERS_IN_NODE
from tests.integration.ha_support import (
    EXPANDCTL,
    NODES,
    VIP,
    client_ping,
    lab_up,
    wait_for,
)
from tests.integration.sip_support import client_sip, node_secret

NEW_VIP = IPv4Address("198.51.100.101")
RECONF = "/root/reconf-answers.toml"
PRIMARY = NODES[0]


@pytest.fixture(scope="module", autouse=True)
def lab() -> Iterator[None]:
    with lab_up("--appliance", timeout=600):
        yield


def on(node: str, *argv: str, input: str | None = None, timeout: float = 120,
       check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([EXPANDCTL, "lab", "exec", node, "--", *argv], input=input,
                          capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"{node}: {' '.join(argv)} exited {proc.returncode}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def holders(address: IPv4Address) -> list[str]:
    runner = Runner()
    return [n for n in NODES if address in netns.addresses(runner, f"{netns.PREFIX}-{n}")]


def cib_version(node: str) -> tuple[str, str]:
    root = ET.fromstring(on(node, "cibadmin", "--query").stdout)
    return root.get("admin_epoch", ""), root.get("epoch", "")


def fence_events(node: str) -> int:
    out = on(node, "stonith_admin", "--history", "*", "--output-as", "xml").stdout
    return len(ET.fromstring(out).findall(".//fence_event"))


def service_pid(node: str) -> str:
    return on(node, "systemctl", "show", "-p", "MainPID", "--value", "asterisk").stdout.strip()


def vip_params(node: str) -> dict[str, str]:
    out = on(node, "cibadmin", "--query", "--scope", "resources").stdout
    vip = next(p for p in ET.fromstring(out).iter("primitive") if p.get("id") == "vip")
    return {nv.get("name", ""): nv.get("value", "") for nv in vip.iter("nvpair")}


def write_answers(vip: IPv4Address) -> None:
    """The answers the lab's first boot used (secrets included, 0600), with ``vip``."""
    text = on(PRIMARY, "cat", ANSWERS_IN_NODE).stdout
    old = f'virtual-ip = "{VIP}"'
    assert old in text, text
    on(PRIMARY, "sh", "-c", f"umask 077 && cat > {RECONF}",
       input=text.replace(old, f'virtual-ip = "{vip}"'))


def first_boot(node: str) -> dict[str, object]:
    proc = on(node, "expandctl", "firstboot", "--answers", RECONF, "--yes", "--json",
              timeout=400, check=False)
    report: dict[str, object] = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["ok"], proc.stdout + proc.stderr
    return report


def test_the_cluster_serves_the_old_vip_first() -> None:
    assert wait_for("both nodes online and the VIP", lambda: holders(VIP) == [PRIMARY], 60)
    secret = node_secret(PRIMARY)
    assert wait_for("SIP on the VIP", lambda: client_sip(secret), 60, poll=1)


def test_plan_shows_the_vip_change_and_writes_nothing() -> None:
    write_answers(NEW_VIP)
    before = cib_version(PRIMARY)
    plan = on(PRIMARY, "expandctl", "firstboot", "plan", RECONF).stdout
    assert f"vip: ip {VIP} → {NEW_VIP}" in plan, plan
    assert cib_version(PRIMARY) == before
    assert holders(VIP) == [PRIMARY]


def test_a_new_vip_reaches_the_running_cluster_without_fencing() -> None:
    fenced_before = fence_events(PRIMARY)
    pid_before = service_pid(PRIMARY)
    started = time.monotonic()
    report = first_boot(PRIMARY)
    steps = {s["name"]: s for s in report["steps"]}  # type: ignore[attr-defined]
    assert steps["cluster"]["status"] == "done"
    assert f"vip: ip {VIP} → {NEW_VIP}" in steps["cluster"]["detail"]
    assert wait_for("the new VIP on the primary", lambda: holders(NEW_VIP) == [PRIMARY], 30)
    seconds = time.monotonic() - started
    assert wait_for("the new VIP answering ping", lambda: client_ping(NEW_VIP), 15)
    # The rerun's pbx step renders the new bind; the reloadable transport takes it on the
    # res_pjsip reload, so SIP answers on the new VIP from the same Asterisk process.
    assert "applied" in steps["pbx"]["detail"], steps["pbx"]
    secret = node_secret(PRIMARY)
    assert wait_for("SIP on the new VIP", lambda: client_sip(secret, NEW_VIP), 60, poll=1)
    assert holders(VIP) == [] and not client_ping(VIP)  # the old one is gone everywhere
    for node in NODES:
        assert vip_params(node)["ip"] == str(NEW_VIP)
        assert fence_events(node) == fenced_before  # nobody was fenced
    pid_after = service_pid(PRIMARY)
    print(f"reconfigured in {seconds:.1f} s; service PID {pid_before} → {pid_after}")
    assert pid_after == pid_before  # only the VIP restarted; the service kept running
    online = json.loads(on(PRIMARY, "expandctl", "ha", "status", "--json").stdout)
    assert sorted(n["name"] for n in online["nodes"] if n["state"] == "online") == list(NODES)
    assert online["vip_holder"] == PRIMARY


def test_a_rerun_with_the_same_answers_changes_nothing() -> None:
    before = cib_version(PRIMARY)
    pid = service_pid(PRIMARY)
    report = first_boot(PRIMARY)
    steps = {s["name"]: s for s in report["steps"]}  # type: ignore[attr-defined]
    assert steps["cluster"]["status"] == "done"
    assert cib_version(PRIMARY) == before  # no epoch bump: nothing was written
    assert service_pid(PRIMARY) == pid
    assert holders(NEW_VIP) == [PRIMARY] and client_ping(NEW_VIP)
