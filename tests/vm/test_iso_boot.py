"""The branded demo DVD booted in QEMU (TCG): BIOS/UEFI × CD/USB stick, keys, failures.

Each boot takes the shared heavy lock (tests/integration/iso_support.py), so these tests
wait their turn on a machine shared with other CPU-heavy jobs.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from appliance.runner import Runner
from iso.boottest import BootTestOptions, BootTestResult, boot_test
from iso.build import BuildOptions, build_iso
from kickstart.build import KS_INSTALL_PATH, KS_UPGRADE_PATH
from tests.integration.iso_support import build_demo_and_branded, heavy_lock

ENTRIES = ["Install eXpand (3.2)", "Upgrade eXpand (3.1 -> 3.2)",
           "Upgrade eXpand standalone (3.1 -> 3.2)", "Install system with basic video driver",
           "Rescue installed system", "Boot from local drive", "Memory test"]


@pytest.fixture(scope="module")
def branded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_and_branded(tmp_path_factory.mktemp("iso-boot"))[1]


def _boot(iso: Path, firmware: str, media: str, log: Path,
          entry: int | None = None) -> BootTestResult:
    with heavy_lock():
        return boot_test(Runner(), BootTestOptions(iso, firmware, media, entry,
                                                   timeout_s=240, log_path=log))


@pytest.mark.parametrize(("firmware", "media"), [
    ("bios", "cdrom"), ("bios", "disk"), ("uefi", "cdrom"), ("uefi", "disk")])
def test_default_entry_boots_with_kickstart(branded: Path, tmp_path: Path, firmware: str,
                                            media: str) -> None:
    log = tmp_path / "console.log"
    result = _boot(branded, firmware, media, log)
    assert result.ok, (result.failure, result.menu_missing, log.read_bytes()[-2000:])
    assert result.failure is None
    assert result.menu_missing == []
    assert all(label in result.menu_seen for label in ENTRIES)
    if firmware == "bios":
        assert "Welcome to eXpand 3.2!" in result.menu_seen
        assert "Welcome to eXpand 3.2!" in result.menu_screen
    assert result.entry == 1
    assert result.cmdline is not None
    assert f":{KS_INSTALL_PATH}" in result.cmdline
    assert result.kickstart == KS_INSTALL_PATH and result.kickstart_read
    assert b"EXPAND-DEMO: kickstart end md5=" in log.read_bytes()  # the log is kept


def test_non_default_entry_chosen_with_keys(branded: Path, tmp_path: Path) -> None:
    result = _boot(branded, "bios", "cdrom", tmp_path / "console.log", entry=3)
    assert result.ok, result.failure
    assert result.entry_label == "Upgrade eXpand standalone (3.1 -> 3.2)"
    assert result.cmdline is not None
    assert "expand.upgrade=standalone" in result.cmdline.split()
    assert f":{KS_UPGRADE_PATH}" in result.cmdline
    assert result.kickstart == KS_UPGRADE_PATH and result.kickstart_read


def test_disc_not_found_fails_early_with_a_clear_message(branded: Path,
                                                         tmp_path: Path) -> None:
    # Relabelled behind the menus' back: the kernel boots but cannot find its disc.
    relabelled = tmp_path / "relabelled.iso"
    subprocess.run(["xorriso", "-indev", str(branded), "-outdev", str(relabelled),
                    "-boot_image", "any", "replay", "-volid", "SOME-OTHER-DISC"],
                   check=True, capture_output=True)
    log = tmp_path / "console.log"
    result = _boot(relabelled, "bios", "cdrom", log)
    assert not result.ok
    assert result.failure is not None
    assert "initramfs failed" in result.failure and "no disc labelled" in result.failure
    assert result.seconds < 200  # ended on the marker, not on the timeout
    assert log.exists()


def test_countdown_boots_the_default_entry_without_keys(branded: Path, tmp_path: Path) -> None:
    base = branded.with_name("base.iso")
    quick = tmp_path / "quick.iso"
    build_iso(BuildOptions(base, quick, timeout_s=3, no_repo=True), Runner())  # menus only
    with heavy_lock():
        result = boot_test(Runner(), BootTestOptions(
            quick, "uefi", "cdrom", None, timeout_s=240, log_path=tmp_path / "console.log",
            wait_countdown=True))
    assert result.ok, result.failure
    assert result.kickstart == KS_INSTALL_PATH and result.kickstart_read
