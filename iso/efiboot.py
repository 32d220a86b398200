"""The grub.cfg inside the UEFI boot image (a FAT file system), edited with mtools.

UEFI firmware boots GRUB from this image (El Torito on a CD, the ESP partition on a USB
stick), and GRUB reads its grub.cfg from there, not from the ISO tree.
"""

from __future__ import annotations

from pathlib import Path

from appliance.errors import ExpandError
from appliance.runner import CommandFailed, Runner

GRUB_CFG_IN_IMAGE = "::/EFI/BOOT/grub.cfg"
# mtools refuses images whose geometry it finds odd unless told not to check.
MTOOLS_ENV = {"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}


def read_grub_cfg(runner: Runner, image: Path) -> str:
    try:
        result = runner.run(["mtype", "-i", str(image), GRUB_CFG_IN_IMAGE], env=MTOOLS_ENV)
    except CommandFailed as exc:
        raise ExpandError(f"no EFI/BOOT/grub.cfg inside the UEFI boot image: {exc.stderr.strip()}"
                          ) from exc
    return result.stdout


def write_grub_cfg(runner: Runner, image: Path, cfg: Path) -> None:
    runner.run(["mcopy", "-o", "-i", str(image), str(cfg), GRUB_CFG_IN_IMAGE], env=MTOOLS_ENV)
