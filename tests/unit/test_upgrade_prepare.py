"""``expandctl upgrade prepare`` and the upgrade's %pre check (kickstart/disks.py): the
help teaches the rolling order; the peer must be online to take the service; a standalone
node only refreshes its backup; the %pre refuses a missing, broken or foreign backup and a
boot entry without ``expand.upgrade=``."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import pytest

from appliance import backup
from appliance.errors import ExpandError
from appliance.runner import RecordingRunner, Result
from firstboot import cli_upgrade
from kickstart import disks
from tests.unit.firstboot_support import EXAMPLES, apply_cli, expandctl, seed_root

CRM_MON = (Path(__file__).parent / "ha_data" / "crm_mon_two_nodes.xml").read_text()
ME, PEER = "expand2", "expand1"  # expand2 runs the service in the fixture


class Cluster(RecordingRunner):
    """crm_mon as it answers before and after ``pcs node standby`` of this node."""

    def __init__(self, peer_online: bool = True) -> None:
        super().__init__()
        self.xml = CRM_MON if peer_online else CRM_MON.replace(
            f'name="{PEER}" id="1" online="true"', f'name="{PEER}" id="1" online="false"')

    def _execute(self, argv: tuple[str, ...], data: bytes | None,
                 env: Mapping[str, str] | None, cwd: Path | None, timeout: float | None,
                 shown: str) -> Result:
        self.calls.append(argv)
        if argv[:2] == ("pcs", "node"):
            moved = self.xml.replace(f'name="{ME}" id="2" online="true" standby="false"',
                                     f'name="{ME}" id="2" online="true" standby="true"')
            self.xml = moved.replace(f'<node name="{ME}" id="2" cached="true"/>',
                                     f'<node name="{PEER}" id="1" cached="true"/>')
        out = {"crm_mon": self.xml, "crm_node": ME + "\n"}.get(argv[0], "")
        return Result(argv, 0, out, "")


def cluster_root(tmp_path: Path) -> Path:
    root = seed_root(tmp_path / "root", "debian12")
    proc = apply_cli(EXAMPLES / "secondary.toml", root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


def test_help_teaches_the_rolling_order() -> None:
    for argv in (("upgrade", "--help"), ("upgrade", "prepare", "--help")):
        full = expandctl(*argv).stdout
        text = full[full.index("rolling upgrade"):]
        order = ["upgrade prepare", "Upgrade eXpand", "as passive", "expandctl ha switchover",
                 "on the other node"]
        where = [text.find(step) for step in order]
        assert -1 not in where and where == sorted(where), (where, text)
        assert "exit codes" in text and "--json" in full


def test_refused_when_the_peer_is_not_online_and_nothing_changes(tmp_path: Path) -> None:
    root = cluster_root(tmp_path)
    before = os.readlink(root / backup.CURRENT.lstrip("/"))
    (root / "etc/expand/new.txt").write_text("changed since the last backup\n")
    runner = Cluster(peer_online=False)
    with pytest.raises(ExpandError, match="peer is not online") as err:
        cli_upgrade.prepare(root, runner, live=True, timeout=5)
    assert "\n" not in str(err.value) and f"{PEER} offline" in str(err.value)
    assert not any(c[0] == "pcs" for c in runner.calls)
    assert os.readlink(root / backup.CURRENT.lstrip("/")) == before


def test_prepare_refreshes_the_backup_and_moves_the_service(tmp_path: Path) -> None:
    root = cluster_root(tmp_path)
    before = os.readlink(root / backup.CURRENT.lstrip("/"))
    (root / "etc/expand/new.txt").write_text("changed since the last backup\n")
    runner = Cluster()
    result = cli_upgrade.prepare(root, runner, live=True, timeout=5)
    assert ("pcs", "node", "standby", ME) in runner.calls
    assert result["mode"] == "cluster" and result["moved_to"] == PEER
    after = root / backup.CURRENT.lstrip("/")
    assert os.readlink(after) != before
    assert (after / backup.FILES / "etc/expand/new.txt").is_file()
    # Secrets are carried over from the first boot's backup: prepare never sees them.
    assert (after / backup.FILES / backup.UPGRADE_ANSWERS.lstrip("/")).is_file()


def test_standalone_prepare_on_a_root_only_refreshes_the_backup(tmp_path: Path) -> None:
    root = seed_root(tmp_path / "root", "rocky9")
    (root / "etc/expand").mkdir(parents=True)
    (root / "etc/expand/answers.toml").write_text('mode = "primary"\n')
    proc = expandctl("upgrade", "prepare", "--root", str(root), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["mode"] == "standalone" and result["moved_to"] is None
    assert (root / backup.CURRENT.lstrip("/") / backup.MANIFEST).is_file()
    text = expandctl("upgrade", "prepare", "--root", str(root)).stdout
    assert "not in a cluster" in text and "standalone" in text


@pytest.mark.parametrize(("argv", "code", "says"), [
    (("--root", "/nonexistent/dir"), 1, "--root /nonexistent/dir: not a directory"),
    (("--timeout", "0"), 2, "seconds from 1 to 3600"),
    (("--timeout", "x" * 5000), 2, "seconds from 1 to 3600"),
    (("--bogus",), 2, "unrecognized arguments"),
])
def test_bad_arguments_get_one_line(argv: tuple[str, ...], code: int, says: str) -> None:
    proc = expandctl("upgrade", "prepare", *argv)
    assert proc.returncode == code
    assert says in proc.stderr and "Traceback" not in proc.stderr


def test_a_root_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    proc = expandctl("upgrade", "prepare", "--root", str(tmp_path / "file"))
    assert proc.returncode == 1 and "not a directory" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


# --- the %pre check ---------------------------------------------------------------------

@pytest.mark.parametrize(("cmdline", "mode"), [
    ("BOOT_IMAGE=x expand.upgrade=cluster quiet\n", "cluster"),
    ("expand.upgrade=cluster expand.upgrade=standalone", "standalone"),
])
def test_mode_from_the_kernel_command_line(cmdline: str, mode: str) -> None:
    assert disks.upgrade_mode(cmdline) == mode


@pytest.mark.parametrize(("cmdline", "says"), [
    ("", "no expand.upgrade="), ("quiet inst.ks=x", "no expand.upgrade="),
    ("expand.upgrade=", "is not cluster or standalone"),
    ("expand.upgrade=" + "x" * 10000, "is not cluster or standalone"),
])
def test_mode_missing_or_unknown_is_refused(cmdline: str, says: str) -> None:
    with pytest.raises(disks.LayoutError, match=says) as err:
        disks.upgrade_mode(cmdline)
    assert len(str(err.value)) < 200


def data_with(tmp_path: Path, manifest: object) -> Path:
    data = tmp_path / "data"
    (data / "backup/current").mkdir(parents=True)
    path = data / disks.BACKUP_MANIFEST
    if isinstance(manifest, bytes):
        path.write_bytes(manifest)
    elif manifest == "dir":
        path.mkdir()
    else:
        path.write_text(json.dumps(manifest))
    return data


def old_root(tmp_path: Path, host: str, machine: str) -> Path:
    old = tmp_path / "old"
    (old / "etc").mkdir(parents=True)
    (old / "etc/hostname").write_text(host + "\n")
    (old / "etc/machine-id").write_text(machine + "\n")
    return old


GOOD = {"format": 1, "hostname": "expand2", "machine_id": "abc", "cluster": True}


def test_a_good_backup_of_this_node_passes(tmp_path: Path) -> None:
    data = data_with(tmp_path, GOOD)
    assert disks.check_backup(data, old_root(tmp_path, "expand2", "abc"), "cluster") == "expand2"
    assert disks.check_backup(data, None, "standalone") == "expand2"


@pytest.mark.parametrize(("manifest", "old", "mode", "says"), [
    (None, None, "cluster", "no upgrade backup"),
    (b"", None, "cluster", "cannot be read"),
    (b"\xff\x00binary", None, "cluster", "cannot be read"),
    (b"[" * 100000, None, "cluster", "cannot be read"),
    (b"x" * (2 * 1024 * 1024), None, "cluster", "over 1 MiB"),
    ("dir", None, "cluster", "cannot be read"),
    ([1, 2], None, "cluster", "not a backup of this product"),
    ({**GOOD, "format": 2}, None, "cluster", "not a backup of this product"),
    (GOOD, ("expand1", "abc"), "cluster", "from another node"),
    (GOOD, ("expand2", "def"), "cluster", "from another node"),
    ({**GOOD, "cluster": False}, None, "cluster", "no cluster identity"),
])
def test_the_pre_refuses(tmp_path: Path, manifest: object, old: tuple[str, str] | None,
                         mode: str, says: str) -> None:
    data = tmp_path / "data" if manifest is None else data_with(tmp_path, manifest)
    before = old_root(tmp_path, *old) if old else None
    with pytest.raises(disks.LayoutError, match=says) as err:
        disks.check_backup(data, before, mode)
    assert "\n" not in str(err.value) and len(str(err.value)) < 400


def test_a_standalone_upgrade_needs_no_cluster_identity(tmp_path: Path) -> None:
    data = data_with(tmp_path, {**GOOD, "cluster": False})
    assert disks.check_backup(data, None, "standalone") == "expand2"


# --- the first boot after an upgrade ------------------------------------------------------

def restored(tmp_path: Path) -> Path:
    """A root whose upgrade %post left the answers (with secrets) from the backup."""
    root = cluster_root(tmp_path)
    kept = root / backup.CURRENT.lstrip("/") / backup.FILES / backup.UPGRADE_ANSWERS.lstrip("/")
    target = root / backup.UPGRADE_ANSWERS.lstrip("/")
    target.write_bytes(kept.read_bytes())
    (root / "var/lib/expand/firstboot-pending").write_text("")
    return root


def test_first_boot_after_an_upgrade_applies_the_restored_answers(tmp_path: Path) -> None:
    root = restored(tmp_path)
    key = (root / "etc/corosync/authkey").read_bytes()
    proc = expandctl("firstboot", "--root", str(root), "--host-facts",
                     str(Path(__file__).parent / "fixtures/firstboot/host-two-nics.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr  # no wizard: nothing asked
    assert "dry run: nothing applied" in proc.stdout
    assert not (root / backup.UPGRADE_ANSWERS.lstrip("/")).exists()
    assert (root / "etc/corosync/authkey").read_bytes() == key


@pytest.mark.parametrize("content", [b"", b"\xff\xfebinary", b"mode = 'tertiary'\n",
                                     b"a = " + b"[" * 100000, b"#" * (2 * 1024 * 1024), None])
def test_broken_restored_answers_are_named_and_nothing_applied(tmp_path: Path,
                                                               content: bytes | None) -> None:
    root = restored(tmp_path)
    target = root / backup.UPGRADE_ANSWERS.lstrip("/")
    if content is None:
        target.unlink()
        target.mkdir()  # a folder where the answers should be
    else:
        target.write_bytes(content)
    report = (root / "var/lib/expand/firstboot-report.json").read_text()
    proc = expandctl("firstboot", "--root", str(root), "--platform", "debian", "--host-facts",
                     str(Path(__file__).parent / "fixtures/firstboot/host-two-nics.json"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert backup.UPGRADE_ANSWERS in proc.stderr and "Traceback" not in proc.stderr
    assert (root / "var/lib/expand/firstboot-report.json").read_text() == report
