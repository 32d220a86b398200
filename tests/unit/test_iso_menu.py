"""The branded menus: rendered for isolinux and GRUB, read back by the same parser inspect uses."""

from __future__ import annotations

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
