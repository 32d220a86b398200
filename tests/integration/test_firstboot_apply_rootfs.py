"""--root into a real Debian root (an overlay of the cached one): the files written there
are accepted by that root's own postfix, and the stock files are edited, not replaced."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.nspawn import run_in_root, scratch_root

REPO = Path(__file__).resolve().parents[2]
EXPANDCTL = Path(sys.executable).parent / "expandctl"
FACTS = REPO / "tests/unit/fixtures/firstboot/host-two-nics.json"



@pytest.fixture(scope="module")
def applied_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with scratch_root(tmp_path_factory.mktemp("rootfs") / "node") as root:
        assert "smtpd_banner" in (root / "etc/postfix/main.cf").read_text()
        (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n"
                                        "ff02::1\tip6-allnodes\n10.1.1.1\tprinter\n")
        proc = subprocess.run(
            [str(EXPANDCTL), "firstboot", "--answers", str(REPO / "examples/answers/primary.toml"),
             "--yes", "--root", str(root), "--host-facts", str(FACTS)],
            capture_output=True, text=True, check=False, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        yield root


def test_postfix_in_the_root_accepts_the_edited_main_cf(applied_root: Path) -> None:
    main_cf = (applied_root / "etc/postfix/main.cf").read_text()
    assert "smtpd_banner" in main_cf            # stock settings kept
    assert main_cf.count("\nrelayhost =") == 1  # the stock empty relayhost replaced
    # What the live run does with commands, done here by hand with the root's own tools.
    run_in_root(applied_root, ["postmap", "hash:/etc/postfix/sasl_passwd"])
    run_in_root(applied_root, ["postfix", "check"])
    relay = run_in_root(applied_root, ["postconf", "-h", "relayhost"]).stdout.strip()
    assert relay == "[smtp.example.com]:587"
    tls = run_in_root(applied_root, ["postconf", "-h", "smtp_tls_security_level"]).stdout
    assert tls.strip() == "encrypt"


def test_hosts_keeps_debian_lines_and_adds_the_cluster(applied_root: Path) -> None:
    hosts = (applied_root / "etc/hosts").read_text()
    for kept in ("127.0.0.1\tlocalhost\n", "ff02::1\tip6-allnodes\n", "10.1.1.1\tprinter\n"):
        assert kept in hosts
    assert "127.0.1.1" not in hosts  # the installer's name: the node has a static address now
    assert "198.51.100.100\texpand-vip" in hosts
    resolved = run_in_root(applied_root, ["getent", "hosts", "expand2-ic"]).stdout
    assert resolved.split()[0] == "203.0.113.2"


def test_time_zone_link_resolves_in_the_root(applied_root: Path) -> None:
    date = run_in_root(applied_root, ["date", "+%Z"], check=True).stdout.strip()
    assert date in ("-03", "UYT")  # America/Montevideo
