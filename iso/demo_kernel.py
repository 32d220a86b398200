"""The Debian kernel for the demo base: downloaded as a .deb, unpacked once, cached.

The host's own /boot is not used (CI machines may have no kernel installed): the
package named by ``linux-image-amd64`` is fetched with ``apt-get download`` into the
cache and unpacked with ``dpkg-deb -x``. A second build reuses the unpacked tree.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ExpandError
from appliance.runner import Runner

log = logging.getLogger("expand.iso")

DEFAULT_CACHE = Path("/var/cache/expand/demo-base")
META_PACKAGE = "linux-image-amd64"
# What the demo initramfs needs to see the disc: as a CD (ATA CD-ROM) and as a disk
# (the "USB stick" path: an ATA/SATA disk holding the hybrid image).
WANTED_MODULES = ("ata_piix", "ata_generic", "ahci", "sr_mod", "sd_mod", "isofs")


@dataclass(frozen=True)
class DemoKernel:
    version: str
    vmlinuz: Path
    modules_dir: Path  # .../lib/modules/VERSION


def kernel_package(runner: Runner) -> str:
    """The versioned package (``linux-image-6.1.0-NN-amd64``) the meta package points at."""
    for attempt in range(2):
        out = runner.run(["apt-cache", "depends", META_PACKAGE], check=False).stdout
        match = re.search(r"Depends:\s+(linux-image-\d\S*-amd64)\b", out)
        if match:
            return match.group(1)
        if attempt == 0 and os.geteuid() == 0:
            # A fresh machine (CI) may have no package lists yet.
            runner.run(["apt-get", "update", "-q"], check=False, timeout=900)
    raise ExpandError(f"cannot tell which kernel package {META_PACKAGE} depends on "
                      "(run 'apt-get update' first)")


def fetch_kernel(runner: Runner, cache: Path = DEFAULT_CACHE) -> DemoKernel:
    """Download and unpack the Debian kernel once; later calls reuse the cache."""
    cached = _cached(cache)
    if cached is not None:
        return cached
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two builds at once (parallel tests) take turns
        return _cached(cache) or _download(runner, cache)


def _download(runner: Runner, cache: Path) -> DemoKernel:
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    package = kernel_package(runner)
    if not list(debs.glob(f"{package}_*.deb")):
        runner.run(["apt-get", "download", package], cwd=debs, timeout=900)
    deb = sorted(debs.glob(f"{package}_*.deb"))[-1]
    staging = cache / "kernel.partial"
    shutil.rmtree(staging, ignore_errors=True)
    runner.run(["dpkg-deb", "-x", str(deb), str(staging)], timeout=600)
    shutil.rmtree(cache / "kernel", ignore_errors=True)
    staging.rename(cache / "kernel")
    found = _cached(cache)
    if found is None:
        raise ExpandError(f"{deb.name} holds no vmlinuz and modules")
    return found


def _cached(cache: Path) -> DemoKernel | None:
    root = cache / "kernel"
    for vmlinuz in sorted(root.glob("boot/vmlinuz-*")):
        version = vmlinuz.name.removeprefix("vmlinuz-")
        for mods in (root / "lib/modules" / version, root / "usr/lib/modules" / version):
            if mods.is_dir():
                return DemoKernel(version, vmlinuz, mods)
    return None


def module_closure(runner: Runner, kernel: DemoKernel,
                   wanted: tuple[str, ...] = WANTED_MODULES) -> list[Path]:
    """``.ko`` files for ``wanted`` and all they depend on, dependencies first."""
    index = {p.name.removesuffix(".ko").replace("-", "_"): p
             for p in (kernel.modules_dir / "kernel").rglob("*.ko")}
    ordered: list[Path] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        name = name.replace("-", "_")
        if name in seen:
            return
        seen.add(name)
        path = index.get(name)
        if path is None:  # built into the kernel
            return
        deps = runner.run(["modinfo", "-F", "depends", str(path)]).stdout.strip()
        for dep in filter(None, deps.split(",")):
            visit(dep)
        ordered.append(path)

    for name in wanted:
        visit(name)
    return ordered
