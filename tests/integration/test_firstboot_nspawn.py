"""First boot applied for real inside booted systemd-nspawn nodes (systemd as PID 1): the
node's own daemons accept the result. Debian path: systemd-networkd. RHEL-family path: a
Debian root with NetworkManager and a Rocky os-release, so the toolkit writes keyfiles and
drives nmcli exactly as on Rocky/Alma."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.wait import poll
from firstboot import paths
from lab.nspawn import ROCKY_OS_RELEASE, Lab, Node, lab
from lab.rootfs import NM_PACKAGES, ensure_rootfs

REPO = Path(__file__).resolve().parents[2]
SMTP_SECRET = "demo-Smtp-Secret-42"
FENCING_SECRET = "demo-Ipmi-Secret-17"



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


@pytest.fixture(scope="module")
def applied_rhel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, str]]:
    rootfs = ensure_rootfs(packages=NM_PACKAGES, flavor="nm")
    with lab(tmp_path_factory.mktemp("nspawn-nm")) as the_lab:
        node = the_lab.add_node("fbnm", rootfs=rootfs, os_release=ROCKY_OS_RELEASE,
                                dhcp_like="198.51.100.151/24")
        the_lab.runner.run(["ip", "-n", the_lab.switch, "addr", "add", "203.0.113.2/30",
                            "dev", "ic"])
        shutil.copy(REPO / "examples/answers/primary.toml", node.root / "root/primary.toml")
        result = node.run(["expandctl", "firstboot", "--answers", "/root/primary.toml", "--yes"],
                          check=False, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        yield node, result.stdout


def test_networkmanager_activates_the_keyfiles(applied_rhel: tuple[Node, str]) -> None:
    node, output = applied_rhel
    assert "NetworkManager keyfile" in output
    active = node.run(["nmcli", "-t", "-f", "NAME,DEVICE", "connection", "show", "--active"])
    assert "expand-lan:eth0" in active.stdout
    assert "expand-interconnect:eth1" in active.stdout
    lan = node.run(["nmcli", "-g", "IP4.ADDRESS", "device", "show", "eth0"]).stdout
    assert "198.51.100.11/24" in lan and "198.51.100.100" not in lan
    ic = node.run(["nmcli", "-g", "IP4.ADDRESS", "device", "show", "eth1"]).stdout
    assert "203.0.113.1/30" in ic
    node.run(["ping", "-c1", "-W3", "198.51.100.1"])
    node.run(["ping", "-c1", "-W3", "203.0.113.2"])
    assert "nameserver 198.51.100.53" in node.run(["cat", "/etc/resolv.conf"]).stdout


def test_rhel_path_postfix_and_private_keyfiles(applied_rhel: tuple[Node, str]) -> None:
    node, _ = applied_rhel
    node.run(["postfix", "check"])
    assert node.run(["postconf", "-h", "relayhost"]).stdout.strip() == "[smtp.example.com]:587"
    for name in ("expand-lan", "expand-interconnect"):
        path = f"/etc/NetworkManager/system-connections/{name}.nmconnection"
        assert node.run(["stat", "-c", "%a", path]).stdout.strip() == "600"
    zone = node.run(["readlink", "/etc/localtime"]).stdout.strip()
    assert zone == "../usr/share/zoneinfo/America/Montevideo"


def test_live_apply_killed_after_network_resumes(tmp_path: Path) -> None:
    """Power cut in the middle of a live first boot: the rerun finishes the job."""
    with lab(tmp_path) as the_lab:
        node = the_lab.add_node("fbkill", dhcp_like="198.51.100.152/24")
        shutil.copy(REPO / "examples/answers/primary.toml", node.root / "root/primary.toml")
        argv = ["expandctl", "firstboot", "--answers", "/root/primary.toml", "--yes", "--json"]
        killed = node.run(["env", "EXPAND_FIRSTBOOT_KILL_AFTER=network", *argv], check=False,
                          timeout=300)
        assert killed.returncode == 128 + 9 or killed.returncode == -9, killed.stderr
        assert node.run(["postconf", "-h", "relayhost"]).stdout.strip() == ""  # not reached
        assert (node.root / paths.SENTINEL.lstrip("/")).exists()
        rerun = json.loads(node.run(argv, timeout=300).stdout)
        statuses = [s["status"] for s in rerun["steps"]]
        assert rerun["ok"] and statuses[:4] == ["already-done"] * 4
        node.run(["postfix", "check"])
        assert node.run(["postconf", "-h", "relayhost"]).stdout.strip() == "[smtp.example.com]:587"
        assert "198.51.100.11" in node.run(["networkctl", "status", "eth0", "--no-pager"]).stdout
        assert not (node.root / paths.SENTINEL.lstrip("/")).exists()


OLD_NETWORK = ("[Match]\nName=eth0\n\n[Network]\nAddress=198.51.100.154/24\n"
               "Gateway=198.51.100.1\n")


def network_files(root: Path) -> dict[str, tuple[int, bytes]]:
    folder = root / "etc/systemd/network"
    return {p.name: (p.stat().st_mode & 0o7777, p.read_bytes()) for p in folder.iterdir()}


def wait_for_address(node: Node, address: str) -> str:
    reached, shown = poll(lambda: node.run(["ip", "-4", "-br", "addr", "show", "eth0"]).stdout,
                          lambda out: address in out, timeout=20)
    assert reached, shown
    return shown


def test_live_unconfirmed_network_comes_back_before_postfix_runs(tmp_path: Path) -> None:
    """systemd-networkd for real: the new address is up and the gateway answers, but
    nobody confirms: the old files come back, networkd restarts on them, the old address
    answers again, and postfix (the next steps) was never configured."""
    with lab(tmp_path) as the_lab:
        node = the_lab.add_node("fbconf", dhcp_like="198.51.100.153/24")
        old = node.root / "etc/systemd/network/50-old.network"
        old.parent.mkdir(parents=True, exist_ok=True)
        old.write_text(OLD_NETWORK)  # 0644: networkd (user systemd-network) must read it
        node.run(["systemctl", "restart", "systemd-networkd"])
        wait_for_address(node, "198.51.100.154/24")
        before = network_files(node.root)
        shutil.copy(REPO / "examples/answers/primary.toml", node.root / "root/primary.toml")
        proc = node.run(["sh", "-c", "expandctl firstboot --answers /root/primary.toml --yes "
                         "--confirm-timeout 3 </dev/null"], check=False, timeout=300)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        # The live checks ran for real and passed: only the missing yes rolled it back.
        assert "Network is up at 198.51.100.11. Keep this configuration?" in proc.stdout
        assert network_files(node.root) == before
        assert not (node.root / paths.NETWORK_SNAPSHOT.lstrip("/")).exists()
        report = json.loads(node.run(["cat", paths.REPORT]).stdout)
        assert report["failed_step"] == "network" and report["dry_run"] is False
        assert node.run(["postconf", "-h", "relayhost"]).stdout.strip() == ""  # not reached
        assert (node.root / paths.SENTINEL.lstrip("/")).exists()
        # networkd runs on the old files again: their address comes back (networkd applies
        # them after the reload returns: waited for, as under load it takes a while), the new
        # one is gone.
        addresses = wait_for_address(node, "198.51.100.154/24")
        assert "198.51.100.11/" not in addresses, addresses
        node.run(["ping", "-c1", "-W3", "-I", "198.51.100.154", "198.51.100.1"])


OLD_KEYFILE = ("[connection]\nid=old-eth0\ntype=ethernet\ninterface-name=eth0\n\n[ipv4]\n"
               "method=manual\naddress1=198.51.100.154/24,198.51.100.1\n\n[ipv6]\n"
               "method=disabled\n")


def test_live_unconfirmed_networkmanager_comes_back(tmp_path: Path) -> None:
    """The RHEL path: the old keyfile back, NetworkManager reloaded on it, the new
    connection and its address gone."""
    rootfs = ensure_rootfs(packages=NM_PACKAGES, flavor="nm")
    with lab(tmp_path) as the_lab:
        node = the_lab.add_node("fbnmc", rootfs=rootfs, os_release=ROCKY_OS_RELEASE,
                                dhcp_like="198.51.100.153/24")
        folder = node.root / "etc/NetworkManager/system-connections"
        folder.mkdir(parents=True, exist_ok=True)
        old = folder / "old-eth0.nmconnection"
        old.write_text(OLD_KEYFILE)
        old.chmod(0o600)
        node.run(["nmcli", "connection", "reload"])
        node.run(["nmcli", "connection", "up", "old-eth0"])
        wait_for_address(node, "198.51.100.154/24")
        before = {p.name: (p.stat().st_mode & 0o7777, p.read_bytes()) for p in folder.iterdir()}
        shutil.copy(REPO / "examples/answers/primary.toml", node.root / "root/primary.toml")
        proc = node.run(["sh", "-c", "expandctl firstboot --answers /root/primary.toml --yes "
                         "--confirm-timeout 3 </dev/null"], check=False, timeout=300)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "Keep this configuration?" in proc.stdout
        assert {p.name: (p.stat().st_mode & 0o7777, p.read_bytes())
                for p in folder.iterdir()} == before
        assert node.run(["postconf", "-h", "relayhost"]).stdout.strip() == ""  # not reached
        addresses = wait_for_address(node, "198.51.100.154/24")
        active = node.run(["nmcli", "-t", "-f", "NAME", "connection", "show", "--active"]).stdout
        assert "expand-lan" not in active and "198.51.100.11/" not in addresses, addresses
        node.run(["ping", "-c1", "-W3", "-I", "198.51.100.154", "198.51.100.1"])
