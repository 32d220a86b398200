"""iso build / inspect on the demo base with the real tools (xorriso, mtools, isomd5sum)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from appliance.errors import ExpandError
from appliance.reports import ValidationFailed
from appliance.runner import Runner
from iso import menu, xorriso
from iso.build import AddTree, BuildOptions, build_iso
from iso.demo_repo import VENDOR_FOLDERS
from iso.inspect import inspect_iso
from kickstart.build import KS_INSTALL_PATH, KS_UPGRADE_PATH
from kickstart.scripts import ANSWERS_ON_DISC
from tests.integration.iso_support import build_demo_and_branded, tmpfs

REPO = Path(__file__).resolve().parents[2]
ANSWERS = REPO / "examples/answers/primary.toml"
SECRETS = ("demo-Smtp-Secret-42", "demo-Ipmi-Secret-17")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("iso")
    extra = folder / "extra"
    (extra / "docs").mkdir(parents=True)
    (extra / "docs" / "readme.txt").write_text("an added folder")
    return build_demo_and_branded(folder, answers=ANSWERS, add=extra)


def _repos(built: tuple[Path, Path]) -> tuple[Path, ...]:
    """The --repo folders the module's DVD was built with (iso_support.demo_repos)."""
    folder = built[0].parent
    return (folder / "dist", *(folder / "vendor" / name for name in VENDOR_FOLDERS))


def _extract_text(iso: Path, iso_path: str, tmp: Path) -> str:
    host = tmp / Path(iso_path).name
    xorriso.extract(Runner(), iso, [(iso_path, host)])
    return host.read_text()


def test_inspect_matches_what_was_built(built: tuple[Path, Path]) -> None:
    base, out = built
    seen = inspect_iso(Runner(), out)
    assert seen.problems == []
    assert seen.volid == xorriso.read_volume_header(base).volid  # label kept
    assert seen.bios_boot == "/isolinux/isolinux.bin"
    assert seen.uefi_boot == "/images/efiboot.img"
    assert seen.hybrid_mbr and seen.gpt
    spec = menu.MenuSpec(seen.volid, "3.2", "3.1", KS_INSTALL_PATH, KS_UPGRADE_PATH)
    expected = [e.label for e in menu.entries(spec)]
    assert expected[0] == "Install eXpand (3.2)"
    assert expected[2] == "Upgrade eXpand standalone (3.1 -> 3.2)"
    assert set(seen.menus) == {"isolinux", "grub", "efiboot-grub"}
    for parsed in seen.menus.values():
        assert parsed.labels == expected
        assert parsed.default_index == 0
        assert parsed.timeout_s == menu.DEFAULT_TIMEOUT_S
        ks_arg = f"inst.ks=hd:LABEL={seen.volid}:{KS_INSTALL_PATH}"
        assert ks_arg in parsed.entries[0].args
        assert f"inst.ks=hd:LABEL={seen.volid}:{KS_UPGRADE_PATH}" in parsed.entries[1].args
    assert seen.menus["isolinux"].title == "Welcome to eXpand 3.2!"
    assert [k.present and not k.problems for k in seen.kickstarts] == [True, True]
    assert seen.answers_on_disc
    assert seen.md5_implanted and seen.md5_ok


