"""The demo base's initramfs: busybox and a shell ``init`` standing in for anaconda.

When booted it prints the kernel command line, finds the disc by the label that
``inst.ks=hd:LABEL=...`` (or ``inst.stage2``) names, prints the kickstart between clear
markers and powers off. ``iso.boottest`` reads those markers on the serial console.
"""

from __future__ import annotations

import gzip
import io
import stat
from collections.abc import Sequence
from dataclasses import dataclass

MARK = "EXPAND-DEMO"
KS_BEGIN = f"{MARK}: kickstart begin"
KS_END = f"{MARK}: kickstart end"
CMDLINE = f"{MARK}: cmdline:"
DISC_FOUND = f"{MARK}: disc found"
FAILED = f"{MARK}: FAILED"
DONE = f"{MARK}: done, powering off"

INIT_TEMPLATE = r"""#!/bin/busybox sh
# DEMO stand-in for the Rocky Linux 9 installer: NOT anaconda.
/bin/busybox mkdir -p /proc /sys /dev /mnt /tmp
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
say() {
    echo "@MARK@: $*" > /dev/ttyS0 2>/dev/null
    echo "@MARK@: $*" > /dev/console 2>/dev/null
}
show() {
    cat "$1" > /dev/ttyS0 2>/dev/null
    cat "$1" > /dev/console 2>/dev/null
}
finish() {
    say "$1"
    sync
    poweroff -f
}
say "DEMO stand-in for the Rocky Linux 9 installer (not anaconda)"
say "cmdline: $(cat /proc/cmdline)"
for m in @MODULES@; do insmod "/lib/modules/$m.ko" 2>/dev/null; done
arg() {
    for w in $(cat /proc/cmdline); do
        case "$w" in "$1"=*) echo "${w#*=}" ;; esac
    done
}
ks=$(arg inst.ks)
src=${ks:-$(arg inst.stage2)}
case "$src" in
    hd:LABEL=*) ;;
    *) finish "FAILED: no inst.ks or inst.stage2 of the form hd:LABEL=..." ;;
esac
spec=${src#hd:LABEL=}
label=${spec%%:*}
path=""
[ "$spec" != "$label" ] && path=${spec#*:}
dev=""
i=0
while [ $i -lt 40 ]; do
    dev=$(findfs "LABEL=$label" 2>/dev/null) && [ -n "$dev" ] && break
    sleep 0.5
    i=$((i + 1))
done
[ -n "$dev" ] || finish "FAILED: no disc labelled $label"
mount -t iso9660 -o ro "$dev" /mnt || finish "FAILED: cannot mount $dev"
say "disc found: $dev LABEL=$label"
if [ -n "$ks" ]; then
    [ -f "/mnt$path" ] || finish "FAILED: kickstart $path not on the disc"
    say "kickstart begin $path"
    show "/mnt$path"
    say "kickstart end md5=$(md5sum "/mnt$path" | cut -d' ' -f1)"
fi
umount /mnt
finish "done, powering off"
"""


def init_script(modules: Sequence[str]) -> str:
    """The ``/init`` text; ``modules`` are insmod'ed in order (dependencies first)."""
    return INIT_TEMPLATE.replace("@MARK@", MARK).replace("@MODULES@", " ".join(modules))


@dataclass(frozen=True)
class Entry:
    """One initramfs member: a directory, a regular file or a character device."""

    path: str
    mode: int
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)


def directory(path: str) -> Entry:
    return Entry(path, stat.S_IFDIR | 0o755)


def regular(path: str, data: bytes, perm: int = 0o644) -> Entry:
    return Entry(path, stat.S_IFREG | perm, data)


def chardev(path: str, major: int, minor: int) -> Entry:
    return Entry(path, stat.S_IFCHR | 0o600, rdev=(major, minor))


def newc_archive(entries: Sequence[Entry]) -> bytes:
    """A gzip-compressed ``newc`` cpio archive, as the kernel unpacks into its rootfs.

    Written here rather than with cpio(1) so the content (and owner root) is exact
    and needs no staging tree on disk.
    """
    out = io.BytesIO()
    for ino, entry in enumerate([*entries, Entry("TRAILER!!!", 0)], start=1):
        name = entry.path.lstrip("/").encode() + b"\0"
        fields = (ino, entry.mode, 0, 0, 1, 0, len(entry.data), 0, 0,
                  entry.rdev[0], entry.rdev[1], len(name), 0)
        out.write(b"070701" + b"".join(b"%08X" % f for f in fields))
        out.write(name)
        out.write(b"\0" * (-out.tell() % 4))
        out.write(entry.data)
        out.write(b"\0" * (-out.tell() % 4))
    return gzip.compress(out.getvalue(), compresslevel=6, mtime=0)
