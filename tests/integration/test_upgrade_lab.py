"""A cluster node upgraded in the appliance lab rejoins its cluster without a new join code.

The two-node appliance lab (real corosync and pacemaker, each node set up by its own first
boot). On the passive node: ``expandctl upgrade prepare`` (backup refreshed, standby, the
service on the peer); a clean shutdown, as booting the DVD does; the reinstall: its system
tree replaced by a fresh one, its /srv/expand kept (lab.appliance.reinstall); the upgrade
kickstart's own %post, chrooted into the new system as anaconda runs it; boot; the first
boot applies the restored answers unattended (``expandctl firstboot``, no answers given, no
questions) and the node is online in the peer's cluster as passive, with the same corosync
identity, without anybody typing a join code. Then ``upgrade prepare`` is refused on the
other node while its peer is down, and nothing changes.

About 2.5 minutes under the heavy lock (measured: the lab up 97 s, the upgrade 55 s, the
refusal 3 s).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest
from pykickstart.constants import KS_SCRIPT_POST

from appliance.runner import Runner
from firstboot import paths
from kickstart.build import KickstartOptions, parse, render_upgrade
from lab import appliance, nspawn
from lab.nsnode import LAB_DIR
from lab.state import node_runner
from tests.integration.ha_support import NODES, expandctl, ha_json, lab_up, wait_for

ACTIVE, PASSIVE = NODES  # standalone first: the primary keeps the VIP
IDENTITY = ("/etc/corosync/authkey", "/etc/corosync/corosync.conf",
            "/etc/ssh/ssh_host_ed25519_key", "/etc/expand/tunnel/id_ed25519",
            "/etc/expand/answers.toml")
PROC_IN_NODE = "/root/upgrade-proc"


@pytest.fixture(scope="module", autouse=True)
def lab() -> Iterator[None]:
    with lab_up("--appliance", timeout=600):
        yield


def in_node(node: str, *argv: str, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return expandctl("lab", "exec", node, "--", *argv, check=check, timeout=timeout)


def nodes(seen_from: str) -> dict[str, str]:
    state = ha_json(seen_from, "status", program="expandctl")
    listed = state["nodes"]
    assert isinstance(listed, list)
    return {n["name"]: n["state"] for n in listed}


def vip_holder(seen_from: str) -> object:
    return ha_json(seen_from, "status", program="expandctl")["vip_holder"]


def upgrade_post() -> str:
    for script in parse(render_upgrade(KickstartOptions())).scripts:
        if script.type == KS_SCRIPT_POST and script.inChroot:
            body: str = script.script
            return body
    raise AssertionError("no chroot %post")


def test_an_upgraded_node_rejoins_as_passive_without_a_new_join_code() -> None:
    # The lab's root has no sshd: a host key as an installed box has one (kept by the backup
    # of the prepare below).
    in_node(PASSIVE, "sh", "-c", "mkdir -p /etc/ssh && head -c 400 /dev/urandom > "
            "/etc/ssh/ssh_host_ed25519_key && chmod 0600 /etc/ssh/ssh_host_ed25519_key")
    before = in_node(PASSIVE, "sha256sum", *IDENTITY).stdout
    prep = in_node(PASSIVE, "expandctl", "upgrade", "prepare", "--json", "--timeout", "120",
                   timeout=200)
    result = json.loads(prep.stdout)
    assert (result["mode"], result["moved_to"]) == ("cluster", ACTIVE), result
    assert nodes(ACTIVE)[PASSIVE] == "standby" and vip_holder(ACTIVE) == ACTIVE
    # Booting the DVD: a clean shutdown (the cluster sees the node leave, no fencing).
    in_node(PASSIVE, "systemctl", "stop", "pacemaker", "corosync", timeout=120)
    expandctl("lab", "kill", PASSIVE)
    root = appliance.reinstall(LAB_DIR, PASSIVE, Runner())
    assert not (root / "etc/expand/answers.toml").exists()  # a fresh system indeed
    assert (root / "srv/expand/backup/current/manifest.json").is_file()
    proc_dir = root / PROC_IN_NODE.lstrip("/")
    proc_dir.mkdir(parents=True)
    (proc_dir / "cmdline").write_text("BOOT_IMAGE=vmlinuz inst.ks=hd:LABEL=X:/ks "
                                      "expand.upgrade=cluster\n")
    post = subprocess.run(["chroot", str(root), "/bin/sh", "-c", upgrade_post()],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={"PATH": os.environ["PATH"], "EXPAND_PROCFS": PROC_IN_NODE})
    assert post.returncode == 0, post.stderr
    # The unit runs the wizard's command on tty1, which a container has not: the lab runs
    # that same command itself, as it runs the install's first boot.
    (root / paths.UNIT_WANTS_LINK.lstrip("/")).unlink()
    expandctl("lab", "revive", PASSIVE)
    nspawn.wait_booted(node_runner(PASSIVE).run, PASSIVE,
                       console=appliance.node_base(LAB_DIR, PASSIVE) / "console.log")
    boot = in_node(PASSIVE, "expandctl", "firstboot", timeout=600)
    assert "eXpand installed" in boot.stdout, boot.stdout + boot.stderr
    assert "rejoined its cluster as passive" in boot.stdout
    assert "Join code" not in boot.stdout + boot.stderr
    report = json.loads(in_node(PASSIVE, "cat", paths.REPORT).stdout)
    assert report["ok"] is True and {s["name"]: s["status"] for s in report["steps"]}[
        "cluster"] == "done"
    assert wait_for("the upgraded node online in its cluster",
                    lambda: nodes(ACTIVE) == {ACTIVE: "online", PASSIVE: "online"}, 120, 2)
    assert vip_holder(ACTIVE) == ACTIVE  # passive: the service stayed where it was
    assert in_node(PASSIVE, "sha256sum", *IDENTITY).stdout == before
    assert in_node(PASSIVE, "cat", "/var/lib/expand/upgraded-from").stdout == "3.1\n"
    assert in_node(PASSIVE, "test", "-e", "/var/lib/expand/upgrade-answers.toml",
                   check=False).returncode == 1  # applied, then removed


def test_prepare_is_refused_while_the_peer_is_down() -> None:
    in_node(PASSIVE, "systemctl", "stop", "pacemaker", "corosync", timeout=120)
    wait_for("the peer offline", lambda: nodes(ACTIVE).get(PASSIVE) == "offline", 120, 2)
    kept = in_node(ACTIVE, "readlink", "/srv/expand/backup/current").stdout
    proc = in_node(ACTIVE, "expandctl", "upgrade", "prepare", check=False, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "peer is not online" in proc.stderr and "Nothing changed" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert nodes(ACTIVE)[ACTIVE] == "online" and vip_holder(ACTIVE) == ACTIVE
    assert in_node(ACTIVE, "readlink", "/srv/expand/backup/current").stdout == kept
