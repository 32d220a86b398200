"""Choose the install disks and write the partitioning ``%include`` (the kickstart's ``%pre``).

This module's source is embedded verbatim in the kickstart as a ``%pre --interpreter=python3``
script, so it must run on anaconda's runtime: Python 3.9, standard library only, no imports
from this project. Everything it reads (sysfs, /proc/meminfo, ``blkid -o export``) comes in
through arguments, so tests run the same code on fake ``/sys/block`` trees.

Install: two disks -> RAID-1 (md) for /boot, swap, / and the data filesystem, one ESP (UEFI)
or BIOS boot partition (BIOS) per disk; one disk -> the same layout without md, plus a warning.
Upgrade: reuse the arrays/partitions a previous install made, reformatting the system and
keeping the data filesystem (``/srv/expand``) untouched.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Devices that are never install targets, by kernel name prefix.
IGNORED_PREFIXES = ("loop", "ram", "zram", "sr", "fd", "dm-", "md", "nbd", "drbd", "zd")
# Model strings of volumes that a hardware RAID controller exports (already mirrored).
HW_RAID_HINTS = ("PERC", "MEGARAID", "LOGICAL VOLUME", "SMART ARRAY", "SERVERAID", "RAID")
MIN_DISK_MIB = 20 * 1024
ESP_MIB = 600
BIOSBOOT_MIB = 1
BOOT_MIB = 1024
ROOT_MAX_MIB = 40 * 1024
ROOT_MIN_MIB = 8 * 1024
# Partition table, alignment and rounding between anaconda's sizes and ours.
SLACK_MIB = 16

DATA_MOUNT = "/srv/expand"
LABELS = {"/": "expand-root", "/boot": "expand-boot", DATA_MOUNT: "expand-data",
          "swap": "expand-swap"}
ESP_LABELS = ("EXPAND-ESP1", "EXPAND-ESP2")
# Mount points of the ESPs: UEFI cannot boot from an md mirror, so each disk gets its own
# and %post copies the first onto the second.
ESP_MOUNTS = ("/boot/efi", "/boot/efi2")
# Either disk may be the one that died: a missing ESP must not stop the boot.
ESP_OPTIONS = '--fsoptions="umask=0077,shortname=winnt,nofail,x-systemd.device-timeout=10s"'
MD_NAMES = {"/boot": "boot", "swap": "swap", "/": "root", DATA_MOUNT: "data"}

# The product's backup on the data filesystem (appliance.backup: BACKUP_DIR/current).
BACKUP_MANIFEST = "backup/current/manifest.json"
UPGRADE_MODES = ("cluster", "standalone")
# Where %pre mounts the data filesystem and the old root (read-only) to check the backup.
UPGRADE_MOUNTS = ("/tmp/expand-upgrade-data", "/tmp/expand-upgrade-oldroot")

INCLUDE_PATH = "/tmp/expand-part.ks"
WARNINGS_PATH = "/tmp/expand-install-warnings"
PRODUCT_REPO = "/run/install/repo/expand/repo"


class LayoutError(Exception):
    """No usable layout: the install must stop with this message."""


@dataclass(frozen=True)
class Disk:
    name: str
    size_mib: int
    model: str = ""

    @property
    def hardware_raid(self) -> bool:
        return any(hint in self.model.upper() for hint in HW_RAID_HINTS)


@dataclass(frozen=True)
class Layout:
    disks: tuple[Disk, ...]
    uefi: bool
    swap_mib: int
    root_mib: int
    data_max_mib: int | None  # set when the two disks differ: members sized to the smaller
    warnings: tuple[str, ...]  # recorded for the first boot to report
    notes: tuple[str, ...] = ()  # devices passed over (install stick, DVD): logged only

    @property
    def mirrored(self) -> bool:
        return len(self.disks) == 2


def _read(path: Path, default: str = "") -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return default


def scan_disks(sysfs: Path) -> tuple[list[Disk], list[str]]:
    """Whole disks worth installing on, and a note for each block device passed over."""
    disks: list[Disk] = []
    skipped: list[str] = []
    block = sysfs / "block"
    for entry in sorted(block.iterdir(), key=lambda p: _natural_key(p.name)):
        name = entry.name
        if name.startswith(IGNORED_PREFIXES) or "boot" in name or "rpmb" in name:
            continue
        real = os.path.realpath(entry)
        sectors = int(_read(entry / "size", "0") or "0")
        if _read(entry / "hidden") == "1":
            continue  # NVMe multipath path device; the namespace head is listed too
        holders = sorted(h.name for h in (entry / "holders").glob("*"))
        if "/usb" in real:
            skipped.append(f"{name}: USB device (install media or stick), not used")
        elif "/rport-" in real or "/session" in real:
            # A SAN LUN (Fibre Channel or iSCSI) holds recordings; never partition it.
            skipped.append(f"{name}: SAN LUN (FC/iSCSI), not used")
        elif holders:
            skipped.append(f"{name}: held by {', '.join(holders)} (multipath?), not used")
        elif _read(entry / "removable") == "1":
            skipped.append(f"{name}: removable media, not used")
        elif _read(entry / "ro") == "1":
            skipped.append(f"{name}: read-only, not used")
        elif sectors * 512 < MIN_DISK_MIB * 1024 * 1024:
            skipped.append(f"{name}: {sectors * 512 // 2**20} MiB is too small, not used")
        else:
            model = _read(entry / "device" / "model")
            disks.append(Disk(name, sectors * 512 // 2**20, model))
    return disks, skipped


def _natural_key(name: str) -> tuple[int, str]:
    # sda before sdaa, nvme0n1 before nvme10n1.
    return (len(name), name)


def memory_mib(procfs: Path) -> int | None:
    for line in _read(procfs / "meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return None


def swap_size_mib(memory: int | None, disk_mib: int) -> int:
    # RAM up to 8 GiB: as much swap as RAM; more: half of it, 8 to 16 GiB. Never more
    # than a tenth of the disk, so small lab disks still fit.
    if memory is None:
        want = 8192
    elif memory <= 8192:
        want = memory
    else:
        want = min(max(memory // 2, 8192), 16384)
    return max(1024, min(want, disk_mib // 10))


def choose_layout(disks: list[Disk], skipped: list[str], uefi: bool,
                  memory: int | None) -> Layout:
    if not disks:
        raise LayoutError("no disk to install on: " + ("; ".join(skipped) or "none found"))
    warnings: list[str] = []
    chosen = disks[:2]
    for extra in disks[2:]:
        warnings.append(f"{extra.name}: more than two disks; left untouched")
    if len(chosen) == 1:
        only = chosen[0]
        if only.hardware_raid:
            warnings.append(f"{only.name}: one hardware RAID volume ({only.model}); "
                            "installed without software RAID-1, the controller mirrors")
        else:
            warnings.append(f"{only.name}: only one disk; installed WITHOUT RAID-1 "
                            "(a disk failure loses the system and the recordings)")
    smaller = min(d.size_mib for d in chosen)
    data_max: int | None = None
    if len(chosen) == 2 and chosen[0].size_mib != chosen[1].size_mib:
        larger = max(chosen, key=lambda d: d.size_mib)
        warnings.append(f"disks differ in size ({chosen[0].name} {chosen[0].size_mib} MiB, "
                        f"{chosen[1].name} {chosen[1].size_mib} MiB); mirror sized to the "
                        f"smaller, {larger.size_mib - smaller} MiB of {larger.name} unused")
    swap = swap_size_mib(memory, smaller)
    first = ESP_MIB if uefi else BIOSBOOT_MIB
    avail = smaller - SLACK_MIB - first - BOOT_MIB - swap
    root = min(ROOT_MAX_MIB, avail // 2)
    if root < ROOT_MIN_MIB:
        raise LayoutError(f"disk {smaller} MiB is too small for the system")
    if len(chosen) == 2 and chosen[0].size_mib != chosen[1].size_mib:
        data_max = avail - root
    return Layout(tuple(chosen), uefi, swap, root, data_max, tuple(warnings), tuple(skipped))


def install_include(layout: Layout) -> str:
    names = [d.name for d in layout.disks]
    drives = ",".join(names)
    lines = [f"ignoredisk --only-use={drives}", "zerombr",
             f"clearpart --all --initlabel --drives={drives} --disklabel=gpt"]
    for i, disk in enumerate(names):
        if layout.uefi:
            lines.append(f"part {ESP_MOUNTS[i]} --fstype=efi --size={ESP_MIB} "
                         f"--ondisk={disk} --label={ESP_LABELS[i]} {ESP_OPTIONS}")
        else:
            lines.append(f"part biosboot --fstype=biosboot --size={BIOSBOOT_MIB} --ondisk={disk}")
    volumes = [("/boot", "xfs", f"--size={BOOT_MIB}"),
               ("swap", "swap", f"--size={layout.swap_mib}"),
               ("/", "xfs", f"--size={layout.root_mib}"),
               (DATA_MOUNT, "xfs", "--size=1024 --grow"
                + (f" --maxsize={layout.data_max_mib}" if layout.data_max_mib else ""))]
    for mount, fstype, size in volumes:
        label = f"--label={LABELS[mount]}"
        if not layout.mirrored:
            lines.append(f"part {mount} --fstype={fstype} {size} --ondisk={names[0]} {label}")
            continue
        md = MD_NAMES[mount]
        members = [f"raid.{md}{i + 1}" for i in range(len(names))]
        # No zip(strict=...): anaconda's Python 3.9 lacks it.
        for i, disk in enumerate(names):
            lines.append(f"part {members[i]} {size} --ondisk={disk}")
        lines.append(f"raid {mount} --device={md} --level=RAID1 --fstype={fstype} {label} "
                     + " ".join(members))
    return "\n".join(lines) + "\n"


def parse_blkid(text: str) -> list[dict[str, str]]:
    """``blkid -o export`` output: blank-line separated KEY=value blocks."""
    devices: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in [*text.splitlines(), ""]:
        if not line.strip():
            if current:
                devices.append(current)
            current = {}
        elif "=" in line:
            key, _, value = line.partition("=")
            current[key.strip()] = value.strip()
    return devices


def upgrade_include(devices: list[dict[str, str]], uefi: bool) -> tuple[str, bool]:
    """Partitioning that reuses a previous install: system reformatted, data kept.

    Returns the include text and whether the previous install was mirrored.
    """
    labels = {d.get("LABEL", ""): d for d in devices}
    mirrored = any(d.get("TYPE") == "linux_raid_member"
                   and d.get("LABEL", "").split(":")[-1] == MD_NAMES[DATA_MOUNT]
                   for d in devices)
    if not mirrored and LABELS[DATA_MOUNT] not in labels:
        raise LayoutError("no previous eXpand installation found (no data filesystem "
                          f"labelled {LABELS[DATA_MOUNT]}); use 'Install eXpand' instead")
    lines = []
    if uefi:
        for i, mount in enumerate(ESP_MOUNTS):
            label = ESP_LABELS[i]
            if label in labels or mount == ESP_MOUNTS[0]:
                lines.append(f"part {mount} --onpart=LABEL={label} --fstype=efi "
                             f"--label={label} {ESP_OPTIONS}")
    for mount, fstype in (("/boot", "xfs"), ("swap", "swap"), ("/", "xfs"), (DATA_MOUNT, "xfs")):
        keep = " --noformat" if mount == DATA_MOUNT else f" --fstype={fstype}"
        label = "" if mount == DATA_MOUNT else f" --label={LABELS[mount]}"
        if mirrored:
            lines.append(f"raid {mount} --device={MD_NAMES[mount]} --useexisting{keep}{label}")
        else:
            lines.append(f"part {mount} --onpart=LABEL={LABELS[mount]}{keep}{label}")
    return "\n".join(lines) + "\n", mirrored


def upgrade_mode(cmdline: str) -> str:
    """``expand.upgrade=cluster|standalone`` from the kernel command line (the last wins)."""
    values = [w.split("=", 1)[1] for w in cmdline.split() if w.startswith("expand.upgrade=")]
    if not values:
        raise LayoutError("the boot entry has no expand.upgrade=cluster|standalone: boot "
                          "'Upgrade eXpand' from the DVD's menu")
    if values[-1] not in UPGRADE_MODES:
        raise LayoutError(f"expand.upgrade={values[-1][:40]!r} is not cluster or standalone")
    return values[-1]


def check_backup(data: Path, old_root: Path | None, mode: str) -> str:
    """Refuse an upgrade whose backup is missing, broken or another node's; returns the
    node's name. ``data`` is the data filesystem, ``old_root`` the system about to be
    reformatted (None when it cannot be read: then only the backup itself is checked)."""
    path = data / BACKUP_MANIFEST
    hint = ("run 'expandctl upgrade prepare' on the node before upgrading it, or install "
            "it again with 'Install eXpand'")
    try:
        if path.stat().st_size > 1024 * 1024:
            raise LayoutError(f"the upgrade backup {path} is over 1 MiB: not ours")
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise LayoutError(f"no upgrade backup on the data filesystem ({BACKUP_MANIFEST} "
                          f"missing): {hint}") from None
    except (OSError, ValueError, RecursionError) as exc:
        why = str(exc)[:80] if not isinstance(exc, RecursionError) else "nested too deep"
        raise LayoutError(f"the upgrade backup {BACKUP_MANIFEST} cannot be read ({why}): "
                          f"{hint}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != 1:
        raise LayoutError(f"the upgrade backup {BACKUP_MANIFEST} is not a backup of this "
                          f"product (format 1 expected): {hint}")
    name = str(manifest.get("hostname") or "")
    if old_root is not None:
        for key, file in (("machine_id", "etc/machine-id"), ("hostname", "etc/hostname")):
            kept, now = str(manifest.get(key) or ""), _read(old_root / file)
            if kept and now and kept != now:
                raise LayoutError(f"the upgrade backup is from another node ({key} {kept[:64]}"
                                  f", this system's is {now[:64]}): refusing to give this "
                                  "node another node's identity")
    if mode == "cluster" and manifest.get("cluster") is not True:
        raise LayoutError("the upgrade backup holds no cluster identity (corosync.conf and "
                          "authkey): use 'Upgrade eXpand standalone'")
    return name


def _mounted_for_check(devices: list[dict[str, str]], label: str, where: str) -> Path | None:
    """Mount the filesystem labelled ``label`` read-only at ``where`` (None: not found)."""
    found = [d.get("DEVNAME", "") for d in devices
             if d.get("LABEL") == label and d.get("TYPE") != "linux_raid_member"]
    if not found or not found[0]:
        return None
    os.makedirs(where, exist_ok=True)
    for options in ("ro", "ro,norecovery"):  # an XFS log left dirty needs norecovery
        if subprocess.run(["mount", "-o", options, found[0], where], check=False).returncode == 0:
            return Path(where)
    return None


def upgrade_check(procfs: Path, devices: list[dict[str, str]]) -> str:
    """The %pre's upgrade check: the boot entry's mode and the backup it needs; the note
    for the log. ``EXPAND_PRE_DATA``/``EXPAND_PRE_OLDROOT`` name folders that stand for the
    two filesystems (tests); otherwise both are mounted read-only and unmounted after."""
    mode = upgrade_mode(_read(procfs / "cmdline"))
    env = os.environ.get
    data_dir, old_dir = env("EXPAND_PRE_DATA"), env("EXPAND_PRE_OLDROOT")
    mounted = []
    try:
        if data_dir is not None:
            data: Path | None = Path(data_dir)
        else:
            data = _mounted_for_check(devices, LABELS[DATA_MOUNT], UPGRADE_MOUNTS[0])
            mounted.append(data)
        if data is None:
            raise LayoutError(f"the data filesystem ({LABELS[DATA_MOUNT]}) cannot be mounted "
                              "to check the upgrade backup")
        if old_dir is not None:
            old_root: Path | None = Path(old_dir) if old_dir else None
        else:
            old_root = _mounted_for_check(devices, LABELS["/"], UPGRADE_MOUNTS[1])
            mounted.append(old_root)
        name = check_backup(data, old_root, mode)
    finally:
        for where in mounted:
            if where is not None:
                subprocess.run(["umount", str(where)], check=False)
    return f"{mode} upgrade of {name or 'this node'}: its backup is on the data filesystem"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="eXpand %pre: choose disks, write the "
                                                 "partitioning include")
    parser.add_argument("--mode", choices=("install", "upgrade"), default="install")
    # EXPAND_PRE_* variables (never set by anaconda) let tests run the embedded script as is.
    env = os.environ.get
    parser.add_argument("--sysfs", type=Path, default=Path(env("EXPAND_PRE_SYSFS", "/sys")))
    parser.add_argument("--procfs", type=Path, default=Path(env("EXPAND_PRE_PROCFS", "/proc")))
    parser.add_argument("--blkid-file", type=Path, default=env("EXPAND_PRE_BLKID"),
                        help="saved 'blkid -o export' output")
    parser.add_argument("--repo", type=Path, default=Path(env("EXPAND_PRE_REPO", PRODUCT_REPO)))
    parser.add_argument("--include", type=Path,
                        default=Path(env("EXPAND_PRE_INCLUDE", INCLUDE_PATH)))
    parser.add_argument("--warnings", type=Path,
                        default=Path(env("EXPAND_PRE_WARNINGS", WARNINGS_PATH)))
    args = parser.parse_args(argv)
    try:
        if not (args.repo / "repodata" / "repomd.xml").is_file():
            raise LayoutError(f"the eXpand package repository is missing from the disc "
                              f"({args.repo}/repodata/repomd.xml): this is not a complete "
                              "eXpand DVD")
        uefi = (args.sysfs / "firmware" / "efi").is_dir()
        if args.mode == "install":
            disks, skipped = scan_disks(args.sysfs)
            layout = choose_layout(disks, skipped, uefi, memory_mib(args.procfs))
            include, warnings = install_include(layout), list(layout.warnings)
            for note in layout.notes:
                print(f"eXpand install: {note}", file=sys.stderr)
        else:
            if args.blkid_file is not None:
                probe = args.blkid_file.read_text()
            else:
                probe = subprocess.run(["blkid", "-o", "export"], capture_output=True,
                                       text=True, check=False).stdout
            devices = parse_blkid(probe)
            include, mirrored = upgrade_include(devices, uefi)
            print(f"eXpand upgrade: {upgrade_check(args.procfs, devices)}", file=sys.stderr)
            warnings = [] if mirrored else ["upgrade of a single-disk install: no RAID-1"]
    except LayoutError as exc:
        print(f"eXpand install stopped: {exc}", file=sys.stderr)
        return 1
    args.include.write_text(include)
    args.warnings.write_text("".join(w + "\n" for w in warnings))
    for warning in warnings:
        print(f"eXpand install warning: {warning}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
