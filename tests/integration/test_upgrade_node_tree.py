"""Install, then upgrade, a node's tree: a real first-boot apply into a Debian root leaves
the backup on /srv/expand; a fresh root (as a reinstall leaves it) with the same /srv/expand
gets the upgrade kickstart's own %post; every identity file comes back byte for byte with
its mode and owner, the first boot then applies the restored answers unattended and keeps
the cluster identity (no new join code). The %pre refuses without a backup, with another
node's, and without ``expand.upgrade=``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pykickstart.constants import KS_SCRIPT_POST, KS_SCRIPT_PRE

from appliance import backup
from firstboot import paths
from kickstart.build import KickstartOptions, parse, render_upgrade
from lab.nspawn import scratch_root
from tests.unit.kickstart_support import make_procfs, make_repo, make_sysfs

REPO = Path(__file__).resolve().parents[2]
EXPANDCTL = Path(sys.executable).parent / "expandctl"
FACTS = REPO / "tests/unit/fixtures/firstboot/host-two-nics.json"
SITE = REPO / "examples/site/acme.toml"
UPGRADE_KS = render_upgrade(KickstartOptions())


def run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300,
                          env={**os.environ, **(env or {})})


def script(kind: int) -> str:
    for s in parse(UPGRADE_KS).scripts:
        if s.type == kind and (kind == KS_SCRIPT_PRE or s.inChroot):
            body: str = s.script
            return body
    raise AssertionError("script not found")


def host_keys(root: Path) -> None:
    """A system's own SSH host keys, as its install makes them (each root differs)."""
    ssh = root / "etc/ssh"
    ssh.mkdir(parents=True, exist_ok=True)
    for old in ssh.glob("ssh_host_*"):
        old.unlink()
    proc = run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "",
                "-f", str(ssh / "ssh_host_ed25519_key")])
    assert proc.returncode == 0, proc.stderr


