"""First boot applied for real inside a booted systemd-nspawn node (Debian, systemd PID 1):
the node's own daemons accept the result."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from firstboot import paths
from lab.nspawn import Lab, Node, lab

REPO = Path(__file__).resolve().parents[2]
SMTP_SECRET = "demo-Smtp-Secret-42"
FENCING_SECRET = "demo-Ipmi-Secret-17"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="nspawn nodes need root")


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Node, str]]:
    with lab(tmp_path_factory.mktemp("nspawn")) as the_lab:
        # eth0 holds a lease-like address and the default route, as after DHCP at install.
        node = the_lab.add_node("fb1", dhcp_like="198.51.100.150/24")
        # The switch plays the peer node on the interconnect.
        the_lab.runner.run(["ip", "-n", the_lab.switch, "addr", "add", "203.0.113.2/30",
                            "dev", "ic"])
        shutil.copy(REPO / "examples/answers/primary.toml", node.root / "root/primary.toml")
        result = node.run(["expandctl", "firstboot", "--answers", "/root/primary.toml", "--yes"],
                          check=False, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        yield the_lab, node, result.stdout + result.stderr


def test_report_says_installed_and_first_boot_is_done(applied: tuple[Lab, Node, str]) -> None:
    _, node, output = applied
    assert "eXpand installed" in output
    report = json.loads(node.run(["cat", paths.REPORT]).stdout)
    assert report["ok"] is True
    assert not (node.root / paths.SENTINEL.lstrip("/")).exists()
    status = node.run(["expandctl", "firstboot", "status", "--json"]).stdout
    assert json.loads(status)["pending"] is False
    enabled = node.run(["systemctl", "is-enabled", paths.UNIT_NAME], check=False).stdout
    assert enabled.strip() == "disabled"


def test_networkd_configured_lan_and_interconnect(applied: tuple[Lab, Node, str]) -> None:
    _, node, _ = applied
    lan = node.run(["networkctl", "status", "eth0", "--no-pager"]).stdout
    assert "10-expand-lan.network" in lan and "198.51.100.11" in lan
    assert "configured" in lan
    ic = node.run(["networkctl", "status", "eth1", "--no-pager"]).stdout
    assert "203.0.113.1" in ic
    assert "198.51.100.100" not in node.run(["ip", "-br", "addr"]).stdout  # VIP: cluster's
    node.run(["ping", "-c1", "-W3", "198.51.100.1"])   # the gateway, over the LAN
    node.run(["ping", "-c1", "-W3", "203.0.113.2"])    # the peer, over the interconnect
    assert node.run(["hostname"]).stdout.strip() == "expand1"


def test_postfix_accepts_the_relay_configuration(applied: tuple[Lab, Node, str]) -> None:
    _, node, _ = applied
    node.run(["postfix", "check"])
    assert node.run(["postconf", "-h", "relayhost"]).stdout.strip() == "[smtp.example.com]:587"
    assert node.run(["postconf", "-h", "smtp_sasl_auth_enable"]).stdout.strip() == "yes"
    assert node.run(["systemctl", "is-active", "postfix.service"]).stdout.strip() == "active"
    for name in ("sasl_passwd", "sasl_passwd.db"):
        mode = node.run(["stat", "-c", "%a", f"/etc/postfix/{name}"]).stdout.strip()
        assert mode == "600", name
    # The map answers for the relay host: postfix will log in with it.
    found = node.run(["postmap", "-q", "[smtp.example.com]:587", "hash:/etc/postfix/sasl_passwd"])
    assert found.stdout.startswith("pbx@example.com:")


def test_no_secret_in_files_logs_or_journal(applied: tuple[Lab, Node, str]) -> None:
    _, node, output = applied
    assert SMTP_SECRET not in output
    for secret in (SMTP_SECRET, FENCING_SECRET):
        hits = node.run(["grep", "-rlF", "--exclude=sasl_passwd", "--exclude=sasl_passwd.db",
                         secret, "/etc", "/var/lib/expand", "/var/log", "/run/log"],
                        check=False)
        assert hits.returncode == 1 and hits.stdout == "", hits.stdout
        journal = node.run(["journalctl", "--no-pager", "-o", "cat"]).stdout
        assert secret not in journal
    assert node.run(["stat", "-c", "%a", paths.LOG]).stdout.strip() == "600"


def test_rerun_skips_finished_steps(applied: tuple[Lab, Node, str]) -> None:
    _, node, _ = applied
    again = node.run(["expandctl", "firstboot", "--answers", "/root/primary.toml", "--yes",
                      "--json"], timeout=300)
    statuses = {s["name"]: s["status"] for s in json.loads(again.stdout)["steps"]}
    assert statuses["network"] == "already-done" and statuses["postfix"] == "done"
    node.run(["postfix", "check"])
