"""Write a fake /proc + /sys tree that shows given facts (for tests, demos and the lab).

``gather_facts(root)`` on the tree gives the facts back (virtualization aside: it is
written as DMI strings). Noise that gathering must skip is added too: loop, zram and
md block devices, and software network interfaces (lo, a veth, a bridge).
"""

from __future__ import annotations

from appliance.filesink import FileSink
from hardware_profiles.snapshot import Cpu, HostFacts, MdArray

MEMORY_BLOCKS = (1024**3, 128 * 1024**2)  # the largest that divides the RAM: fewer files
DMI = {"vmware": ("VMware, Inc.", "VMware Virtual Platform"),
       "kvm": ("KVM", "Standard PC (Q35 + ICH9, 2009)"),
       "microsoft": ("Microsoft Corporation", "Virtual Machine")}
BARE_METAL_DMI = ("Dell Inc.", "PowerEdge R650")


def write_fake_tree(facts: HostFacts, sink: FileSink) -> None:
    sink.write("/proc/cpuinfo", cpuinfo_text(facts.cpu, hypervisor=facts.virtualization.is_vm))
    sink.write("/proc/meminfo", f"MemTotal:       {facts.memory.total_bytes // 1024} kB\n"
                                "MemFree:         1000000 kB\n")
    if facts.md_arrays:
        sink.write("/proc/mdstat", mdstat_text(facts.md_arrays))
    if facts.hostname:
        sink.write("/etc/hostname", facts.hostname + "\n")
    if facts.memory.online_bytes:
        base = "/sys/devices/system/memory"
        block = next((b for b in MEMORY_BLOCKS if facts.memory.online_bytes % b == 0),
                     MEMORY_BLOCKS[-1])
        sink.write(f"{base}/block_size_bytes", f"{block:x}\n")
        for i in range(facts.memory.online_bytes // block):
            sink.write(f"{base}/memory{i}/online", "1\n")
    for disk in facts.disks:
        _block_device(sink, disk.name, disk.size_bytes, disk.rotational, disk.model)
        for part in disk.partitions:
            sink.write(f"/sys/block/{disk.name}/{part}/partition", "1\n")
    for noise in ("loop0", "zram0", *(a.name for a in facts.md_arrays)):
        _block_device(sink, noise, 1024**3, False, "")
    for nic in facts.nics:
        base = f"/sys/class/net/{nic.name}"
        sink.write(f"{base}/speed", f"{nic.speed_mbps if nic.speed_mbps else -1}\n")
        sink.write(f"{base}/operstate", f"{nic.operstate or 'unknown'}\n")
        sink.mkdir(f"{base}/device")
        if nic.driver:
            sink.mkdir(f"/sys/bus/pci/drivers/{nic.driver}")
            sink.symlink(f"{base}/device/driver", f"../../../../bus/pci/drivers/{nic.driver}")
    for software in ("lo", "veth0", "br0"):
        sink.write(f"/sys/class/net/{software}/operstate", "unknown\n")
    vendor, product = DMI.get(facts.virtualization.vm, BARE_METAL_DMI)
    sink.write("/sys/class/dmi/id/sys_vendor", vendor + "\n")
    sink.write("/sys/class/dmi/id/product_name", product + "\n")


def _block_device(sink: FileSink, name: str, size_bytes: int, rotational: bool | None,
                  model: str) -> None:
    sink.write(f"/sys/block/{name}/size", f"{size_bytes // 512}\n")
    sink.write(f"/sys/block/{name}/removable", "0\n")
    if rotational is not None:
        sink.write(f"/sys/block/{name}/queue/rotational", f"{int(rotational)}\n")
    if model:
        sink.write(f"/sys/block/{name}/device/model", f"{model:<16}\n")  # sysfs pads


def cpuinfo_text(cpu: Cpu, hypervisor: bool = False) -> str:
    """/proc/cpuinfo for ``cpu``: logical CPUs spread over sockets, cores and threads."""
    sockets = cpu.sockets or 1
    cores = cpu.physical or cpu.logical
    per_socket = max(cores // sockets, 1)
    flags = "fpu vme de pse tsc msr pae lm" + (" hypervisor" if hypervisor else "")
    blocks = []
    for n in range(cpu.logical):
        core = n % cores
        lines = [f"processor\t: {n}", "vendor_id\t: GenuineIntel"]
        if cpu.model:
            lines.append(f"model name\t: {cpu.model}")
        if cpu.sockets is not None:
            lines += [f"physical id\t: {core // per_socket}", f"core id\t\t: {core % per_socket}",
                      f"cpu cores\t: {per_socket}"]
        lines.append(f"flags\t\t: {flags}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n\n"


def mdstat_text(arrays: tuple[MdArray, ...]) -> str:
    levels = sorted({a.level for a in arrays if a.level})
    out = [f"Personalities : {' '.join(f'[{lv}]' for lv in levels)}"]
    for array in arrays:
        members = " ".join(
            f"{m}[{i}]" + ("(F)" if m in array.failed else "") + ("(S)" if m in array.spares
                                                                  else "")
            for i, m in enumerate(array.members))
        out.append(f"{array.name} : {array.state} {array.level} {members}".replace("  ", " "))
        counts = (f" [{array.raid_disks}/{array.working_disks}]"
                  if array.raid_disks is not None else "")
        status = f" [{array.status}]" if array.status else ""
        out.append(f"      1047552 blocks super 1.2{counts}{status}")
        if array.sync:
            out.append(f"      [==>..................]  {array.sync}")
        out.append("      ")
    out.append("unused devices: <none>")
    return "\n".join(out) + "\n"
