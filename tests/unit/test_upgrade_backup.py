"""The upgrade backup (appliance.backup): what is kept, with which modes, written atomically
as a generation; the first-boot and pbx hooks; bad inputs become one line."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from appliance import backup
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.paths import ANSWERS, CONFIG_DIR, JOIN_CODE
from appliance.runner import RecordingRunner, Result
from ha import cib_sync, corosync
from kickstart import disks
from tests.unit.firstboot_support import EXAMPLES, apply_cli, seed_root
from tunnel import config as tunnel_config

SITE = "/root/site.toml"


def node(tmp_path: Path) -> Path:
    """A root as a real first boot of the example primary leaves it (--root apply), with
    SSH host keys and a site file outside /etc/expand."""
    root = seed_root(tmp_path / "root", "rocky9")
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\nssh_keys:x:995:\n")
    ssh = root / "etc/ssh"
    ssh.mkdir(parents=True, exist_ok=True)
    for name, mode in (("ssh_host_ed25519_key", 0o640), ("ssh_host_ed25519_key.pub", 0o644)):
        (ssh / name).write_bytes(os.urandom(64))
        os.chmod(ssh / name, mode)
        if os.geteuid() == 0:
            os.chown(ssh / name, 0, 995)
    proc = apply_cli(EXAMPLES / "primary.toml", root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


def entries(root: Path) -> dict[str, backup.Entry]:
    plan = backup.plan_backup(FileSink(root), live=False, with_answers=False)
    return {e.path: e for e in plan.entries}


def current(root: Path) -> Path:
    return root / backup.CURRENT.lstrip("/")


def test_paths_are_the_ones_the_other_packages_use() -> None:
    assert backup.DATA_MOUNT == disks.DATA_MOUNT
    assert (backup.COROSYNC_CONF, backup.COROSYNC_AUTHKEY) == (corosync.CONF_PATH,
                                                             corosync.AUTHKEY_PATH)
    assert backup.CIB_FILE == cib_sync.CIB_ON_DISK
    assert tunnel_config.KEY_FILE.startswith(CONFIG_DIR + "/")


def test_a_first_boot_leaves_a_backup_of_everything_an_upgrade_needs(tmp_path: Path) -> None:
    root = node(tmp_path)
    base = current(root)
    assert base.is_symlink() and os.readlink(base).startswith("gen-")
    listing = (base / backup.RESTORE_LIST).read_text().splitlines()
    kept = {line.split("\t")[5]: line.split("\t")[:5] for line in listing}
    for path in (ANSWERS, tunnel_config.KEY_FILE, tunnel_config.KEY_FILE + ".pub",
                 "/etc/ssh/ssh_host_ed25519_key", backup.UPGRADE_ANSWERS):
        assert kept[path][1] == "node", path
    for path in (JOIN_CODE, corosync.CONF_PATH, corosync.AUTHKEY_PATH):
        assert kept[path][1] == "cluster", path
    assert kept[corosync.AUTHKEY_PATH][2] == "0400"
    assert kept[tunnel_config.KEY_FILE][2] == "0600"
    assert kept["/etc/ssh/ssh_host_ed25519_key"][2:] == ["0640", "root",
                                                         "ssh_keys" if os.geteuid() == 0
                                                         else "root"]
    assert kept["/etc/expand/tunnel"][:3] == ["d", "node", "0700"]
    assert "/etc/expand/release" not in kept  # the new install's own
    for path in kept:  # every file is there, byte for byte
        copy = base / backup.FILES / path.lstrip("/")
        if kept[path][0] == "f" and path != backup.UPGRADE_ANSWERS:
            assert copy.read_bytes() == (root / path.lstrip("/")).read_bytes(), path
    # Only root reads the backup: folders 0700, files 0600, whatever the original's mode.
    for dirpath, _dirs, filenames in os.walk(root / backup.BACKUP_DIR.lstrip("/")):
        assert stat.S_IMODE(os.stat(dirpath).st_mode) == 0o700, dirpath
        for name in filenames:
            assert stat.S_IMODE(os.stat(Path(dirpath, name)).st_mode) == 0o600
    manifest = json.loads((base / backup.MANIFEST).read_text())
    assert manifest["format"] == 1 and manifest["cluster"] is True
    assert manifest["hostname"] == (root / "etc/hostname").read_text().strip()
    # The answers with their secrets: what the first boot after the upgrade applies.
    with_secrets = (base / backup.FILES / backup.UPGRADE_ANSWERS.lstrip("/")).read_text()
    assert "password" in with_secrets
    assert "password" not in (root / ANSWERS.lstrip("/")).read_text()


def test_same_state_same_generation_and_a_change_replaces_it(tmp_path: Path) -> None:
    root = node(tmp_path)
    sink = FileSink(root)
    first = os.readlink(current(root))
    assert backup.refresh(sink, RecordingRunner(), live=False).endswith(first)
    assert os.readlink(current(root)) == first  # carried: the secrets answers kept too
    assert (current(root) / backup.FILES / backup.UPGRADE_ANSWERS.lstrip("/")).is_file()
    (root / SITE.lstrip("/")).parent.mkdir(exist_ok=True)
    (root / SITE.lstrip("/")).write_text("[site]\n")
    answers = root / ANSWERS.lstrip("/")
    answers.write_text(answers.read_text().replace('site = ""', f'site = "{SITE}"')
                       + ("" if "site =" in answers.read_text() else f'[pbx]\nsite = "{SITE}"\n'))
    half = root / backup.BACKUP_DIR.lstrip("/") / "gen-cut0000"
    half.mkdir()  # what a run cut before its rename leaves: never current, removed
    backup.refresh(sink, RecordingRunner(), live=False)
    second = os.readlink(current(root))
    assert second != first
    gens = sorted(p.name for p in (root / backup.BACKUP_DIR.lstrip("/")).glob("gen-*"))
    assert gens == [second]
    assert (current(root) / backup.FILES / SITE.lstrip("/")).read_text() == "[site]\n"


def test_live_backup_takes_the_cib_from_cibadmin_without_status(tmp_path: Path) -> None:
    root = node(tmp_path)
    cib = root / backup.CIB_FILE.lstrip("/")
    cib.parent.mkdir(parents=True, exist_ok=True)
    cib.write_text("<cib epoch='1'><configuration/><status/></cib>\n")
    live = ("<cib epoch='7'><configuration><nodes/></configuration>"
            "<status><node_state id='1'/></status></cib>")

    runner = RecordingRunner(answers={("cibadmin",): Result(("cibadmin",), 0, live, "")})
    backup.refresh(FileSink(root), runner, live=True)
    kept = (current(root) / backup.FILES / backup.CIB_FILE.lstrip("/")).read_text()
    assert ("cibadmin", "--query") in runner.calls
    assert "epoch=\"7\"" in kept and "node_state" not in kept and "<status" in kept


def test_without_a_running_pacemaker_the_cib_file_is_kept(tmp_path: Path) -> None:
    root = node(tmp_path)
    cib = root / backup.CIB_FILE.lstrip("/")
    cib.parent.mkdir(parents=True, exist_ok=True)
    cib.write_text("<cib epoch='3'><configuration/><status/></cib>\n")
    down = Result(("cibadmin",), 102, "", "Could not connect to the CIB: Transport endpoint")
    backup.refresh(FileSink(root), RecordingRunner(answers={("cibadmin",): down}), live=True)
    kept = current(root) / backup.FILES / backup.CIB_FILE.lstrip("/")
    assert kept.read_bytes() == cib.read_bytes()


@pytest.mark.parametrize("text", ["not xml", "<cluster/>", "<cib><status>" * 3])
def test_a_cib_that_is_not_one_is_refused_in_one_line(text: str) -> None:
    with pytest.raises(ExpandError, match="cibadmin --query") as err:
        backup.cib_without_status(text)
    assert "\n" not in str(err.value)


def test_bad_files_below_etc_expand(tmp_path: Path) -> None:
    root = node(tmp_path)
    conf = root / "etc/expand"
    os.symlink("/etc/shadow", conf / "link")  # a symlink is not configuration: skipped
    os.mkfifo(conf / "fifo")  # neither is a pipe (reading it would hang)
    assert "/etc/expand/link" not in entries(root) and "/etc/expand/fifo" not in entries(root)
    huge = conf / "huge.bin"
    with huge.open("wb") as fh:
        fh.truncate(backup.MAX_FILE_BYTES + 1)
    before = os.readlink(current(root))
    with pytest.raises(ExpandError, match=r"huge\.bin") as err:
        backup.refresh(FileSink(root), RecordingRunner(), live=False)
    assert "\n" not in str(err.value)
    assert os.readlink(current(root)) == before  # the current backup is untouched
    huge.unlink()
    (conf / "bad\nname").write_text("x")
    with pytest.raises(ExpandError, match="tab or newline"):
        backup.plan_backup(FileSink(root), live=False, with_answers=False)


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00binary", b"[pbx\n" * 10,
                                     b"a = " + b"[" * 10000, b"#" * (2 * 1024 * 1024),
                                     None])
def test_broken_saved_answers_only_cost_the_site_file(tmp_path: Path,
                                                       content: bytes | None) -> None:
    root = node(tmp_path)
    answers = root / ANSWERS.lstrip("/")
    answers.unlink()
    if content is None:
        answers.mkdir()  # a folder where the answers should be
    else:
        answers.write_bytes(content)
    kept = entries(root)
    assert corosync.AUTHKEY_PATH in kept and SITE not in kept


def test_a_failed_backup_is_a_warning_of_a_successful_first_boot(tmp_path: Path) -> None:
    root = seed_root(tmp_path / "root", "debian12")
    (root / backup.DATA_MOUNT.lstrip("/")).mkdir(parents=True)
    (root / backup.BACKUP_DIR.lstrip("/")).write_text("a file, not a folder")
    proc = apply_cli(EXAMPLES / "secondary.toml", root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((root / "var/lib/expand/firstboot-report.json").read_text())
    assert report["ok"] is True
    assert any("upgrade backup" in w and backup.BACKUP_DIR in w for w in report["warnings"])
