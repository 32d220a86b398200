"""The one-pass ``iso build`` against the tools it replaces: cp + ``xorriso -dev`` +
implantisomd5 give the same bytes, checkisomd5 passes, a corrupt base is refused."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from appliance.errors import ExpandError
from appliance.runner import Runner
from iso.base import check_base
from iso.build import BuildOptions, build_iso
from iso.checksum import implanted_md5, implanted_sum
from iso.demo_base import build_demo_base
from iso.inspect import inspect_iso
from iso.isomd5 import APPDATA_OFFSET, APPDATA_SIZE, PVD_OFFSET
from iso.onepass import append_session
from iso.progress import no_progress
from iso.remaster import Mapping, remaster_argv
from iso.shadow import data_extents
from tests.integration.iso_support import tmpfs
from tests.support import require_tools

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo base, and one padded with 37 MiB + 3 sectors of random bytes (so the
    volume, its fragments and the 8 MiB chunks of the pass fall on odd boundaries)."""
    require_tools("xorriso", "implantisomd5", "checkisomd5")
    folder = tmp_path_factory.mktemp("onepass")
    runner = Runner()
    demo = build_demo_base(folder / "demo.iso", runner)
    filler = folder / "filler.bin"
    filler.write_bytes(os.urandom(37 * MiB + 3 * 2048))
    padded = folder / "padded.iso"
    runner.run(["xorriso", "-indev", str(demo), "-outdev", str(padded), "-boot_image", "any",
                "replay", "-map", str(filler), "/pad/filler.bin"], timeout=600)
    runner.run(["implantisomd5", "--force", str(padded)], timeout=600)
    return {"demo": demo, "padded": padded}


def _checkisomd5_passes(iso: Path) -> bool:
    proc = subprocess.run(["checkisomd5", str(iso)], capture_output=True, text=True,
                          check=False)
    return proc.returncode == 0 and "PASS" in proc.stdout + proc.stderr


def _maps(folder: Path) -> list[Mapping]:
    folder.mkdir()
    (folder / "isolinux.cfg").write_text("default vesamenu.c32\nmenu title changed\n")
    (folder / "new.ks").write_text("# a kickstart\n" * 500)
    return [Mapping(folder / "isolinux.cfg", "/isolinux/isolinux.cfg"),
            Mapping(folder / "new.ks", "/ks/new.ks")]


@pytest.mark.parametrize("name", ["demo", "padded"])
def test_same_bytes_as_cp_then_xorriso_then_implantisomd5(
        bases: dict[str, Path], name: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # both sessions alike
    runner, base = Runner(), bases[name]
    maps = _maps(tmp_path / "maps")
    dvd = check_base(runner, base, verify_checksum=False)
    onepass = tmp_path / "onepass.iso"
    append_session(runner, dvd, onepass, dvd.volid, maps, dvd.size_bytes, no_progress,
                   verify=True)
    reference = tmp_path / "reference.iso"
    shutil.copyfile(base, reference)
    runner.run(remaster_argv(None, reference, dvd.volid, maps))
    runner.run(["implantisomd5", "--force", str(reference)])
    assert onepass.stat().st_size == reference.stat().st_size
    assert onepass.read_bytes() == reference.read_bytes()  # PVD application area included
    assert _checkisomd5_passes(onepass)
    # the pass filled every hole of the shadow: no sparse range is left in the image
    assert data_extents(onepass, onepass.stat().st_size) == [(0, onepass.stat().st_size)]


def test_build_output_checksum_is_implantisomd5s(bases: dict[str, Path],
                                                 tmp_path: Path) -> None:
    out = tmp_path / "expand.iso"
    build_iso(BuildOptions(bases["padded"], out, no_repo=True), Runner())
    again = tmp_path / "again.iso"
    shutil.copyfile(out, again)
    subprocess.run(["implantisomd5", "--force", str(again)], check=True, capture_output=True)
    assert out.read_bytes() == again.read_bytes()
    assert _checkisomd5_passes(out)
    seen = inspect_iso(Runner(), out)
    assert seen.md5_ok and seen.md5_implanted == implanted_md5(Runner(), out)
    # A menu-only disc: the missing product repository is its only problem.
    assert [p for p in seen.problems if "/expand/repo" not in p] == []


def _refused_corrupt(base: Path, out: Path) -> None:
    with pytest.raises(ExpandError, match="corrupt: the implanted media checksum does not"):
        build_iso(BuildOptions(base, out, no_repo=True), Runner())
    assert list(out.parent.iterdir()) == []  # no output, no partial


@pytest.mark.parametrize("where", ["middle", "last checked sector"])
def test_corrupt_base_refused_and_nothing_left(bases: dict[str, Path], tmp_path: Path,
                                               where: str) -> None:
    base = tmp_path / "corrupt.iso"
    data = bytearray(bases["padded"].read_bytes())
    volume = int.from_bytes(data[PVD_OFFSET + 84:PVD_OFFSET + 88], "big") * 2048
    at = len(data) // 2 if where == "middle" else volume - 16 * 2048 + 100
    data[at] ^= 0x5A
    base.write_bytes(bytes(data))
    (tmp_path / "out").mkdir()
    _refused_corrupt(base, tmp_path / "out" / "expand.iso")


def test_base_without_implanted_checksum_still_builds(bases: dict[str, Path],
                                                      tmp_path: Path) -> None:
    base = tmp_path / "plain.iso"
    data = bytearray(bases["demo"].read_bytes())
    start = PVD_OFFSET + APPDATA_OFFSET
    data[start:start + APPDATA_SIZE] = b" " * APPDATA_SIZE
    base.write_bytes(bytes(data))
    assert implanted_sum(base) is None and implanted_md5(Runner(), base) is None
    out = tmp_path / "expand.iso"
    build_iso(BuildOptions(base, out, no_repo=True), Runner())
    assert _checkisomd5_passes(out)


def test_rewrite_path_still_passes_checkisomd5(bases: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "rewritten.iso"
    build_iso(BuildOptions(bases["demo"], out, rewrite=True, no_repo=True), Runner())
    assert _checkisomd5_passes(out)
    bad = tmp_path / "bad.iso"
    data = bytearray(bases["padded"].read_bytes())
    data[len(data) // 2] ^= 1
    bad.write_bytes(bytes(data))
    with pytest.raises(ExpandError, match="corrupt"):  # checked up front, as before
        build_iso(BuildOptions(bad, tmp_path / "r2.iso", rewrite=True, no_repo=True), Runner())
    assert not (tmp_path / "r2.iso").exists()


def test_output_on_another_file_system(bases: dict[str, Path], tmp_path: Path) -> None:
    """The shadow is filled across file systems (copy_file_range would fail there)."""
    with tmpfs(tmp_path / "mem", "size=256m") as mem:
        out = mem / "expand.iso"
        build_iso(BuildOptions(bases["padded"], out, no_repo=True), Runner())
        assert _checkisomd5_passes(out)
