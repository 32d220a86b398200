"""Unattended mode into --root for the example answers, compared with golden trees.

Regenerate after an intended change, then review the diff of the .tree files:
``UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_firstboot_golden.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from appliance.backup import BACKUP_DIR
from firstboot import paths
from tests.unit.firstboot_support import (
    AUTHKEY,
    EXAMPLES,
    FENCING_SECRET,
    FIXTURES,
    GOLDEN,
    JOIN_CODE_FILE,
    SMTP_SECRET,
    apply_cli,
    expandctl,
    render_tree,
    seed_root,
    tree,
)

CASES = [("primary", "host-two-nics.json"), ("secondary", "host-two-nics.json"),
         ("standalone", "host-one-nic.json")]
PLATFORMS = ["rocky9", "debian12"]
CREDENTIAL_FILE = "/etc/postfix/sasl_passwd"


def applied_tree(tmp_path: Path, name: str, facts: str, platform: str) -> tuple[Path, str]:
    root = seed_root(tmp_path / "root", platform)
    proc = apply_cli(EXAMPLES / f"{name}.toml", root, facts)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "dry run: nothing applied" in proc.stdout  # --root: a dry run
    return root, proc.stdout + proc.stderr


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize(("name", "facts"), CASES)
def test_tree_matches_golden(tmp_path: Path, name: str, facts: str, platform: str) -> None:
    root, _ = applied_tree(tmp_path, name, facts, platform)
    got = render_tree(tree(root, skip=(paths.LOG,), mask=True))
    golden = GOLDEN / f"{name}-{platform}.tree"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(got)
    assert golden.exists(), f"{golden} missing: run with UPDATE_GOLDEN=1"
    assert got == golden.read_text(), (
        f"tree differs from {golden}; if intended, regenerate with UPDATE_GOLDEN=1")


@pytest.mark.parametrize("platform", PLATFORMS)
def test_success_removes_sentinel_and_unit_link(tmp_path: Path, platform: str) -> None:
    root, _ = applied_tree(tmp_path, "primary", "host-two-nics.json", platform)
    assert not (root / paths.SENTINEL.lstrip("/")).exists()
    assert not (root / paths.UNIT_WANTS_LINK.lstrip("/")).is_symlink()
    assert (root / paths.UNIT_PATH.lstrip("/")).exists()  # disabled, not deleted
    report = json.loads((root / paths.REPORT.lstrip("/")).read_text())
    assert report["ok"] is True
    assert [s["name"] for s in report["steps"]] == [
        "hardware", "timezone", "hostname", "network", "dns", "postfix", "sshd", "support",
        "cluster", "pbx"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_no_secret_in_any_written_file_or_log(tmp_path: Path, platform: str) -> None:
    root, output = applied_tree(tmp_path, "primary", "host-two-nics.json", platform)
    code = (root / JOIN_CODE_FILE.lstrip("/")).read_text().strip()
    key = (root / AUTHKEY.lstrip("/")).read_bytes()
    assert output.count(code) == 1  # the final report on screen shows the join code once
    output = output.replace(code, "")
    # -v: every command logged on stderr too; that must be clean as well.
    proc = expandctl("-v", "firstboot", "--answers", str(EXAMPLES / "primary.toml"), "--yes",
                     "--root", str(root), "--host-facts", str(FIXTURES / "host-two-nics.json"),
                     "--json")
    assert proc.returncode == 0, proc.stderr
    assert "cibadmin --replace" in proc.stderr  # the verbose log really was captured
    output += proc.stdout + proc.stderr
    assert (root / paths.LOG.lstrip("/")).stat().st_size > 0
    hits = []
    for path in (p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        text = path.read_bytes()
        rel = "/" + str(path.relative_to(root))
        if rel.startswith(BACKUP_DIR + "/"):  # copies for the upgrade: 0600 in 0700 folders
            assert path.stat().st_mode & 0o777 == 0o600, rel
            assert path.parent.stat().st_mode & 0o777 == 0o700, rel
            continue
        if rel == CREDENTIAL_FILE:  # the one place the password must be: postfix's map, 0600
            assert SMTP_SECRET.encode() in text
            assert path.stat().st_mode & 0o777 == 0o600
            continue
        hits += [f"{rel}: {s}" for s in (SMTP_SECRET, FENCING_SECRET) if s.encode() in text]
        if rel != JOIN_CODE_FILE:  # the one place the code is kept, 0600 (steps/cluster.py)
            hits += [f"{rel}: join code" for c in (code, code.replace("-", ""))
                     if c.encode() in text]
        if rel != AUTHKEY:
            hits += [f"{rel}: authkey" for k in (key[:24], key.hex()[:48].encode())
                     if k in text]
    assert hits == []
    for secret in (SMTP_SECRET, FENCING_SECRET, code, code.replace("-", ""), key.hex()[:48]):
        assert secret not in output


def test_log_is_private(tmp_path: Path) -> None:
    root, _ = applied_tree(tmp_path, "primary", "host-two-nics.json", "rocky9")
    log = root / paths.LOG.lstrip("/")
    assert log.stat().st_mode & 0o777 == 0o600
    assert "step postfix done" in log.read_text()


def test_rhel_keyfiles_are_0600_and_vip_is_not_configured(tmp_path: Path) -> None:
    root, _ = applied_tree(tmp_path, "primary", "host-two-nics.json", "rocky9")
    keyfiles = sorted((root / "etc/NetworkManager/system-connections").iterdir())
    assert [k.name for k in keyfiles] == ["expand-interconnect.nmconnection",
                                          "expand-lan.nmconnection"]
    for keyfile in keyfiles:
        assert keyfile.stat().st_mode & 0o777 == 0o600
        assert "198.51.100.100" not in keyfile.read_text()
    assert "198.51.100.100\texpand-vip" in (root / "etc/hosts").read_text()


def test_one_nic_warns_and_skips_interconnect(tmp_path: Path) -> None:
    root, output = applied_tree(tmp_path, "standalone", "host-one-nic.json", "debian12")
    assert not (root / "etc/systemd/network/20-expand-interconnect.network").exists()
    assert "only one network interface (eth0)" in output
    assert "below tier" in output
