"""A small DEMO stand-in for a Rocky Linux 9 install DVD, built from Debian packages.

Same layout as the vendor DVD where ``iso build`` looks (.treeinfo, .discinfo, isolinux/,
images/pxeboot/, images/efiboot.img, EFI/BOOT/), hybrid (BIOS + UEFI, CD + USB stick),
but its "installer" is a busybox initramfs (see ``iso.initramfs``). Its BaseOS and
AppStream repositories hold empty DEMO stand-in packages (``iso.demo_repo``) for the
package closure check of ``iso build``. Labelled DEMO in its volume id, .treeinfo, menus,
packages and messages. For ``make demo`` and the tests only.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from appliance.filesink import FileSink
from appliance.runner import Runner
from iso import demo_repo, initramfs
from iso.demo_kernel import DEFAULT_CACHE, DemoKernel, fetch_kernel, module_closure
from iso.output import MiB, check_output_folder, staged_output

log = logging.getLogger("expand.iso")

DEMO_LABEL = "DEMO-Rocky-9-x86_64-dvd"
ISOLINUX_BIN = Path("/usr/lib/ISOLINUX/isolinux.bin")
ISOHYBRID_MBR = Path("/usr/lib/ISOLINUX/isohdpfx.bin")
SYSLINUX_BIOS = Path("/usr/lib/syslinux/modules/bios")
SYSLINUX_MODULES = ("ldlinux.c32", "vesamenu.c32", "libcom32.c32", "libutil.c32")
GRUB_MODULES = (
    "part_gpt", "part_msdos", "fat", "iso9660", "normal", "boot", "linux", "configfile",
    "search", "search_label", "search_fs_uuid", "search_fs_file", "echo", "serial",
    "terminal", "test", "sleep", "efi_gop", "efi_uga", "all_video", "font", "gfxterm", "ls",
    "cat", "reboot", "halt", "chain", "minicmd")
EFIBOOT_KIB = 8192
MTOOLS_ENV = {"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}

SERIAL = "console=ttyS0,115200 console=tty0"

ISOLINUX_CFG = f"""serial 0 115200
default vesamenu.c32
timeout 600
menu title DEMO stand-in for Rocky Linux 9 (not a vendor DVD)
label linux
  menu label ^Install Rocky Linux 9 (DEMO)
  menu default
  kernel vmlinuz
  append initrd=initrd.img inst.stage2=hd:LABEL={DEMO_LABEL} {SERIAL} quiet
label local
  menu label Boot from ^local drive
  localboot 0xffff
"""

GRUB_CFG = f"""set default="0"
set timeout=60
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
search --no-floppy --set=root -l '{DEMO_LABEL}'
menuentry 'Install Rocky Linux 9 (DEMO)' {{
	linux /images/pxeboot/vmlinuz inst.stage2=hd:LABEL={DEMO_LABEL} {SERIAL} quiet
	initrd /images/pxeboot/initrd.img
}}
"""

TREEINFO = """[header]
type = productmd.treeinfo
version = 1.2

[release]
name = Rocky Linux DEMO
short = Rocky
version = 9.4

[general]
name = Rocky Linux DEMO 9.4
family = Rocky Linux
version = 9.4
arch = x86_64
platforms = x86_64

[tree]
arch = x86_64
platforms = x86_64