def identity(root: Path, listing: list[list[str]], kinds: tuple[str, ...]) -> dict[str, object]:
    """path → (bytes, mode, uid, gid) of every kept file of these kinds."""
    out: dict[str, object] = {}
    for kind_type, kind, _, _, _, path in listing:
        if kind_type == "f" and kind in kinds and path != backup.UPGRADE_ANSWERS:
            host = root / path.lstrip("/")
            if not host.exists():
                out[path] = None
                continue
            st = host.lstat()
            out[path] = (host.read_bytes(), st.st_mode, st.st_uid, st.st_gid)
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(root after the first boot, a site file's path there), backup written."""
    base = tmp_path_factory.mktemp("installed")
    site = base / "acme.toml"  # the answers name a file of the box: here and in the root
    shutil.copy(SITE, site)
    answers = base / "answers.toml"
    answers.write_text((REPO / "examples/answers/primary.toml").read_text()
                       .replace('site = ""', f'site = "{site}"'))
    with scratch_root(base / "node") as root:
        host_keys(root)
        (root / str(site).lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SITE, root / str(site).lstrip("/"))
        (root / "etc/asterisk").mkdir(exist_ok=True)  # as the asterisk package leaves it
        proc = run([str(EXPANDCTL), "firstboot", "--answers", str(answers), "--yes",
                    "--root", str(root), "--host-facts", str(FACTS)])
        assert proc.returncode == 0, proc.stdout + proc.stderr
        yield root, site


def listing_of(root: Path) -> list[list[str]]:
    text = (root / backup.CURRENT.lstrip("/") / backup.RESTORE_LIST).read_text()
    return [line.split("\t") for line in text.splitlines()]


def reinstall(base: Path, installed_root: Path) -> Iterator[Path]:
    with scratch_root(base) as fresh:
        host_keys(fresh)
        (fresh / "etc/asterisk").mkdir(exist_ok=True)
        shutil.copytree(installed_root / "srv/expand", fresh / "srv/expand", symlinks=True)
        yield fresh


def upgrade_post(root: Path, tmp: Path, mode: str) -> subprocess.CompletedProcess[str]:
    procfs = tmp / f"proc-{mode}"
    procfs.mkdir()
    (procfs / "cmdline").write_text(f"BOOT_IMAGE=vmlinuz inst.ks=x expand.upgrade={mode}\n")
    return run(["sh", "-c", script(KS_SCRIPT_POST)],
               env={"EXPAND_ROOT": str(root), "EXPAND_PROCFS": str(procfs)})


def test_cluster_upgrade_brings_every_identity_file_back(installed: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    root, site = installed
    listing = listing_of(root)
    kept = {row[5] for row in listing}
    for path in ("/etc/ssh/ssh_host_ed25519_key", "/etc/expand/tunnel/id_ed25519",
                 "/etc/corosync/authkey", "/etc/corosync/corosync.conf",
                 paths.JOIN_CODE, paths.ANSWERS, str(site)):
        assert path in kept, path
    before = identity(root, listing, ("node", "cluster"))
    for fresh in reinstall(tmp_path / "fresh", root):
        assert identity(fresh, listing, ("node",)) != identity(root, listing, ("node",))
        proc = upgrade_post(fresh, tmp_path, "cluster")
        assert proc.returncode == 0, proc.stderr
        assert identity(fresh, listing, ("node", "cluster")) == before
        assert (fresh / "etc/expand/release").read_text() == "3.2\n"
        assert (fresh / backup.UPGRADE_MODE_FILE.lstrip("/")).read_text() == "cluster\n"
        restored = fresh / backup.UPGRADE_ANSWERS.lstrip("/")
        assert restored.stat().st_mode & 0o777 == 0o600
        # The first boot after the upgrade: no --answers, no wizard: the restored answers.
        proc = run([str(EXPANDCTL), "firstboot", "--root", str(fresh),
                    "--host-facts", str(FACTS)])
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "dry run: nothing applied" in proc.stdout
        assert "Join code" in proc.stdout  # the stored one, shown again: not a new one
        assert not restored.exists()
        assert not (fresh / paths.SENTINEL.lstrip("/")).exists()
        # Same identity after that first boot: the node rejoins with its own key.
        assert identity(fresh, listing, ("node", "cluster")) == before


def test_standalone_upgrade_leaves_the_cluster_identity_out(installed: tuple[Path, Path],
                                                            tmp_path: Path) -> None:
    root, _ = installed
    listing = listing_of(root)
    for fresh in reinstall(tmp_path / "fresh", root):
        (fresh / "etc/corosync/authkey").unlink(missing_ok=True)
        proc = upgrade_post(fresh, tmp_path, "standalone")
        assert proc.returncode == 0, proc.stderr
        assert identity(fresh, listing, ("node",)) == identity(root, listing, ("node",))
        assert not (fresh / "etc/corosync/authkey").exists()
        assert not (fresh / paths.JOIN_CODE.lstrip("/")).exists()


def test_post_without_a_backup_or_a_mode_stops(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    proc = upgrade_post(root, tmp_path, "cluster")
    assert proc.returncode == 1 and "no backup at /srv/expand/backup/current" in proc.stderr
    proc = upgrade_post(root, tmp_path, "sideways")
    assert proc.returncode == 1 and "expand.upgrade=cluster or" in proc.stderr


def pre_env(tmp: Path, cmdline: str, data: Path, old: Path | None) -> dict[str, str]:
    procfs = make_procfs(tmp, 4)
    (procfs / "cmdline").write_text(cmdline)
    blkid = tmp / "blkid"
    blkid.write_text("DEVNAME=/dev/vda4\nLABEL=expand-data\nTYPE=xfs\n\n"
                     "DEVNAME=/dev/vda3\nLABEL=expand-root\nTYPE=xfs\n")
    return {"EXPAND_PRE_SYSFS": str(make_sysfs(tmp, [])), "EXPAND_PRE_PROCFS": str(procfs),
            "EXPAND_PRE_BLKID": str(blkid), "EXPAND_PRE_REPO": str(make_repo(tmp)),
            "EXPAND_PRE_INCLUDE": str(tmp / "part.ks"),
            "EXPAND_PRE_WARNINGS": str(tmp / "warnings"),
            "EXPAND_PRE_DATA": str(data), "EXPAND_PRE_OLDROOT": str(old) if old else ""}


@pytest.mark.parametrize(("case", "says"), [
    ("good", ""),
    ("no-backup", "no upgrade backup on the data filesystem"),
    ("other-node", "from another node"),
    ("no-mode", "no expand.upgrade=cluster|standalone"),
    ("unknown-mode", "is not cluster or standalone"),
])
def test_pre_checks_the_backup_and_the_boot_entry(installed: tuple[Path, Path], tmp_path: Path,
                                                  case: str, says: str) -> None:
    root, _ = installed
    pre = tmp_path / "pre.py"
    pre.write_text(script(KS_SCRIPT_PRE))
    cmdline = {"no-mode": "BOOT_IMAGE=vmlinuz quiet\n",
               "unknown-mode": "expand.upgrade=sideways\n"}.get(case,
                                                               "expand.upgrade=cluster\n")
    data = tmp_path / "empty" if case == "no-backup" else root / "srv/expand"
    old = root
    if case == "other-node":
        old = tmp_path / "other"
        (old / "etc").mkdir(parents=True)
        (old / "etc/hostname").write_text("someone-else\n")
    proc = run([sys.executable, "-I", str(pre)], env=pre_env(tmp_path, cmdline, data, old))
    if case == "good":
        assert proc.returncode == 0, proc.stderr
        assert "cluster upgrade of" in proc.stderr
        assert (tmp_path / "part.ks").is_file()
        return
    assert proc.returncode == 1, proc.stderr
    assert says in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "part.ks").exists()
