"""Gather host facts (CPU, memory, disks, md arrays, NICs, virtualization); no judging here.

Everything is read below a root (default ``/``) so tests can point it at a fake
/proc + /sys tree. On the live system psutil and ``systemd-detect-virt`` are used as
well; below another root only files are read.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
from collections.abc import Sequence
from pathlib import Path

import psutil  # type: ignore[import-untyped,unused-ignore]  # types-psutil optional

from appliance.errors import ExpandError
from appliance.readers import read_bytes
from appliance.runner import Runner
from hardware_profiles.nics import detect_nics
from hardware_profiles.snapshot import (
    Cpu,
    Disk,
    HostFacts,
    MdArray,
    Memory,
    Nic,
    Virtualization,
)

log = logging.getLogger("expand.hardware")

# Block devices that are not disks an installer would use.
SKIP_DISK_PREFIXES = ("loop", "ram", "zram", "dm-", "sr", "md", "nbd", "fd", "drbd")
# DMI vendor / product substrings → hypervisor name (as systemd-detect-virt spells them).
DMI_HYPERVISORS = (("vmware", "vmware"), ("qemu", "qemu"), ("kvm", "kvm"),
                   ("virtualbox", "oracle"), ("innotek", "oracle"), ("xen", "xen"),
                   ("amazon ec2", "amazon"), ("parallels", "parallels"),
                   ("microsoft corporation virtual machine", "microsoft"),
                   ("bochs", "bochs"))


def gather_facts(root: Path = Path("/"), runner: Runner | None = None, *,
                 nic_names: Sequence[str] | None = None) -> HostFacts:
    """``nic_names``: the NICs to describe (first boot passes its own, overrides included);
    by default the one detector's (``hardware_profiles.nics``) on the live system, the
    device-backed interfaces of ``root``'s /sys for another root (a saved or fake tree)."""
    live = root.resolve() == Path("/")
    runner = runner or Runner()
    notes: list[str] = []
    if nic_names is None and live:
        nic_names = detect_nics(runner)
    cpuinfo = _read(root / "proc/cpuinfo") or ""
    return HostFacts(
        cpu=_cpu(cpuinfo, live),
        memory=_memory(root, live, notes),
        disks=_disks(root, notes),
        md_arrays=_md_arrays(root, notes),
        nics=_nics(root, notes, nic_names),
        virtualization=_virtualization(root, cpuinfo, live, runner),
        hostname=_hostname(root, live),
        notes=tuple(notes),
    )


def _read(path: Path) -> str | None:
    # Bounded: with --root the tree is anybody's (a FIFO or a huge file must not hang us).
    try:
        return read_bytes(path, what="").decode(errors="replace").strip()
    except (ExpandError, OSError):
        return None


def parse_cpuinfo(text: str) -> Cpu:
    """Logical CPUs, cores (distinct physical id + core id) and sockets from /proc/cpuinfo."""
    logical = 0
    sockets: set[str] = set()
    cores: set[tuple[str, str]] = set()
    model = ""
    for block in re.split(r"\n\s*\n", text.strip()):
        entry = {k.strip(): v.strip() for k, _, v in
                 (line.partition(":") for line in block.splitlines()) if k.strip()}
        if "processor" not in entry:
            continue
        logical += 1
        model = model or entry.get("model name", "")
        if "physical id" in entry:
            sockets.add(entry["physical id"])
            cores.add((entry["physical id"], entry.get("core id", entry["processor"])))
    return Cpu(logical=logical, physical=len(cores) or None, sockets=len(sockets) or None,
               model=model)


def _cpu(cpuinfo: str, live: bool) -> Cpu:
    parsed = parse_cpuinfo(cpuinfo)
    if not live:
        return parsed
    return Cpu(logical=psutil.cpu_count(logical=True) or parsed.logical,
               physical=psutil.cpu_count(logical=False) or parsed.physical,
               sockets=parsed.sockets, model=parsed.model)


def _memory(root: Path, live: bool, notes: list[str]) -> Memory:
    if live:
        total = int(psutil.virtual_memory().total)
    else:
        match = re.search(r"^MemTotal:\s+(\d+)\s*kB", _read(root / "proc/meminfo") or "", re.M)
        total = int(match.group(1)) * 1024 if match else 0
        if not match:
            notes.append("/proc/meminfo: no MemTotal; memory unknown")
    return Memory(total_bytes=total, online_bytes=_online_memory(root))


def _online_memory(root: Path) -> int | None:
    """RAM in online memory blocks: unlike MemTotal it includes what the kernel reserved."""
    base = root / "sys/devices/system/memory"
    size_text = _read(base / "block_size_bytes")
    if size_text is None:
        return None
    blocks = sum(1 for b in base.glob("memory[0-9]*") if _read(b / "online") != "0")
    return blocks * int(size_text, 16) or None


