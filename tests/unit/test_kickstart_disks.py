"""The %pre disk logic (kickstart/disks.py) on fake sysfs trees shaped like the kernel's."""

from __future__ import annotations

from pathlib import Path

import pytest

from kickstart import disks
from kickstart.build import parse
from tests.unit.kickstart_support import FakeDisk, make_procfs, make_repo, make_sysfs


def run_pre(tmp_path: Path, devices: list[FakeDisk], uefi: bool = False,
            mem_gib: int = 32) -> tuple[int, str, str]:
    sysfs = make_sysfs(tmp_path, devices, uefi)
    proc = make_procfs(tmp_path, mem_gib)
    repo = make_repo(tmp_path)
    include, warnings = tmp_path / "part.ks", tmp_path / "warnings"
    code = disks.main(["--sysfs", str(sysfs), "--procfs", str(proc), "--repo", str(repo),
                       "--include", str(include), "--warnings", str(warnings)])
    if code != 0:
        return code, "", ""
    return code, include.read_text(), warnings.read_text()


def parsed(include: str) -> object:
    # The include must itself be valid RHEL 9 kickstart syntax.
    return parse(include)


def test_two_equal_disks_mirror_everything(tmp_path: Path) -> None:
    code, include, warnings = run_pre(tmp_path, [FakeDisk("sda", 500), FakeDisk("sdb", 500)])
    assert code == 0 and warnings == ""
    h = parse(include)
    assert h.ignoredisk.onlyuse == ["sda", "sdb"]
    raids = {r.mountpoint: r for r in h.raid.dataList()}
    assert set(raids) == {"/boot", "swap", "/", "/srv/expand"}
    for raid in raids.values():
        assert raid.level == "RAID1" and len(raid.members) == 2
    members = {p.mountpoint: p.disk for p in h.partition.dataList()}
    assert members["raid.root1"] == "sda" and members["raid.root2"] == "sdb"
    # BIOS: one BIOS boot partition per disk, no ESP.
    assert [p.disk for p in h.partition.dataList() if p.mountpoint == "biosboot"] == ["sda", "sdb"]
    assert not any(p.fstype == "efi" for p in h.partition.dataList())
    # Equal disks: members simply grow, no cap.
    assert all(p.maxSizeMB == 0 for p in h.partition.dataList())


def test_two_disks_uefi_get_one_esp_each(tmp_path: Path) -> None:
    code, include, _ = run_pre(tmp_path, [FakeDisk("sda", 500), FakeDisk("sdb", 500)],
                               uefi=True)
    assert code == 0
    esps = [(p.mountpoint, p.disk) for p in parse(include).partition.dataList()
            if p.fstype == "efi"]
    assert esps == [("/boot/efi", "sda"), ("/boot/efi2", "sdb")]
    # Either disk may die: its ESP missing must not drop the boot into emergency mode.
    assert all("nofail" in p.fsopts for p in parse(include).partition.dataList()
               if p.fstype == "efi")
    assert "biosboot" not in include


def test_one_disk_plain_layout_and_warning(tmp_path: Path) -> None:
    code, include, warnings = run_pre(tmp_path, [FakeDisk("sda", 500)])
    assert code == 0
    h = parse(include)
    assert h.raid.dataList() == []
    assert {p.mountpoint for p in h.partition.dataList()} == {
        "biosboot", "/boot", "swap", "/", "/srv/expand"}
    assert "only one disk" in warnings and "WITHOUT RAID-1" in warnings


def test_one_hardware_raid_volume_is_noted_as_such(tmp_path: Path) -> None:
    code, _, warnings = run_pre(tmp_path, [FakeDisk("sda", 900, model="PERC H730 Mini")])
    assert code == 0
    assert "hardware RAID volume" in warnings and "WITHOUT" not in warnings


def test_usb_stick_and_cdrom_are_ignored(tmp_path: Path) -> None:
    devices = [FakeDisk("sda", 500), FakeDisk("sdb", 500),
               FakeDisk("sdc", 32, model="DataTraveler", usb=True, removable=True),
               FakeDisk("sr0", 10, model="DVD-ROM")]
    code, include, warnings = run_pre(tmp_path, devices)
    assert code == 0 and warnings == ""
    h = parse(include)
    assert h.ignoredisk.onlyuse == ["sda", "sdb"]
    assert "sdc" not in include and "sr0" not in include


def test_usb_stick_listed_first_is_still_ignored(tmp_path: Path) -> None:
    # A stick that enumerates as sda must not become the install disk.
    devices = [FakeDisk("sda", 64, usb=True), FakeDisk("sdb", 500), FakeDisk("sdc", 500)]
    code, include, _ = run_pre(tmp_path, devices)
    assert code == 0
    assert parse(include).ignoredisk.onlyuse == ["sdb", "sdc"]


