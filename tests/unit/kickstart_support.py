"""Fake /sys and /proc trees shaped like the kernel's, for the kickstart's %pre disk logic."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

GIB_SECTORS = 2 * 1024 * 1024  # 512-byte sectors in a GiB


@dataclass(frozen=True)
class FakeDisk:
    name: str
    size_gib: float
    model: str = "QEMU HARDDISK"
    usb: bool = False
    removable: bool = False
    read_only: bool = False
    hidden: bool = False
    bus: str = "ata"  # ata | usb | fc | iscsi
    holders: tuple[str, ...] = ()


def make_sysfs(root: Path, devices: list[FakeDisk], uefi: bool = False) -> Path:
    """A sysfs tree: /sys/block/NAME symlinks into /sys/devices, as the kernel lays it out."""
    sysfs = root / "sys"
    (sysfs / "block").mkdir(parents=True)
    if uefi:
        (sysfs / "firmware" / "efi").mkdir(parents=True)
    for i, dev in enumerate(devices):
        target = f"host{i}/target{i}:0:0/{i}:0:0:0"
        bus = {"usb": f"pci0000:00/0000:00:14.0/usb1/1-{i}/1-{i}:1.0/{target}",
               "fc": f"pci0000:00/0000:3b:00.0/host{i}/rport-{i}:0-0/{target}",
               "iscsi": f"platform/host{i}/session{i}/{target}",
               "ata": f"pci0000:00/0000:00:1f.2/ata{i}/{target}",
               }["usb" if dev.usb else dev.bus]
        node = sysfs / "devices" / bus / "block" / dev.name
        node.mkdir(parents=True)
        (node / "size").write_text(f"{int(dev.size_gib * GIB_SECTORS)}\n")
        (node / "removable").write_text("1\n" if dev.removable else "0\n")
        (node / "ro").write_text("1\n" if dev.read_only else "0\n")
        if dev.hidden:
            (node / "hidden").write_text("1\n")
        (node / "holders").mkdir()
        for holder in dev.holders:
            (node / "holders" / holder).mkdir()
        (node / "device").mkdir()
        (node / "device" / "model").write_text(dev.model + "\n")
        os.symlink(os.path.relpath(node, sysfs / "block"), sysfs / "block" / dev.name)
    return sysfs


def make_procfs(root: Path, mem_gib: int) -> Path:
    proc = root / "proc"
    proc.mkdir()
    (proc / "meminfo").write_text(f"MemTotal:       {mem_gib * 1024 * 1024} kB\n"
                                  "MemFree:         1000 kB\n")
    return proc


def make_repo(root: Path) -> Path:
    repo = root / "media" / "expand" / "repo"
    (repo / "repodata").mkdir(parents=True)
    (repo / "repodata" / "repomd.xml").write_text("<repomd/>\n")
    return repo
