"""The product package, built for real (rpmbuild, rpmlint), installs in a booted nspawn node
with no network: its payload unpacked (rpm2cpio | cpio), its %post run as rpm runs it
(Debian's python3.11 stands in for Rocky's), then expandctl, first-boot plan and the unit
work there; a second %post (rpm -U) is safe and the erase scripts remove /opt/expand."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.paths import EXPANDCTL
from firstboot import paths
from kickstart.scripts import post_chroot
from lab.nspawn import Lab, Node, lab
from release.build import DEFAULT_CACHE, RPMLINTRC
from release.plan import VENV, WHEEL_DIR
from tests.support import heavy_lock, require_tools

REPO = Path(__file__).resolve().parents[2]
DRY_RUN = ["--root", "/tmp/dry", "--platform", "rhel", "--lan-nic", "eth0",
           "--interconnect-nic", "eth1"]


def _query(rpm: Path, tag: str) -> str:
    return subprocess.run(["rpm", "-qp", "--queryformat", f"%{{{tag}}}", str(rpm)],
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    require_tools("rpmbuild", "rpmlint", "rpm2cpio", "cpio", "systemd-nspawn")
    if not any(DEFAULT_CACHE.glob("*.whl")):
        pytest.fail(f"{DEFAULT_CACHE}: no wheel cache; run 'make wheelhouse'")
    out = tmp_path_factory.mktemp("release") / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "appliance.cli", "release", "build", "--wheels",
         str(DEFAULT_CACHE), "--out", str(out), "--release", "7", "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=900)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    rpm = out / "expand-appliance-3.2.0-7.x86_64.rpm"
    assert Path(str(result["path"])) == rpm and rpm.is_file()
    assert [p.name for p in out.iterdir()] == [rpm.name]  # no partial file left
    return rpm, result


@pytest.fixture(scope="module")
def node(built: tuple[Path, dict[str, object]],
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Node]]:
    rpm, _ = built
    with heavy_lock(), lab(tmp_path_factory.mktemp("nspawn")) as the_lab:
        # No address, no route: the node reaches nothing, so every wheel must be bundled.
        the_node = the_lab.add_node("rel1")
        # The lab's own copy of the toolkit goes: only the package may provide it.
        the_node.run(["rm", "-rf", "/opt/expand", EXPANDCTL, paths.UNIT_PATH])
        unpack = subprocess.run(
            f"rpm2cpio {shlex.quote(str(rpm))} | cpio -idmu --quiet -D "
            f"{shlex.quote(str(the_node.root))}", shell=True, capture_output=True, text=True)
        assert unpack.returncode == 0, unpack.stderr
        post = the_node.run(["sh", "-c", _query(rpm, "POSTIN"), "post", "1"], timeout=600)
        assert post.returncode == 0
        yield the_lab, the_node


def test_rpmlint_reports_no_error(built: tuple[Path, dict[str, object]]) -> None:
    rpm, result = built
    lint = subprocess.run(["rpmlint", "-r", str(RPMLINTRC), str(rpm)],
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
    assert " 0 errors" in lint.stdout and ": E: " not in lint.stdout
    assert " 0 errors" in str(result["rpmlint"])


def test_package_metadata(built: tuple[Path, dict[str, object]]) -> None:
    rpm, result = built
    assert _query(rpm, "ARCH") == "x86_64"
    requires = subprocess.run(["rpm", "-qp", "--requires", str(rpm)], capture_output=True,
                              text=True, check=True).stdout.splitlines()
    for name in ("python3.11", "pacemaker", "asterisk", "(drbd9x-utils or drbd-utils)"):
        assert name in requires
    files = subprocess.run(["rpm", "-qlp", str(rpm)], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    assert "/usr/bin/expandctl" in files and paths.UNIT_PATH in files
    wheels = [f.rsplit("/", 1)[1] for f in files if f.endswith(".whl")]
    assert sorted(wheels) == sorted(map(str, result["wheels"]))  # type: ignore[call-overload]
    assert any(w.startswith("expand_appliance-3.2.0-") for w in wheels)
    assert not any(w.startswith(("pytest", "setuptools")) for w in wheels)


def test_expandctl_runs_from_the_package_venv(node: tuple[Lab, Node]) -> None:
    _, the_node = node
    help_text = the_node.run(["/usr/bin/expandctl", "--help"]).stdout
    assert "firstboot" in help_text and "release" in help_text
    where = the_node.run([f"{VENV}/bin/python3", "-c",
                          "import appliance, pykickstart, cryptography; print(appliance.__file__)"])
    assert where.stdout.startswith(f"{VENV}/lib/python3.11/site-packages/appliance/")
    # The wheels were installed from the payload, not reached over a network.
    assert the_node.run(["ip", "route", "show", "default"]).stdout.strip() == ""


def test_firstboot_plan_of_the_example_answers(node: tuple[Lab, Node]) -> None:
    _, the_node = node
    (the_node.root / "root/primary.toml").write_text(
        (REPO / "examples/answers/primary.toml").read_text())
    the_node.run(["mkdir", "-p", "/tmp/dry"])
    plan = the_node.run(["expandctl", "firstboot", "plan", "/root/primary.toml", *DRY_RUN],
                        check=False)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert plan.stdout.startswith("Plan for alternate root /tmp/dry (files only); platform rhel")
    assert "1. Checking hardware and RAID" in plan.stdout
    assert paths.UNIT_WANTS_LINK in plan.stdout  # the last step disables the unit


def test_systemd_accepts_the_unit_and_the_kickstart_enables_it(node: tuple[Lab, Node]) -> None:
    _, the_node = node
    the_node.run(["systemctl", "daemon-reload"])
    shown = the_node.run(["systemctl", "cat", paths.UNIT_NAME]).stdout
    # Debian's systemd names the merged /lib; Rocky's /usr/lib: both are the shipped file.
    assert shown.splitlines()[0].endswith(f"/lib/systemd/system/{paths.UNIT_NAME}")
    assert "ExecStart=/usr/bin/expandctl firstboot" in shown
    verify = the_node.run(["systemd-analyze", "verify", paths.UNIT_PATH], check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # The install kickstart's %post only enables what the package shipped.
    the_node.run(["sh", "-c", post_chroot("3.2", None)])
    enabled = the_node.run(["systemctl", "is-enabled", paths.UNIT_NAME], check=False)
    assert enabled.stdout.strip() == "enabled"


def test_post_again_and_erase(node: tuple[Lab, Node], built: tuple[Path, dict[str, object]]
                              ) -> None:
    rpm, _ = built
    _, the_node = node
    # rpm -U: the new package's %post (2 instances), then the old one's erase scripts with 1.
    the_node.run(["sh", "-c", _query(rpm, "POSTIN"), "post", "2"], timeout=600)
    for tag in ("PREUN", "POSTUN"):
        the_node.run(["sh", "-c", _query(rpm, tag), tag.lower(), "1"])
    assert "firstboot" in the_node.run(["/usr/bin/expandctl", "--help"]).stdout
    # rpm -e: both erase scripts with 0 remove the venv and disable the unit.
    for tag in ("PREUN", "POSTUN"):
        the_node.run(["sh", "-c", _query(rpm, tag), tag.lower(), "0"])
    assert not (the_node.root / VENV.lstrip("/")).exists()
    assert (the_node.root / WHEEL_DIR.lstrip("/")).is_dir()  # rpm itself removes the payload
    enabled = the_node.run(["systemctl", "is-enabled", paths.UNIT_NAME], check=False)
    assert enabled.stdout.strip() == "disabled"


def _build_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "appliance.cli", "release", "build", *args],
                          capture_output=True, text=True, cwd=REPO, timeout=900)


@pytest.mark.parametrize(("left_out", "named"), [
    ("pykickstart", "no fitting wheel of pykickstart<4,>=3.48 for the package"),
    ("setuptools", "no fitting wheel of setuptools>=68 to build the toolkit's wheel"),
    ("pip", "no fitting wheel of pip for the package"),
])
def test_a_wheelhouse_missing_a_distribution_is_refused(tmp_path: Path, left_out: str,
                                                        named: str) -> None:
    if not any(DEFAULT_CACHE.glob("*.whl")):
        pytest.fail(f"{DEFAULT_CACHE}: no wheel cache; run 'make wheelhouse'")
    house = tmp_path / "wheels"
    house.mkdir()
    for wheel in DEFAULT_CACHE.glob("*.whl"):
        if not wheel.name.startswith(f"{left_out}-"):
            (house / wheel.name).symlink_to(wheel)
    proc = _build_cli("--wheels", str(house), "--out", str(tmp_path / "dist"))
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if not line.startswith("release: ")]
    assert errors == [f"expandctl: error: --wheels {house}: {named}"]
    assert not (tmp_path / "dist").exists() or not any((tmp_path / "dist").iterdir())


def test_out_on_a_read_only_file_system_is_refused(tmp_path: Path) -> None:
    mount = tmp_path / "ro"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mount)],
                   check=True)
    try:
        proc = _build_cli("--wheels", str(DEFAULT_CACHE), "--out", str(mount / "dist"))
    finally:
        subprocess.run(["umount", str(mount)], check=True)
    assert proc.returncode == 1
    assert proc.stderr == f"expandctl: error: --out {mount}/dist: on a read-only file system\n"
