"""``expandctl verify`` over a real ssh to a real sshd in a namespace: a healthy fake
appliance tree passes, a broken one is named, a swapped host key is refused.

The engineer's namespace reaches the appliance's over a veth (203.0.113.129 → .140); the
appliance namespace carries the LAN address of the answers on a dummy interface. What the
fake appliance cannot run here is stood in for: Asterisk by a script (sshd's SetEnv puts
its folder first on PATH) that answers 'core show version', postfix's
master by a copy of sleep named postfix/master. sshd, ssh, testinfra, pytest and postconf
are the real ones.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from appliance.answers import load_answers
from tests.integration.sshd_support import (
    Sshd,
    dummy,
    ip,
    keygen,
    link,
    namespaces,
    running_sshd,
    sshd_config,
)

EXPANDCTL = str(Path(sys.executable).parent / "expandctl")
ENGINEER, APPLIANCE = "xfv-eng", "xfv-appl"
ENGINEER_IP, APPLIANCE_IP = "203.0.113.129", "203.0.113.140"
PORT = 2222
ANSWERS = Path(__file__).resolve().parents[2] / "examples/answers/standalone.toml"
FAKE_ASTERISK = "#!/bin/sh\necho 'Asterisk 20.6.0 built by verify-test'\n"


def fake_tree(root: Path, config: Path, *, healthy: bool) -> None:
    """What a first boot leaves on an appliance, as far as the checks look."""
    for folder in ("etc/expand", "etc/postfix", "etc/ssh", "var/lib/expand", "run/expand"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    answers = [line for line in ANSWERS.read_text().splitlines() if "password" not in line]
    (root / "etc/expand/answers.toml").write_text("\n".join(answers) + "\n")
    relay = load_answers(ANSWERS).smtp.relayhost
    (root / "etc/postfix/main.cf").write_text(f"relayhost = {relay}\n")
    (root / "run/expand/tunnel.json").write_text(json.dumps(
        {"state": "connected", "since": "2026-12-01T13:00:00Z", "hub": "hub", "port": 20017}))
    code = root / "var/lib/expand/cluster-join-code"
    code.write_text("not-a-real-code\n")
    code.chmod(0o600 if healthy else 0o644)
    # The tunnel key (tunnel.config.KEY_FILE): found by its content, whatever its name.
    key = root / "etc/expand/tunnel/id_ed25519"
    key.parent.mkdir(parents=True, exist_ok=True)
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n")
    key.chmod(0o600 if healthy else 0o644)
    (root / "etc/expand/tunnel/id_ed25519.pub").write_text("ssh-ed25519 AAAA test\n")
    if healthy:
        shutil.copy(config, root / "etc/ssh/sshd_config")


@pytest.fixture(scope="module")
def appliance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sshd, Path]]:
    work = tmp_path_factory.mktemp("verify")
    client_key = work / "engineer"
    (work / "authorized_keys").write_text(keygen(client_key, "engineer") + "\n")
    sleep_copy = work / "postfix/master"
    sleep_copy.parent.mkdir()
    shutil.copy("/bin/sleep", sleep_copy)
    asterisk = work / "bin/asterisk"
    asterisk.parent.mkdir()
    asterisk.write_text(FAKE_ASTERISK)
    asterisk.chmod(0o755)
    master = subprocess.Popen([str(sleep_copy), "600"])
    with namespaces(ENGINEER, APPLIANCE):
        link(ENGINEER, f"{ENGINEER_IP}/25", APPLIANCE, f"{APPLIANCE_IP}/25", "xfv")
        dummy(APPLIANCE, "eth0", "198.51.100.11/24")
        for name in ("healthy", "broken"):
            (work / name).mkdir()
        extra = (f"ListenAddress {APPLIANCE_IP}\nLogLevel VERBOSE\n"
                 f"SetEnv PATH={asterisk.parent}:/usr/sbin:/usr/bin:/sbin:/bin\n")
        config = sshd_config(work, PORT, work / "authorized_keys", extra)
        try:
            with running_sshd(APPLIANCE, APPLIANCE_IP, PORT, config) as sshd:
                (work / "known_hosts").write_text(sshd.known_hosts_line())
                yield sshd, work
        finally:
            master.kill()
            master.wait()


def verify(work: Path, tree: str, known_hosts: str = "known_hosts"
           ) -> tuple[int, dict[str, tuple[str, str]]]:
    """``expandctl verify --json`` from the engineer's namespace: {check: (status, why)}."""
    root = work / tree
    proc = subprocess.run(
        ["ip", "netns", "exec", ENGINEER, EXPANDCTL, "verify", "--json",
         "--host", f"ssh://root@{APPLIANCE_IP}:{PORT}", "--known-hosts",
         str(work / known_hosts), "--identity", str(work / "engineer"), "--root", str(root)],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.stdout.strip(), proc.stderr
    data = json.loads(proc.stdout)
    return proc.returncode, {c["check"]: (c["status"], c["why"]) for c in data["checks"]}


def test_healthy_appliance_passes(appliance: tuple[Sshd, Path]) -> None:
    _, work = appliance
    fake_tree(work / "healthy", work / "sshd_config", healthy=True)
    code, checks = verify(work, "healthy")
    failed = {k: v for k, v in checks.items() if v[0] == "failed"}
    assert code == 0 and not failed, failed
    for check in ("sshd_running", "sshd_config", "postfix_relay", "addresses",
                  "asterisk_answering", "tunnel_connected", "no_world_readable_secret"):
        assert checks[check][0] == "ok", (check, checks[check])
    assert checks["vip_on_exactly_one_node"][0] == "skipped"


def test_broken_appliance_is_named(appliance: tuple[Sshd, Path]) -> None:
    _, work = appliance
    fake_tree(work / "broken", work / "sshd_config", healthy=False)
    code, checks = verify(work, "broken")
    assert code == 1
    assert checks["sshd_config"] == ("failed", f"{work}/broken/etc/ssh/sshd_config: missing")
    status, why = checks["no_world_readable_secret"]
    assert status == "failed" and "var/lib/expand/cluster-join-code" in why, why
    assert "etc/expand/tunnel/id_ed25519," in why + "," and ".pub" not in why, why
    assert checks["sshd_running"][0] == "ok"
    assert checks["tunnel_connected"][0] == "ok"


def test_swapped_host_key_is_refused(appliance: tuple[Sshd, Path]) -> None:
    _, work = appliance
    other = work / "other_host_key"
    if not other.exists():
        keygen(other, "impostor")
    (work / "wrong_known_hosts").write_text(
        f"[{APPLIANCE_IP}]:{PORT} {' '.join(Path(f'{other}.pub').read_text().split()[:2])}\n")
    code, checks = verify(work, "healthy", known_hosts="wrong_known_hosts")
    assert code == 1
    # Checks that need the host all fail on the key; only those that skip without it remain.
    touched = [v for v in checks.values() if v[0] != "skipped"]
    assert len(touched) >= 8 and all(s == "failed" and "Host key verification failed" in w
                                     for s, w in touched), checks


NODES = {"xfv-n1": "203.0.113.141", "xfv-n2": "203.0.113.142"}
CLUSTER_ENGINEER = "xfv-eng2"
VIP = "198.51.100.100/24"  # examples/answers/standalone.toml's network.virtual-ip


def test_cluster_run_judges_the_virtual_ip_across_nodes(
        appliance: tuple[Sshd, Path], tmp_path: Path) -> None:
    """``--cluster`` with two hosts: the VIP on exactly one node passes, on both fails and
    names them. (One fake tree serves both nodes: only the cluster-wide check is judged.)"""
    _, work = appliance
    fake_tree(tmp_path / "tree", work / "sshd_config", healthy=True)
    with namespaces(CLUSTER_ENGINEER, *NODES), ExitStack() as stack:
        ip("-n", CLUSTER_ENGINEER, "link", "add", "br0", "type", "bridge")
        ip("-n", CLUSTER_ENGINEER, "addr", "add", f"{ENGINEER_IP}/25", "dev", "br0")
        ip("-n", CLUSTER_ENGINEER, "link", "set", "br0", "up")
        known = []
        for n, (ns, address) in enumerate(NODES.items()):
            ip("-n", CLUSTER_ENGINEER, "link", "add", f"n{n}", "type", "veth", "peer", "name",
               "eth1", "netns", ns)
            ip("-n", CLUSTER_ENGINEER, "link", "set", f"n{n}", "master", "br0", "up")
            ip("-n", ns, "addr", "add", f"{address}/25", "dev", "eth1")
            ip("-n", ns, "link", "set", "eth1", "up")
            dummy(ns, "eth0", f"198.51.100.{11 + n}/24")
            folder = tmp_path / ns
            folder.mkdir()
            config = sshd_config(folder, PORT, work / "authorized_keys",
                                 f"ListenAddress {address}\nLogLevel VERBOSE\n")
            sshd = stack.enter_context(running_sshd(ns, address, PORT, config))
            known.append(sshd.known_hosts_line())
        (tmp_path / "known_hosts").write_text("".join(known))

        def vip_check() -> tuple[str, str]:
            argv = ["ip", "netns", "exec", CLUSTER_ENGINEER, EXPANDCTL, "verify", "--json",
                    "--cluster", "--known-hosts", str(tmp_path / "known_hosts"),
                    "--identity", str(work / "engineer"), "--root", str(tmp_path / "tree")]
            for address in NODES.values():
                argv += ["--host", f"ssh://root@{address}:{PORT}"]
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                                  check=False)
            assert proc.stdout.strip(), proc.stderr
            rows = {(c["check"], c["host"]): c for c in json.loads(proc.stdout)["checks"]}
            assert {h for _, h in rows} == {"cluster", *(f"ssh://{a}" for a in NODES.values())}
            row = rows[("vip_on_exactly_one_node", "cluster")]
            return row["status"], row["why"]

        ip("-n", "xfv-n1", "addr", "add", VIP, "dev", "eth0")
        assert vip_check() == ("ok", "")
        ip("-n", "xfv-n2", "addr", "add", VIP, "dev", "eth0")
        status, why = vip_check()
        assert status == "failed" and "is on 2 nodes" in why, why
        assert all(address in why for address in NODES.values()), why


def test_local_mode_checks_this_box(appliance: tuple[Sshd, Path], tmp_path: Path) -> None:
    """No --host: testinfra's local:// on this box, reading the tree given as --root."""
    _, work = appliance
    fake_tree(tmp_path / "tree", work / "sshd_config", healthy=True)
    proc = subprocess.run([EXPANDCTL, "verify", "--json", "--root", str(tmp_path / "tree")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.stdout.strip(), proc.stderr
    checks = {c["check"]: c for c in json.loads(proc.stdout)["checks"]}
    assert {c["host"] for n, c in checks.items() if n != "vip_on_exactly_one_node"} == {"local"}
    for name in ("postfix_relay", "tunnel_connected", "no_world_readable_secret",
                 "sshd_config"):
        assert checks[name]["status"] == "ok", checks[name]
