"""The demo initramfs: a newc archive the kernel can unpack, and its init script."""

from __future__ import annotations

import gzip
import stat
import subprocess
from pathlib import Path

from iso import initramfs


def _members(archive: bytes) -> dict[str, tuple[int, bytes, tuple[int, int]]]:
    data = gzip.decompress(archive)
    out: dict[str, tuple[int, bytes, tuple[int, int]]] = {}
    pos = 0
    while True:
        assert data[pos:pos + 6] == b"070701"
        fields = [int(data[pos + 6 + 8 * i: pos + 14 + 8 * i], 16) for i in range(13)]
        namesize, filesize = fields[11], fields[6]
        name = data[pos + 110: pos + 110 + namesize - 1].decode()
        pos += 110 + namesize
        pos += -pos % 4
        body = data[pos:pos + filesize]
        pos += filesize
        pos += -pos % 4
        if name == "TRAILER!!!":
            return out
        out[name] = (fields[1], body, (fields[9], fields[10]))


def test_archive_holds_dirs_files_and_console() -> None:
    archive = initramfs.newc_archive([
        initramfs.directory("/dev"),
        initramfs.chardev("/dev/console", 5, 1),
        initramfs.regular("/init", b"#!/bin/sh\n", 0o755),
        initramfs.regular("/odd", b"12345"),  # forces padding
    ])
    members = _members(archive)
    assert stat.S_ISDIR(members["dev"][0])
    assert stat.S_ISCHR(members["dev/console"][0]) and members["dev/console"][2] == (5, 1)
    assert members["init"][1] == b"#!/bin/sh\n" and members["init"][0] & 0o777 == 0o755
    assert members["odd"][1] == b"12345"


def test_archive_is_readable_by_cpio() -> None:
    archive = initramfs.newc_archive([initramfs.directory("/a"),
                                      initramfs.regular("/a/b", b"hello")])
    proc = subprocess.run(["cpio", "-t"], input=gzip.decompress(archive), capture_output=True,
                          check=True)
    assert proc.stdout.decode().split() == ["a", "a/b"]


def test_init_loads_modules_in_order_and_is_valid_shell(tmp_path: Path) -> None:
    script = initramfs.init_script(["scsi_mod", "sr_mod", "isofs"])
    assert 'for m in scsi_mod sr_mod isofs; do insmod "/lib/modules/$m.ko"' in script
    assert initramfs.KS_BEGIN.split(": ")[0] in script
    path = tmp_path / "init"
    path.write_text(script)
    subprocess.run(["sh", "-n", str(path)], check=True)  # syntax only
