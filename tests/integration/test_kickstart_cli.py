"""expandctl kickstart and the kickstart's own scripts, run for real.

- the CLI through a real shell pipe, and pykickstart's ksvalidator on the same files;
- the embedded %pre (Python) extracted from the rendered kickstart and run on fake sysfs
  trees, with anaconda's Python 3.9 when pyenv has it;
- the %post bodies run by /bin/sh against a temporary root.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pykickstart.constants import KS_SCRIPT_POST, KS_SCRIPT_PRE

from appliance import backup
from appliance.filesink import FileSink
from appliance.runner import RecordingRunner
from firstboot import paths
from firstboot.unit import unit_text
from kickstart import checks
from kickstart.build import INCLUDE_LINE, KickstartOptions, parse, render_install, render_upgrade
from tests.unit.kickstart_support import FakeDisk, make_procfs, make_repo, make_sysfs

BIN = Path(sys.executable).parent
EXPANDCTL = str(BIN / "expandctl")
KSVALIDATOR = str(BIN / "ksvalidator")
PY39 = Path("/root/.pyenv/versions/3.9.18/bin/python3")
# anaconda's runtime is Python 3.9: also run the %pre on it where pyenv has one (os.access:
# no error when an unprivileged user collects this module).
INTERPRETERS = [sys.executable] + ([str(PY39)] if os.access(PY39, os.X_OK) else [])

BROKEN_RAID = """text
harddrive --partition=LABEL=X --dir=/
rootpw --lock
zerombr
clearpart --all --initlabel --disklabel=gpt
part /boot/efi --fstype=efi --size=600 --ondisk=sda
part raid.01 --size=20000 --ondisk=sda
part raid.02 --size=20000 --ondisk=sdb
raid / --device=root --level=RAID1 --fstype=xfs raid.01 raid.03
"""


def run(argv: list[str], env: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120,
                          env=env, cwd=cwd)


def test_render_pipe_validate() -> None:
    for flag in ("", "--upgrade"):
        proc = run(["sh", "-c", f"{EXPANDCTL} kickstart render {flag} | "
                                f"{EXPANDCTL} kickstart validate -"])
        assert proc.returncode == 0, proc.stderr
        assert "kickstart valid" in proc.stderr


def test_ksvalidator_accepts_rendered(tmp_path: Path) -> None:
    for name, extra in (("install.ks", []), ("upgrade.ks", ["--upgrade"])):
        out = tmp_path / name
        proc = run([EXPANDCTL, "kickstart", "render", "-o", str(out), *extra])
        assert proc.returncode == 0, proc.stderr
        assert stat.S_IMODE(out.stat().st_mode) == 0o644
        check = run([KSVALIDATOR, "-v", "RHEL9", str(out)])
        assert check.returncode == 0, check.stdout + check.stderr


def test_render_with_hash_is_private(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "ks.cfg"
    proc = run([EXPANDCTL, "kickstart", "render", "-o", str(out), "--root-password-hash",
                "$6$salt$abcdefghijklmnop"])
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "rootpw --iscrypted $6$salt$abcdefghijklmnop" in out.read_text()
    bad = run([EXPANDCTL, "kickstart", "render", "--root-password-hash", "hunter2"])
    assert bad.returncode == 1 and "hunter2" not in bad.stderr + bad.stdout
    assert "crypt(3)" in bad.stderr and "Traceback" not in bad.stderr


def test_missing_raid_member_rejected_by_us_accepted_by_ksvalidator(tmp_path: Path) -> None:
    ks = tmp_path / "broken.ks"
    ks.write_text(BROKEN_RAID)
    theirs = run([KSVALIDATOR, "-v", "RHEL9", str(ks)])
    assert theirs.returncode == 0, theirs.stdout  # syntax alone cannot see it
    ours = run([EXPANDCTL, "kickstart", "validate", str(ks)])
    assert ours.returncode == 1
    assert ours.stderr.splitlines() == [
        f"{ks}:9: raid /: member raid.03 is not defined by any 'part raid.03'"]


def test_validate_reports_every_problem_and_json(tmp_path: Path) -> None:
    ks = tmp_path / "two.ks"
    ks.write_text(BROKEN_RAID.replace("part /boot/efi", "part /"))
    proc = run([EXPANDCTL, "kickstart", "validate", str(ks)])
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert any("mount point / is used twice" in line for line in lines)
    assert any("no EFI system partition" in line for line in lines)
    assert any("raid.03" in line for line in lines)
    js = run([EXPANDCTL, "kickstart", "validate", "--json", str(ks)])
    assert js.returncode == 1 and '"ok": false' in js.stdout


def test_validate_unreadable_file(tmp_path: Path) -> None:
    proc = run([EXPANDCTL, "kickstart", "validate", str(tmp_path / "nope.ks")])
    assert proc.returncode == 1 and "cannot read" in proc.stderr
    assert "Traceback" not in proc.stderr


def script_of(text: str, kind: int, in_chroot: bool = False) -> str:
    for script in parse(text).scripts:
        if script.type == kind and (kind == KS_SCRIPT_PRE or script.inChroot == in_chroot):
            body: str = script.script
            return body
    raise AssertionError("script not found")


@pytest.mark.parametrize("python", INTERPRETERS)
@pytest.mark.parametrize(("devices", "uefi", "disks_used"), [
    ([FakeDisk("sda", 500), FakeDisk("sdb", 500)], True, ["sda", "sdb"]),
    ([FakeDisk("vda", 60)], False, ["vda"]),
    ([FakeDisk("nvme0n1", 960), FakeDisk("nvme1n1", 960), FakeDisk("sda", 16, usb=True)],
     False, ["nvme0n1", "nvme1n1"]),
])
def test_embedded_pre_writes_a_valid_include(tmp_path: Path, python: str,
                                             devices: list[FakeDisk], uefi: bool,
                                             disks_used: list[str]) -> None:
    text = render_install(KickstartOptions())
    pre = tmp_path / "pre.py"
    pre.write_text(script_of(text, KS_SCRIPT_PRE))
    env = {**os.environ,
           "EXPAND_PRE_SYSFS": str(make_sysfs(tmp_path, devices, uefi)),
           "EXPAND_PRE_PROCFS": str(make_procfs(tmp_path, 16)),
           "EXPAND_PRE_REPO": str(make_repo(tmp_path)),
           "EXPAND_PRE_INCLUDE": str(tmp_path / "part.ks"),
           "EXPAND_PRE_WARNINGS": str(tmp_path / "warnings")}
    proc = run([python, "-I", str(pre)], env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    include = (tmp_path / "part.ks").read_text()
    assert parse(include).ignoredisk.onlyuse == disks_used
    combined = tmp_path / "combined.ks"
    combined.write_text(text.replace(INCLUDE_LINE, include))
    # A fixed kickstart must carry an ESP (the disc boots UEFI too), so the CLI is only
    # right for UEFI layouts; BIOS ones are checked for what BIOS needs.
    if uefi:
        ours = run([EXPANDCTL, "kickstart", "validate", str(combined)])
        assert ours.returncode == 0, ours.stderr
    else:
        handler, problems = checks.parse_reports(combined.read_text(), "combined")
        assert problems == []
        assert checks.layout_reports(handler, "combined", firmware="bios") == []
    theirs = run([KSVALIDATOR, "-v", "RHEL9", str(combined)])
    if len(disks_used) == 2 and not uefi:
        # One BIOS boot partition per disk: pykickstart warns (anaconda only logs it).
        assert "mountpoint biosboot has already been defined" in theirs.stdout + theirs.stderr
    else:
        assert theirs.returncode == 0, theirs.stdout + theirs.stderr


def test_embedded_pre_stops_without_product_repo(tmp_path: Path) -> None:
    pre = tmp_path / "pre.py"
    pre.write_text(script_of(render_install(KickstartOptions()), KS_SCRIPT_PRE))
    env = {**os.environ, "EXPAND_PRE_SYSFS": str(make_sysfs(tmp_path, [FakeDisk("sda", 500)])),
           "EXPAND_PRE_REPO": str(tmp_path / "missing"),
           "EXPAND_PRE_INCLUDE": str(tmp_path / "part.ks"),
           "EXPAND_PRE_WARNINGS": str(tmp_path / "warnings")}
    proc = run([INTERPRETERS[-1], "-I", str(pre)], env=env)
    assert proc.returncode == 1
    assert "eXpand package repository is missing" in proc.stderr
    assert not (tmp_path / "part.ks").exists()


def test_embedded_upgrade_pre_reads_blkid(tmp_path: Path) -> None:
    pre = tmp_path / "pre.py"
    pre.write_text(script_of(render_upgrade(KickstartOptions()), KS_SCRIPT_PRE))
    blkid = tmp_path / "blkid"
    blkid.write_text("DEVNAME=/dev/sda4\nLABEL=node1:data\nTYPE=linux_raid_member\n")
    procfs = make_procfs(tmp_path, 4)
    (procfs / "cmdline").write_text("BOOT_IMAGE=vmlinuz expand.upgrade=cluster quiet\n")
    data = tmp_path / "data"  # the data filesystem with the backup the %pre checks
    (data / "backup/current").mkdir(parents=True)
    (data / "backup/current/manifest.json").write_text('{"format": 1, "cluster": true}')
    env = {**os.environ, "EXPAND_PRE_SYSFS": str(make_sysfs(tmp_path, [])),
           "EXPAND_PRE_PROCFS": str(procfs), "EXPAND_PRE_DATA": str(data),
           "EXPAND_PRE_OLDROOT": "",
           "EXPAND_PRE_BLKID": str(blkid), "EXPAND_PRE_REPO": str(make_repo(tmp_path)),
           "EXPAND_PRE_INCLUDE": str(tmp_path / "part.ks"),
           "EXPAND_PRE_WARNINGS": str(tmp_path / "warnings")}
    proc = run([INTERPRETERS[-1], "-I", str(pre)], env=env)
    assert proc.returncode == 0, proc.stderr
    include = (tmp_path / "part.ks").read_text()
    assert "raid /srv/expand --device=data --useexisting --noformat" in include
    assert "clearpart" not in include and "zerombr" not in include


def test_post_installs_unit_and_sentinel(tmp_path: Path) -> None:
    body = script_of(render_install(KickstartOptions()), KS_SCRIPT_POST, in_chroot=True)
    root = tmp_path / "root"
    unit = root / paths.UNIT_PATH.lstrip("/")
    unit.parent.mkdir(parents=True)
    unit.write_text(unit_text())  # as the expand-appliance package ships it
    for _ in range(2):  # idempotent: a re-run leaves the same tree
        proc = run(["sh", "-c", body], env={**os.environ, "EXPAND_ROOT": str(root)})
        assert proc.returncode == 0, proc.stderr
    assert unit.read_text() == unit_text()  # enabled, not rewritten
    link = root / paths.UNIT_WANTS_LINK.lstrip("/")
    assert os.readlink(link) == paths.UNIT_PATH
    assert (root / paths.SENTINEL.lstrip("/")).is_file()
    assert (root / "etc/expand/release").read_text() == "3.2\n"
    # systemd itself, offline, agrees the unit is enabled (what 'systemctl enable' makes).
    enabled = run(["systemctl", f"--root={root}", "is-enabled", paths.UNIT_NAME])
    assert enabled.stdout.strip() == "enabled", enabled.stdout + enabled.stderr


def test_upgrade_post_restores_config(tmp_path: Path) -> None:
    body = script_of(render_upgrade(KickstartOptions()), KS_SCRIPT_POST, in_chroot=True)
    root = tmp_path / "root"
    (root / "etc/expand").mkdir(parents=True)
    (root / "etc/expand/answers.toml").write_text("mode = 'primary'\n")
    backup.refresh(FileSink(root), RecordingRunner(), live=False)
    shutil.rmtree(root / "etc")
    procfs = tmp_path / "proc"
    procfs.mkdir()
    (procfs / "cmdline").write_text("expand.upgrade=standalone\n")
    proc = run(["sh", "-c", body], env={**os.environ, "EXPAND_ROOT": str(root),
                                        "EXPAND_PROCFS": str(procfs)})
    assert proc.returncode == 0, proc.stderr
    assert (root / "etc/expand/answers.toml").read_text() == "mode = 'primary'\n"
    assert (root / "var/lib/expand/upgraded-from").read_text() == "3.1\n"
    assert (root / "etc/expand/release").read_text() == "3.2\n"  # the new one, not the old


def test_nochroot_post_copies_warnings_and_answers(tmp_path: Path) -> None:
    body = script_of(render_install(KickstartOptions(answers_on_media=True)), KS_SCRIPT_POST)
    sysroot, media = tmp_path / "sysroot", tmp_path / "media"
    (media / "expand").mkdir(parents=True)
    sysroot.mkdir()
    warnings = tmp_path / "warnings"
    warnings.write_text("sda: only one disk; installed WITHOUT RAID-1\n")
    env = {**os.environ, "ANA_INSTALL_PATH": str(sysroot), "EXPAND_MEDIA": str(media),
           "EXPAND_WARNINGS": str(warnings)}
    missing = run(["sh", "-c", body], env=env)
    assert missing.returncode == 1 and "/expand/answers.toml" in missing.stderr
    (media / "expand" / "answers.toml").write_text("mode = 'primary'\n")
    proc = run(["sh", "-c", body], env=env)
    assert proc.returncode == 0, proc.stderr
    copied = sysroot / paths.MEDIA_ANSWERS.lstrip("/")
    assert copied.read_text() == "mode = 'primary'\n"
    assert stat.S_IMODE(copied.stat().st_mode) == 0o600
    assert (sysroot / "var/lib/expand/install-warnings").read_text() == warnings.read_text()