def test_san_luns_and_multipath_paths_are_never_touched(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    devices = [FakeDisk("sda", 100), FakeDisk("sdb", 2000, bus="fc"),
               FakeDisk("sdc", 2000, bus="iscsi"), FakeDisk("sdd", 2000, holders=("dm-0",))]
    code, include, warnings = run_pre(tmp_path, devices)
    assert code == 0
    assert parse(include).ignoredisk.onlyuse == ["sda"]
    assert "only one disk" in warnings
    err = capsys.readouterr().err
    assert "sdb: SAN LUN" in err and "sdc: SAN LUN" in err and "sdd: held by dm-0" in err


def test_unequal_disks_mirror_sized_to_the_smaller(tmp_path: Path) -> None:
    code, include, warnings = run_pre(tmp_path, [FakeDisk("sda", 500), FakeDisk("sdb", 1000)])
    assert code == 0
    h = parse(include)
    data = [p for p in h.partition.dataList() if p.mountpoint.startswith("raid.data")]
    assert len(data) == 2 and data[0].maxSizeMB == data[1].maxSizeMB > 0
    # Everything on one member fits on the smaller disk.
    on_sda = [p for p in h.partition.dataList() if p.disk == "sda"]
    used = sum(p.size for p in on_sda if not p.grow) + data[0].maxSizeMB
    assert used <= 500 * 1024
    assert used >= 500 * 1024 - 64  # and little of it is wasted
    assert "differ in size" in warnings and "sdb unused" in warnings


def test_nvme_names(tmp_path: Path) -> None:
    devices = [FakeDisk("nvme1n1", 960), FakeDisk("nvme0n1", 960),
               FakeDisk("nvme0c0n1", 960, hidden=True)]
    code, include, _ = run_pre(tmp_path, devices, uefi=True)
    assert code == 0
    h = parse(include)
    assert h.ignoredisk.onlyuse == ["nvme0n1", "nvme1n1"]
    assert {p.disk for p in h.partition.dataList()} == {"nvme0n1", "nvme1n1"}


def test_more_than_two_disks_extra_left_alone(tmp_path: Path) -> None:
    devices = [FakeDisk("sda", 500), FakeDisk("sdb", 500), FakeDisk("sdc", 2000)]
    code, include, warnings = run_pre(tmp_path, devices)
    assert code == 0
    assert parse(include).clearpart.drives == ["sda", "sdb"]
    assert "sdc: more than two disks; left untouched" in warnings


def test_natural_disk_order() -> None:
    names = ["sdaa", "sdb", "sda", "nvme10n1", "nvme2n1"]
    assert sorted(names, key=disks._natural_key) == ["sda", "sdb", "sdaa", "nvme2n1",
                                                       "nvme10n1"]


def test_no_disk_stops_the_install(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run_pre(tmp_path, [FakeDisk("sda", 16, usb=True), FakeDisk("sdb", 10)])
    assert code == 1
    err = capsys.readouterr().err
    assert "no disk to install on" in err and "sda: USB device" in err and "too small" in err


def test_missing_product_repo_stops_the_install(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    sysfs = make_sysfs(tmp_path, [FakeDisk("sda", 500)])
    code = disks.main(["--sysfs", str(sysfs), "--repo", str(tmp_path / "nope"),
                       "--include", str(tmp_path / "inc"), "--warnings", str(tmp_path / "w")])
    assert code == 1
    assert "package repository is missing from the disc" in capsys.readouterr().err
    assert not (tmp_path / "inc").exists()


@pytest.mark.parametrize(("mem_gib", "expected_mib"), [(4, 4096), (32, 16384), (128, 16384),
                                                       (12, 8192)])
def test_swap_follows_memory(mem_gib: int, expected_mib: int) -> None:
    assert disks.swap_size_mib(mem_gib * 1024, 500 * 1024) == expected_mib


def test_small_disk_caps_swap_and_root() -> None:
    layout = disks.choose_layout([disks.Disk("vda", 30 * 1024)], [], True, 64 * 1024)
    assert layout.swap_mib == 3072 and layout.root_mib < 40 * 1024


BLKID_MIRRORED = """DEVNAME=/dev/sda1
LABEL=EXPAND-ESP1
TYPE=vfat

DEVNAME=/dev/sdb1
LABEL=EXPAND-ESP2
TYPE=vfat

DEVNAME=/dev/sda5
UUID=1c7e
LABEL=expand1:data
TYPE=linux_raid_member
"""


def test_upgrade_reuses_arrays_and_keeps_data() -> None:
    include, mirrored = disks.upgrade_include(disks.parse_blkid(BLKID_MIRRORED), uefi=True)
    assert mirrored
    h = parse(include)
    raids = {r.mountpoint: r for r in h.raid.dataList()}
    assert all(r.preexist for r in raids.values())
    assert raids["/srv/expand"].format is False
    assert raids["/"].format is True
    assert not h.clearpart.seen and not h.zerombr.zerombr
    assert [p.onPart for p in h.partition.dataList()] == ["LABEL=EXPAND-ESP1",
                                                          "LABEL=EXPAND-ESP2"]


def test_upgrade_of_single_disk_install() -> None:
    probe = "DEVNAME=/dev/sda5\nLABEL=expand-data\nTYPE=xfs\n"
    include, mirrored = disks.upgrade_include(disks.parse_blkid(probe), uefi=False)
    assert not mirrored
    parts = {p.mountpoint: p for p in parse(include).partition.dataList()}
    assert parts["/srv/expand"].onPart == "LABEL=expand-data" and not parts["/srv/expand"].format


def test_upgrade_without_previous_install_refuses() -> None:
    with pytest.raises(disks.LayoutError, match="no previous eXpand installation"):
        disks.upgrade_include(disks.parse_blkid("DEVNAME=/dev/sda1\nTYPE=ntfs\n"), uefi=False)