[images-x86_64]
efiboot.img = images/efiboot.img
initrd = images/pxeboot/initrd.img
kernel = images/pxeboot/vmlinuz
"""

README = """DEMO stand-in for a Rocky Linux 9 install DVD, built by 'expandctl iso demo-base'.
It boots (BIOS and UEFI, CD and USB stick) into a busybox initramfs that prints the
kernel command line and the kickstart it points to, then powers off. Not an installer.
BaseOS/ and AppStream/ hold empty DEMO stand-in packages (repodata, comps group core).
"""


def build_demo_base(out: Path, runner: Runner, cache: Path = DEFAULT_CACHE) -> Path:
    """Build the demo base ISO at ``out`` (temp file + rename); returns ``out``."""
    check_output_folder(out, 64 * MiB)
    kernel = fetch_kernel(runner, cache)
    initrd = demo_initrd(runner, kernel, cache)
    with tempfile.TemporaryDirectory(prefix="expand-demo-base-") as tmp:
        tree = Path(tmp) / "tree"
        sink = FileSink(tree)
        vmlinuz = kernel.vmlinuz.read_bytes()
        for folder in ("/isolinux", "/images/pxeboot"):
            sink.write(f"{folder}/vmlinuz", vmlinuz)
            sink.write(f"{folder}/initrd.img", initrd)
        sink.write("/isolinux/isolinux.bin", ISOLINUX_BIN.read_bytes())
        for name in SYSLINUX_MODULES:
            sink.write(f"/isolinux/{name}", (SYSLINUX_BIOS / name).read_bytes())
        sink.write("/isolinux/isolinux.cfg", ISOLINUX_CFG)
        sink.write("/.treeinfo", TREEINFO)
        sink.write("/.discinfo", f"{time.time():.6f}\n9.4\nx86_64\n")
        sink.write("/README-DEMO.txt", README)
        demo_repo.write_base_repos(runner, tree, cache)
        efi = Path(tmp) / "efi"
        FileSink(efi).write("/grub.cfg", GRUB_CFG)
        runner.run(["grub-mkimage", "-O", "x86_64-efi", "-p", "/EFI/BOOT",
                    "-o", str(efi / "BOOTX64.EFI"), *GRUB_MODULES])
        grub_efi = (efi / "BOOTX64.EFI").read_bytes()
        for name in ("BOOTX64.EFI", "grubx64.efi"):
            sink.write(f"/EFI/BOOT/{name}", grub_efi)
        sink.write("/EFI/BOOT/grub.cfg", GRUB_CFG)
        sink.mkdir("/images")
        _efiboot_image(runner, tree / "images/efiboot.img", efi)
        with staged_output(out) as partial:
            runner.run(_mkisofs_argv(partial, tree), timeout=600)
            runner.run(["implantisomd5", "--force", str(partial)], timeout=600)
    log.info("demo base written: %s", out)
    return out


def _mkisofs_argv(out: Path, tree: Path) -> list[str]:
    return ["xorriso", "-as", "mkisofs", "-o", str(out), "-R", "-J", "-joliet-long",
            "-V", DEMO_LABEL, "-isohybrid-mbr", str(ISOHYBRID_MBR),
            "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
            "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
            "-eltorito-alt-boot", "-e", "images/efiboot.img", "-no-emul-boot",
            "-isohybrid-gpt-basdat", str(tree)]


def _efiboot_image(runner: Runner, image: Path, efi: Path) -> None:
    """The FAT image UEFI firmware boots from (El Torito) and sees as the ESP (USB)."""
    runner.run(["mkfs.vfat", "-C", "-n", "DEMO-EFI", str(image), str(EFIBOOT_KIB)],
               env=MTOOLS_ENV)
    runner.run(["mmd", "-i", str(image), "::/EFI", "::/EFI/BOOT"], env=MTOOLS_ENV)
    runner.run(["mcopy", "-i", str(image), str(efi / "BOOTX64.EFI"), str(efi / "grub.cfg"),
                "::/EFI/BOOT/"], env=MTOOLS_ENV)
    runner.run(["mcopy", "-i", str(image), str(efi / "BOOTX64.EFI"),
                "::/EFI/BOOT/grubx64.efi"], env=MTOOLS_ENV)


def demo_initrd(runner: Runner, kernel: DemoKernel, cache: Path) -> bytes:
    """The busybox initramfs for ``kernel``, cached next to the unpacked kernel."""
    cached = cache / f"initrd-{kernel.version}.img"
    if cached.is_file():
        return cached.read_bytes()
    modules = module_closure(runner, kernel)
    entries = [initramfs.directory(d) for d in ("/bin", "/dev", "/lib", "/lib/modules",
                                                 "/proc", "/sys", "/mnt", "/tmp")]
    entries.append(initramfs.chardev("/dev/console", 5, 1))
    entries.append(initramfs.regular("/bin/busybox", Path("/bin/busybox").read_bytes(), 0o755))
    names = []
    for ko in modules:
        names.append(ko.name.removesuffix(".ko"))
        entries.append(initramfs.regular(f"/lib/modules/{ko.name}", ko.read_bytes()))
    entries.append(initramfs.regular("/init", initramfs.init_script(names).encode(), 0o755))
    data = initramfs.newc_archive(entries)
    FileSink(cache).write(f"/{cached.name}", data)
    return data
