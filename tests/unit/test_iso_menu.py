"""The branded menus: rendered for isolinux and GRUB, read back by the same parser inspect uses."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from appliance.cli import main
from iso import menu

SPEC = menu.MenuSpec("Rocky-9-4-x86_64-dvd", "3.2", "3.1", "/ks/expand-install.ks",
                     "/ks/expand-upgrade.ks")
LABELS = ["Install eXpand (3.2)", "Upgrade eXpand (3.1 -> 3.2)",
          "Upgrade eXpand standalone (3.1 -> 3.2)", "Install system with basic video driver",
          "Rescue installed system", "Boot from local drive", "Memory test"]


def test_entries_are_the_seeds_menu() -> None:
    assert [e.label for e in menu.entries(SPEC)] == LABELS
    assert SPEC.title == "Welcome to eXpand 3.2!"


def test_isolinux_round_trip() -> None:
    text = menu.render_isolinux(SPEC)
    parsed = menu.parse_isolinux(text)
    assert parsed.title == "Welcome to eXpand 3.2!"
    assert parsed.labels == LABELS  # hotkey carets removed
    assert parsed.default_index == 0
    assert parsed.timeout_s == 60
    assert text.startswith("serial 0 115200\n")
    assert "localboot 0xffff" in text


def test_grub_round_trip() -> None:
    text = menu.render_grub(SPEC)
    parsed = menu.parse_grub(text)
    assert parsed.labels == LABELS
    assert parsed.default_index == 0
    assert parsed.timeout_s == 60
    for line in ("serial --unit=0 --speed=115200", "terminal_input serial console",
                 "terminal_output serial console",
                 "search --no-floppy --set=root -l 'Rocky-9-4-x86_64-dvd'"):
        assert line in text.splitlines()


def test_install_and_upgrade_entries_find_the_kickstart_by_label() -> None:
    for parsed in (menu.parse_isolinux(menu.render_isolinux(SPEC)),
                   menu.parse_grub(menu.render_grub(SPEC))):
        install, upgrade, standalone, video, rescue, local, memtest = parsed.entries
        stage2 = "inst.stage2=hd:LABEL=Rocky-9-4-x86_64-dvd"
        ks_install = "inst.ks=hd:LABEL=Rocky-9-4-x86_64-dvd:/ks/expand-install.ks"
        ks_upgrade = "inst.ks=hd:LABEL=Rocky-9-4-x86_64-dvd:/ks/expand-upgrade.ks"
        assert {stage2, ks_install} <= set(install.args)
        assert {stage2, ks_upgrade, "expand.upgrade=cluster"} <= set(upgrade.args)
        assert {stage2, ks_upgrade, "expand.upgrade=standalone"} <= set(standalone.args)
        assert "nomodeset" in video.args and not any("inst.ks" in a for a in video.args)
        assert "inst.rescue" in rescue.args
        assert local.args == () and memtest.args == ()


def test_timeout_and_versions_follow_the_spec() -> None:
    spec = menu.MenuSpec("X", "4.0", "3.2", "/a.ks", "/b.ks", timeout_s=5)
    assert menu.parse_isolinux(menu.render_isolinux(spec)).timeout_s == 5
    assert menu.parse_grub(menu.render_grub(spec)).labels[1] == "Upgrade eXpand (3.2 -> 4.0)"


def test_parse_grub_reads_rocky_style_configs() -> None:
    text = """set default="1"
set timeout=60
menuentry 'Install Rocky Linux 9.4' --class fedora --class gnu-linux --class gnu --class os {
	linuxefi /images/pxeboot/vmlinuz inst.stage2=hd:LABEL=Rocky-9-4-x86_64-dvd quiet
	initrdefi /images/pxeboot/initrd.img
}
submenu 'Troubleshooting -->' {
}
"""
    parsed = menu.parse_grub(text)
    assert parsed.labels == ["Install Rocky Linux 9.4"]
    assert parsed.default_index == 1
    assert parsed.entries[0].args == ("inst.stage2=hd:LABEL=Rocky-9-4-x86_64-dvd", "quiet")


@pytest.mark.parametrize("seconds", [1, 5, 60, 3599])
def test_both_menus_count_down_the_same_seconds(seconds: int) -> None:
    spec = dataclasses.replace(SPEC, timeout_s=seconds)
    isolinux, grub = menu.render_isolinux(spec), menu.render_grub(spec)
    assert f"timeout {seconds * 10}" in isolinux.splitlines()  # tenths of a second
    assert f"set timeout={seconds}" in grub.splitlines()       # seconds
    assert menu.parse_isolinux(isolinux).timeout_s == menu.parse_grub(grub).timeout_s == seconds
    assert seconds * 10 <= 35996  # isolinux's largest timeout


@pytest.mark.parametrize("seconds", [0, -1, 3600, 10**6])
def test_a_countdown_that_means_two_things_is_refused(seconds: int) -> None:
    assert menu.timeout_problem(seconds) is not None
    spec = dataclasses.replace(SPEC, timeout_s=seconds)
    for render in (menu.render_isolinux, menu.render_grub):
        with pytest.raises(ValueError, match="menu timeout"):
            render(spec)


@pytest.mark.parametrize("value", ["0", "-1", "3600"])
def test_iso_build_refuses_the_timeout_in_one_line(tmp_path: Path, value: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["iso", "build", "--base", str(tmp_path / "base.iso"),
                 "--out", str(tmp_path / "out.iso"), "--menu-timeout", value])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"expandctl: error: --menu-timeout {value} is not a countdown of "
                          "1-3599 seconds")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.iso").exists()