def _disks(root: Path, notes: list[str]) -> tuple[Disk, ...]:
    found = []
    base = root / "sys/block"
    for dev in sorted(base.iterdir() if base.is_dir() else ()):
        name = dev.name
        if name.startswith(SKIP_DISK_PREFIXES):
            continue
        sectors = _read(dev / "size")
        # removable: USB sticks, the install DVD; hidden: NVMe multipath controller paths
        if "1" in (_read(dev / "removable"), _read(dev / "hidden")) or sectors in (None, "0"):
            log.debug("skipping %s: removable, hidden or empty", name)
            continue
        rotational = _read(dev / "queue/rotational")
        found.append(Disk(
            name=name, size_bytes=int(sectors) * 512,  # /sys counts 512-byte sectors always
            rotational=None if rotational is None else rotational == "1",
            model=_read(dev / "device/model") or "",
            partitions=tuple(sorted(p.name for p in dev.iterdir()
                                    if (p / "partition").exists()))))
    if not found:
        notes.append(f"{base}: no disks found")
    return tuple(found)


def parse_mdstat(text: str) -> tuple[MdArray, ...]:
    """Arrays in /proc/mdstat: level, members (with failed and spare ones), [n/m] [UU_]."""
    arrays: list[MdArray] = []
    head = re.compile(r"^(md\S*)\s*:\s*(active(?: \([^)]*\))?|inactive)\s*(.*)$")
    for block in re.split(r"\n(?=md\S*\s*:)", text):
        lines = block.strip().splitlines()
        match = head.match(lines[0]) if lines else None
        if not match:
            continue
        name, state, rest = match.groups()
        words = rest.split()
        level = words.pop(0) if words and "[" not in words[0] else ""
        members, failed, spares = [], [], []
        for word in words:
            dev = re.match(r"^([^\[]+)\[\d+\]((?:\([A-Z]\))*)$", word)
            if not dev:
                continue
            members.append(dev.group(1))
            if "(F)" in dev.group(2):
                failed.append(dev.group(1))
            if "(S)" in dev.group(2):
                spares.append(dev.group(1))
        detail = "\n".join(lines[1:])
        counts = re.search(r"\[(\d+)/(\d+)\]", detail)
        status = re.search(r"\[([U_]+)\]", detail)
        sync = re.search(r"\b((?:recovery|resync|reshape|check)\s*=.*)$", detail, re.M)
        arrays.append(MdArray(
            name=name, level=level, state=state, members=tuple(members),
            failed=tuple(failed), spares=tuple(spares),
            raid_disks=int(counts.group(1)) if counts else None,
            working_disks=int(counts.group(2)) if counts else None,
            status=status.group(1) if status else "",
            sync=" ".join(sync.group(1).split()) if sync else ""))
    return tuple(arrays)


def _md_arrays(root: Path, notes: list[str]) -> tuple[MdArray, ...]:
    text = _read(root / "proc/mdstat")
    if text is None:
        notes.append("/proc/mdstat: absent (md driver not loaded): software RAID not visible")
        return ()
    return parse_mdstat(text)


def _nics(root: Path, notes: list[str], names: Sequence[str] | None) -> tuple[Nic, ...]:
    """``names`` described from /sys; without names, the physical (or virtual-machine) NICs
    of the tree: those backed by a device (lo, veth, bridges, tun, bonds have none)."""
    found = []
    base = root / "sys/class/net"
    if names is None:
        devices = [d for d in sorted(base.iterdir() if base.is_dir() else ())
                   if (d / "device").exists()]
    else:
        devices = [base / n for n in names]
    for dev in devices:
        speed = _read(dev / "speed")
        driver = dev / "device/driver"
        found.append(Nic(
            name=dev.name,
            speed_mbps=int(speed) if speed and speed.isdigit() and int(speed) > 0 else None,
            operstate=_read(dev / "operstate") or "",
            driver=os.path.basename(os.readlink(driver)) if driver.is_symlink() else ""))
    if not found:
        notes.append("no Ethernet NIC found" if names is not None else
                     f"{base}: no NIC backed by a device (only software interfaces)")
    return tuple(found)


def _virtualization(root: Path, cpuinfo: str, live: bool, runner: Runner) -> Virtualization:
    if live and shutil.which("systemd-detect-virt"):
        vm = runner.run(["systemd-detect-virt", "--vm"], check=False).stdout.strip()
        ct = runner.run(["systemd-detect-virt", "--container"], check=False).stdout.strip()
        return Virtualization(vm="" if vm in ("", "none") else vm,
                              container="" if ct in ("", "none") else ct,
                              source="systemd-detect-virt")
    dmi = " ".join(_read(root / f"sys/class/dmi/id/{f}") or "" for f in
                   ("sys_vendor", "product_name")).lower()
    for needle, name in DMI_HYPERVISORS:
        if needle in dmi:
            return Virtualization(vm=name, source="/sys/class/dmi/id")
    if re.search(r"^flags\s*:.*\bhypervisor\b", cpuinfo, re.M):
        return Virtualization(vm="unknown", source="/proc/cpuinfo hypervisor flag")
    return Virtualization(source="no hypervisor in /sys/class/dmi/id nor /proc/cpuinfo")


def _hostname(root: Path, live: bool) -> str:
    if live:
        return socket.gethostname()
    return _read(root / "etc/hostname") or _read(root / "proc/sys/kernel/hostname") or ""
