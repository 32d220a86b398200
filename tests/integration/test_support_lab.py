"""The support lab (lab/support_lab.py) that `make demo` runs: the real hub, appliances and
daemons; the engineer reaches both; a hub restart is survived; nothing is left behind."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from lab.support_lab import SupportLab, support_lab

pytestmark = pytest.mark.integration


def lab_leftovers(prefix: str) -> list[str]:
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                                check=True).stdout.split()
    return [ns for ns in namespaces if ns.startswith(f"{prefix}-")] + [
        name for name in os.listdir("/run") if name.startswith(f"{prefix}-")]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_list_run_and_a_hub_restart_then_nothing_left() -> None:
    pids: list[int] = []
    with support_lab() as lab:
        listing = json.loads(lab.support_list("--json").stdout)
        assert {s["site"]: s["connected"] for s in listing["sites"]} == {
            "acme": True, "bravo": True}, listing
        ran = lab.support("run", "--all", "--json", "--", "id -un")
        sites = {s["site"]: s for s in json.loads(ran.stdout)["sites"]}
        assert ran.returncode == 0, ran.stderr
        assert all(s["status"] == "ok" and s["stdout"].strip() == "xslsupport"
                   for s in sites.values()), sites
        seconds = lab.restart_hub()
        assert 0 < seconds < 30
        assert all(lab.forward_up(site) for site in lab.sites)
        pids = [p.pid for p in (lab.hub.proc, *(s.daemon for s in lab.sites.values()),
                                *(s.sshd.proc for s in lab.sites.values())) if p]
        prefix = lab.prefix
    assert len(pids) == 5
    assert not [pid for pid in pids if alive(pid)]
    assert lab_leftovers(prefix) == []


def test_a_failure_inside_the_lab_still_tears_it_down() -> None:
    held: list[SupportLab] = []
    with pytest.raises(RuntimeError, match="the test's own"), support_lab(
            ("acme",), start_daemons=False) as lab:
        held.append(lab)
        lab.start_daemon("acme")
        assert lab.sites["acme"].daemon is not None
        raise RuntimeError("the test's own failure")
    (lab,) = held
    assert lab.sites["acme"].daemon is None and lab.hub.proc is None
    assert lab_leftovers(lab.prefix) == []
