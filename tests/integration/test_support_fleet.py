"""``expandctl support run|verify`` from the engineer's namespace through a real hub sshd to
two appliance sshds over the real tunnel daemons' forwards (lab/support_lab.py); host keys
pinned (a swapped one is refused)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab.support_lab import EXPANDCTL, HUB_IP, SupportLab, support_lab
from lab.support_net import keygen

SITES = {"acme": ("203.0.113.131", 20017), "bravo": ("203.0.113.132", 20018)}
MISSING_SITE = ("charlie", 20019)  # in the registry, never connected


@pytest.fixture(scope="module")
def hub() -> Iterator[SupportLab]:
    with support_lab(tuple(SITES)) as running:
        yield running


def registry(lab: SupportLab, name: str = "registry.toml", swap: str = "") -> Path:
    """A registry written by ``support hub-add`` with both sites (``swap``: that site
    registered with the other box's host key) and charlie, registered but never connected."""
    path = lab.root / name
    if path.exists():
        return path
    names = list(SITES)
    for site, (_, port) in SITES.items():
        key_of = names[1 - names.index(site)] if site == swap else site
        hub_add(path, site, lab.sites[site].folder / "tunnel_key.pub", port,
                lab.sites[key_of].folder / "host_ed25519.pub")
    keygen(lab.root / f"{name}.charlie", "tunnel-charlie")
    hub_add(path, MISSING_SITE[0], lab.root / f"{name}.charlie.pub", MISSING_SITE[1],
            lab.sites["acme"].folder / "host_ed25519.pub")
    return path


def hub_add(path: Path, site: str, key: Path, port: int, host_key: Path) -> None:
    subprocess.run([EXPANDCTL, "support", "hub-add", site, str(key), "--registry", str(path),
                    "--authorized-keys", f"{path}.keys", "--port", str(port),
                    "--host-key", str(host_key)], check=True, capture_output=True, text=True)


def support(lab: SupportLab, *args: str, registry_file: Path | None = None,
            hub_known_hosts: str = "") -> subprocess.CompletedProcess[str]:
    return lab.support(args[0], *args[1:], registry=registry_file or registry(lab),
                       hub_known_hosts=lab.root / hub_known_hosts if hub_known_hosts else None)


def sites_of(proc: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    assert proc.stdout.strip(), proc.stderr
    return {s["site"]: s for s in json.loads(proc.stdout)["sites"]}


def test_run_all_reaches_both_appliances_and_names_the_missing_one(hub: SupportLab) -> None:
    # Each appliance answers with its own namespace's address: proof of which box ran it.
    proc = support(hub, "run", "--all", "--json", "--timeout", "10", "--",
                   "ip -o -4 addr show eth0")
    sites = sites_of(proc)
    assert proc.returncode == 1  # charlie is unreachable
    for site, (address, port) in SITES.items():
        assert sites[site]["status"] == "ok", sites[site]
        assert f"inet {address}/25" in sites[site]["stdout"]
        assert sites[site]["port"] == port
    missing = sites[MISSING_SITE[0]]
    assert missing["status"] == "unreachable" and "no tunnel" in missing["why"], missing


def test_run_one_site_table_and_exit_code(hub: SupportLab) -> None:
    proc = support(hub, "run", "acme", "--", "sh", "-c", "echo from-acme; exit 3")
    assert proc.returncode == 1, proc.stderr
    header, row = proc.stdout.splitlines()[:2]
    assert header.split()[:3] == ["SITE", "PORT", "RESULT"]
    assert row.split()[:3] == ["acme", "20017", "failed"] and "exit 3" in row
    assert "--- acme (failed)\nfrom-acme" in proc.stdout
    ok = support(hub, "run", "bravo", "--", "true")
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_a_swapped_appliance_key_is_refused(hub: SupportLab) -> None:
    proc = support(hub, "run", "--all", "--json", "--", "echo ran",
                   registry_file=registry(hub, "swapped.toml", swap="bravo"))
    sites = sites_of(proc)
    assert sites["acme"]["status"] == "ok"
    bravo = sites["bravo"]
    assert bravo["status"] == "unreachable" and "does not match" in bravo["why"], bravo
    assert bravo["stdout"] == ""


def test_a_swapped_hub_key_is_refused_before_any_site(hub: SupportLab) -> None:
    other = hub.sites["acme"].folder / "host_ed25519.pub"
    (hub.root / "wrong_hub").write_text(f"{HUB_IP} {other.read_text().split()[0]} "
                                        f"{other.read_text().split()[1]}\n")
    proc = support(hub, "run", "--all", "--", "echo ran", hub_known_hosts="wrong_hub")
    assert proc.returncode == 1
    assert "support hub" in proc.stderr and "does not match" in proc.stderr, proc.stderr
    assert "ran" not in proc.stdout


def test_verify_over_the_tunnel(hub: SupportLab) -> None:
    """The checks reach the appliance through the hub (ProxyJump, pinned); this box has no
    appliance tree, so the checks that read one name what is missing."""
    proc = support(hub, "verify", "acme", "--json")
    assert proc.stdout.strip(), proc.stderr
    checks = {c["check"]: c for c in json.loads(proc.stdout)["checks"]}
    assert checks["sshd_running"]["status"] == "ok", checks["sshd_running"]
    assert checks["sshd_running"]["host"] == "ssh://acme"
    assert checks["sshd_config"]["status"] == "failed"
    assert "answers.toml: missing" in checks["postfix_relay"]["why"], checks["postfix_relay"]
    assert proc.returncode == 1


def test_sites_run_at_the_same_time(hub: SupportLab) -> None:
    """The pool runs sites in parallel: their command intervals overlap (no clock limit)."""
    proc = support(hub, "run", "--all", "--json", "--workers", "4", "--",
                   "date +%s.%N; sleep 1.5; date +%s.%N")
    sites = sites_of(proc)
    spans = [tuple(float(t) for t in sites[s]["stdout"].split()) for s in SITES]
    (start_a, end_a), (start_b, end_b) = spans
    assert start_a < end_b and start_b < end_a, spans


def test_a_site_over_its_timeout_fails_alone(hub: SupportLab) -> None:
    proc = support(hub, "run", "--all", "--json", "--timeout", "2", "--",
                   "case $(ip -o -4 addr show eth0) in "
                   "*203.0.113.131*) sleep 20;; esac; echo done")
    sites = sites_of(proc)
    assert sites["acme"]["status"] == "failed" and "timed out after 2 s" in sites["acme"]["why"]
    assert sites["acme"]["seconds"] < 10, sites["acme"]
    assert sites["bravo"]["status"] == "ok" and sites["bravo"]["stdout"] == "done\n"


def test_support_ssh_runs_through_the_hub(hub: SupportLab) -> None:
    proc = support(hub, "ssh", "bravo", "--", "ip", "-o", "-4", "addr", "show", "eth0")
    assert proc.returncode == 0, proc.stderr
    assert f"inet {SITES['bravo'][0]}/25" in proc.stdout
