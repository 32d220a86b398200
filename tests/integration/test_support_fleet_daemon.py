"""The engineers' commands through the real tunnel daemon (T1's ``expandctl tunnel run``),
not an ``ssh -N -R`` stand-in: the daemon holds the hub's localhost:PORT, the engineer in
a namespace of their own runs ``support run`` and ``support verify`` through the hub, and a
closed support window leaves the site unreachable.

The lab is tests/integration/tunnel_support.py's (hub and appliance sshds in namespaces on
one bridge, users in private passwd copies); the engineer logs in to both as the support
user, whose keys file on the appliance is the support window's.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration import tunnel_support
from tests.integration.sshd_support import ip, namespaces
from tests.integration.tunnel_support import (
    EXPANDCTL,
    FORWARD_PORT,
    HUB_IP,
    NET_PREFIX,
    SUPPORT_USER,
    Lab,
    tunnel_lab,
)

ENGINEER_NS, ENGINEER_IP = "xfd-eng", "203.0.113.140"


# The lab's namespaces under names of our own: tunnel_support's are fixed (xtd-*), and its
# setup deletes namespaces of those names, so the daemon's own tests or bench/tunnel.py
# running on this box at the same time would lose theirs (and we ours).
OWN_NAMES = {"PREFIX": "xfd", "BRIDGE_NS": "xfd-br", "HUB_NS": "xfd-hub", "APP_NS": "xfd-app"}


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in OWN_NAMES.items():
            patch.setattr(tunnel_support, name, value)
        with tunnel_lab() as running, namespaces(ENGINEER_NS):
            bridge = OWN_NAMES["BRIDGE_NS"]
            ip("-n", bridge, "link", "add", "eng-port", "type", "veth", "peer", "name", "eth0",
               "netns", ENGINEER_NS)
            ip("-n", bridge, "link", "set", "eng-port", "master", "hub0", "up")
            ip("-n", ENGINEER_NS, "addr", "add", f"{ENGINEER_IP}/{NET_PREFIX}", "dev", "eth0")
            ip("-n", ENGINEER_NS, "link", "set", "eth0", "up")
            root = running.root
            subprocess.run([EXPANDCTL, "support", "hub-add", "acme",
                            str(root / "appliance.pub"), "--port", str(FORWARD_PORT),
                            "--host-key", str(root / "app_host.pub"),
                            "--registry", str(root / "registry.toml"),
                            "--authorized-keys", str(root / "hub-add-lines")],
                           check=True, capture_output=True)
            running.start_daemon()
            running.wait_state("connected", 20)
            yield running


def support(lab: Lab, command: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", ENGINEER_NS, EXPANDCTL, "support", command,
         "--hub", f"{SUPPORT_USER}@{HUB_IP}", "--hub-known-hosts",
         str(lab.root / "hub_known_hosts"), "--registry", str(lab.root / "registry.toml"),
         "--identity", str(lab.engineer_key), "--user", SUPPORT_USER, *args],
        capture_output=True, text=True, timeout=120, check=False)


def only_site(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.stdout.strip(), proc.stderr
    (site,) = json.loads(proc.stdout)["sites"]
    assert site["site"] == "acme"
    return dict(site)


def test_run_through_the_daemons_forward(lab: Lab) -> None:
    proc = support(lab, "run", "--all", "--json", "--", "id -un; cat /proc/sys/kernel/hostname")
    site = only_site(proc)
    assert proc.returncode == 0 and site["status"] == "ok", site
    assert site["stdout"].splitlines()[0] == SUPPORT_USER


def test_verify_through_the_daemons_forward(lab: Lab) -> None:
    proc = support(lab, "verify", "acme", "--json")
    assert proc.stdout.strip(), proc.stderr
    checks = {c["check"]: c for c in json.loads(proc.stdout)["checks"]}
    assert checks["sshd_running"]["status"] == "ok", checks["sshd_running"]
    assert checks["sshd_running"]["host"] == "ssh://acme"


def test_a_closed_window_leaves_the_site_unreachable(lab: Lab) -> None:
    try:
        lab.window("disable")
        lab.wait_state("window-closed", 15)
        # In this lab the hub reads the same keys file the window just emptied: give the
        # engineer the hub back (the appliance is behind the closed tunnel anyway).
        hub_keys = lab.root / "authorized" / SUPPORT_USER
        hub_keys.write_text(Path(f"{lab.engineer_key}.pub").read_text())
        site = only_site(support(lab, "run", "--json", "acme", "--", "true"))
        assert site["status"] == "unreachable" and "no tunnel" in site["why"], site
    finally:
        lab.window("enable")
        lab.wait_state("connected", 20)
    assert only_site(support(lab, "run", "--json", "acme", "--", "true"))["status"] == "ok"


def test_the_registry_pins_what_the_daemons_appliance_serves(lab: Lab) -> None:
    registry = (lab.root / "registry.toml").read_text()
    host_key = Path(f"{lab.root / 'app_host'}.pub").read_text().split()[1]
    assert host_key in registry