def test_checkisomd5_passes(built: tuple[Path, Path]) -> None:
    proc = subprocess.run(["checkisomd5", str(built[1])], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS" in proc.stdout + proc.stderr


def test_answers_on_disc_have_no_passwords(built: tuple[Path, Path], tmp_path: Path) -> None:
    text = _extract_text(built[1], ANSWERS_ON_DISC, tmp_path)
    assert "[network]" in text
    for secret in SECRETS:
        assert secret in ANSWERS.read_text()
        assert secret not in text


def test_added_tree_is_on_disc(built: tuple[Path, Path], tmp_path: Path) -> None:
    assert _extract_text(built[1], "/expand/extra/docs/readme.txt", tmp_path) == \
        "an added folder"


def test_add_cannot_replace_the_checked_repository(built: tuple[Path, Path],
                                                   tmp_path: Path) -> None:
    out = tmp_path / "out.iso"
    with pytest.raises(ExpandError, match="made by --repo DIR"):
        build_iso(BuildOptions(built[0], out, no_repo=True,
                               add=(AddTree.parse(f"{tmp_path}:/expand/repo"),)), Runner())
    assert not out.exists()


def test_new_volid_is_used_everywhere(built: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "relabelled.iso"
    build_iso(BuildOptions(built[0], out, volid="EXPAND-3-2-x86_64", repos=_repos(built)),
              Runner())
    seen = inspect_iso(Runner(), out, verify=False)
    assert seen.volid == "EXPAND-3-2-x86_64"
    assert seen.problems == []  # every menu looks for the new label
    grub = seen.menus["efiboot-grub"]
    assert "inst.stage2=hd:LABEL=EXPAND-3-2-x86_64" in grub.entries[0].args


def test_inspect_reports_a_damaged_image(built: tuple[Path, Path], tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.iso"
    data = bytearray(built[1].read_bytes())
    data[len(data) // 2: len(data) // 2 + 8] = b"XXXXXXXX"
    damaged.write_bytes(bytes(data))
    seen = inspect_iso(Runner(), damaged)
    assert not seen.ok
    assert "the implanted media checksum does not match the image" in seen.problems


# ---- bad input: a clear error and no output file ---------------------------------------

def _assert_refused(base: Path, out: Path, message: str, **kw: object) -> None:
    with pytest.raises(ExpandError) as err:
        build_iso(BuildOptions(base, out, **kw), Runner())  # type: ignore[arg-type]
    assert message in str(err.value)
    assert not out.exists()
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")] == []


def test_truncated_base(built: tuple[Path, Path], tmp_path: Path) -> None:
    base = tmp_path / "truncated.iso"
    base.write_bytes(built[0].read_bytes()[: 10 * 1024 * 1024])
    _assert_refused(base, tmp_path / "out.iso", "truncated")


def test_random_file(tmp_path: Path) -> None:
    base = tmp_path / "random.iso"
    base.write_bytes(os.urandom(3 * 1024 * 1024))
    _assert_refused(base, tmp_path / "out.iso", "not an ISO 9660 image")


def test_corrupt_base_fails_its_own_checksum(built: tuple[Path, Path], tmp_path: Path) -> None:
    base = tmp_path / "corrupt.iso"
    data = bytearray(built[0].read_bytes())
    data[20_000_000:20_000_008] = b"XXXXXXXX"
    base.write_bytes(bytes(data))
    _assert_refused(base, tmp_path / "out.iso", "corrupt", repos=_repos(built))


def test_bios_only_base(built: tuple[Path, Path], tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    subprocess.run(["xorriso", "-osirrox", "on", "-indev", str(built[0]), "-extract", "/",
                    str(tree)], check=True, capture_output=True)
    base = tmp_path / "bios-only.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-o", str(base), "-R", "-J", "-V",
                    "DEMO-BIOS-only", "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
                    "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", str(tree)],
                   check=True, capture_output=True)
    _assert_refused(base, tmp_path / "out.iso", "no El Torito UEFI boot record")


def test_base_label_with_spaces(built: tuple[Path, Path], tmp_path: Path) -> None:
    base = tmp_path / "spaces.iso"
    subprocess.run(["xorriso", "-indev", str(built[0]), "-outdev", str(base), "-boot_image",
                    "any", "replay", "-volid", "Rocky 9 DEMO"], check=True, capture_output=True)
    _assert_refused(base, tmp_path / "out.iso", "contains spaces")
    # ... and the way out that the message names works:
    out = tmp_path / "fixed.iso"
    build_iso(BuildOptions(base, out, volid="Rocky-9-DEMO", verify_base=False, no_repo=True),
              Runner())
    assert xorriso.read_volume_header(out).volid == "Rocky-9-DEMO"


def test_not_rhel_family(built: tuple[Path, Path], tmp_path: Path) -> None:
    treeinfo = tmp_path / "treeinfo"
    treeinfo.write_text("[general]\nfamily = Debian\narch = x86_64\nversion = 12\n")
    base = tmp_path / "debian.iso"
    subprocess.run(["xorriso", "-indev", str(built[0]), "-outdev", str(base), "-boot_image",
                    "any", "replay", "-map", str(treeinfo), "/.treeinfo"],
                   check=True, capture_output=True)
    _assert_refused(base, tmp_path / "out.iso", "not a RHEL-family release")


def test_invalid_answers_refused_before_writing(built: tuple[Path, Path],
                                                tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text(ANSWERS.read_text().replace('mode = "primary"', 'mode = "tertiary"'))
    out = tmp_path / "out.iso"
    with pytest.raises(ValidationFailed) as err:
        build_iso(BuildOptions(built[0], out, answers=answers), Runner())
    assert any(r.key == "mode" for r in err.value.reports)
    assert not out.exists()


def test_full_output_folder(built: tuple[Path, Path], tmp_path: Path) -> None:
    with tmpfs(tmp_path / "small", "size=8m") as small:
        _assert_refused(built[0], small / "out.iso", "lacks room", repos=_repos(built))


def test_read_only_output_folder(built: tuple[Path, Path], tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "ro,size=64m") as ro:
        _assert_refused(built[0], ro / "out.iso", "read-only", repos=_repos(built))


def test_add_must_be_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ExpandError, match="is not a folder"):
        AddTree.parse(str(tmp_path / "missing"))


def test_rewrite_mode_gives_the_same_disc_in_one_session(built: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    out = tmp_path / "rewritten.iso"
    result = build_iso(BuildOptions(built[0], out, rewrite=True, repos=_repos(built)), Runner())
    seen = inspect_iso(Runner(), out)
    assert seen.problems == []
    assert result.entries == seen.menus["efiboot-grub"].labels
    # compact: no room taken by the base's replaced files, unlike the appended session
    appended = tmp_path / "appended.iso"
    build_iso(BuildOptions(built[0], appended, repos=_repos(built)), Runner())
    assert out.stat().st_size < appended.stat().st_size


def _expandctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / ".venv/bin/expandctl"), *args], capture_output=True,
                          text=True, check=False)


def test_cli_inspect_json_and_build_error(built: tuple[Path, Path], tmp_path: Path) -> None:
    proc = _expandctl("iso", "inspect", "--json", str(built[1]))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] and data["menus"]["isolinux"]["title"] == "Welcome to eXpand 3.2!"
    junk = tmp_path / "junk.iso"
    junk.write_bytes(b"\x00" * 100_000)
    out = tmp_path / "out.iso"
    proc = _expandctl("iso", "build", "--base", str(junk), "--out", str(out))
    assert proc.returncode == 1
    last = proc.stderr.splitlines()[-1]
    assert last.startswith("expandctl: error: ") and "not an ISO 9660" in last
    assert not out.exists()


def test_cli_build_quiet_lines_when_not_a_terminal(built: tuple[Path, Path],
                                                   tmp_path: Path) -> None:
    out = tmp_path / "cli.iso"
    proc = _expandctl("iso", "build", "--base", str(built[0]), "--out", str(out), "--no-repo")
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr  # no redrawn progress line in logs
    assert "checking the base DVD" in proc.stderr.splitlines()
    assert "1. Install eXpand (3.2)  (default)" in proc.stdout
