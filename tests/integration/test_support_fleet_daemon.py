"""The engineers' commands through the real tunnel daemon (T1's ``expandctl tunnel run``),
not an ``ssh -N -R`` stand-in: the daemon holds the hub's localhost:PORT, the engineer in
a namespace of their own runs ``support run`` and ``support verify`` through the hub, and a
closed support window leaves the site unreachable.

The lab is lab/support_lab.py's (the real hub: hub-config, hub-install, hub-add; one
appliance ``acme`` with its sshd and daemon; the engineer's namespace); the engineer logs in
to both as the support user, whose keys file on the appliance is the support window's.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.wait import poll
from lab.support_lab import SUPPORT_USER, SupportLab, support_lab

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab() -> Iterator[SupportLab]:
    with support_lab(("acme",)) as running:
        yield running


def support(lab: SupportLab, command: str, *args: str) -> subprocess.CompletedProcess[str]:
    return lab.support(command, *args)


def wait_state(lab: SupportLab, wanted: str, timeout: float) -> None:
    ok, last = poll(lab.sites["acme"].state, lambda s: s.get("state") == wanted,
                    timeout=timeout, interval=0.05)
    assert ok, f"tunnel state {last} is not {wanted}"


def only_site(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.stdout.strip(), proc.stderr
    (site,) = json.loads(proc.stdout)["sites"]
    assert site["site"] == "acme"
    return dict(site)


def test_run_through_the_daemons_forward(lab: SupportLab) -> None:
    proc = support(lab, "run", "--all", "--json", "--", "id -un; cat /proc/sys/kernel/hostname")
    site = only_site(proc)
    assert proc.returncode == 0 and site["status"] == "ok", site
    assert site["stdout"].splitlines()[0] == SUPPORT_USER


def test_verify_through_the_daemons_forward(lab: SupportLab) -> None:
    proc = support(lab, "verify", "acme", "--json")
    assert proc.stdout.strip(), proc.stderr
    checks = {c["check"]: c for c in json.loads(proc.stdout)["checks"]}
    assert checks["sshd_running"]["status"] == "ok", checks["sshd_running"]
    assert checks["sshd_running"]["host"] == "ssh://acme"


def test_a_closed_window_leaves_the_site_unreachable(lab: SupportLab) -> None:
    try:
        assert lab.tunnel("acme", "disable").returncode == 0
        wait_state(lab, "window-closed", 15)
        site = only_site(support(lab, "run", "--json", "acme", "--", "true"))
        assert site["status"] == "unreachable" and "no tunnel" in site["why"], site
    finally:
        lab.tunnel("acme", "enable")
        wait_state(lab, "connected", 20)
    assert only_site(support(lab, "run", "--json", "acme", "--", "true"))["status"] == "ok"


def test_the_registry_pins_what_the_daemons_appliance_serves(lab: SupportLab) -> None:
    registry = lab.registry.read_text()
    host_key = Path(f"{lab.sites['acme'].folder / 'host_ed25519'}.pub").read_text().split()[1]
    assert host_key in registry
