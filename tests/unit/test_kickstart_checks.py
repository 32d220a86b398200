"""Our checks beyond pykickstart's syntax, on hand-written and rendered kickstarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from kickstart import checks, disks
from kickstart.build import KickstartOptions, render_install, render_upgrade

HEAD = """text
harddrive --partition=LABEL=X --dir=/
rootpw --lock
"""
GOOD_LAYOUT = """zerombr
clearpart --all --initlabel --drives=sda,sdb --disklabel=gpt
ignoredisk --only-use=sda,sdb
part /boot/efi --fstype=efi --size=600 --ondisk=sda
part /boot/efi2 --fstype=efi --size=600 --ondisk=sdb
part raid.01 --size=20000 --ondisk=sda
part raid.02 --size=20000 --ondisk=sdb
raid / --device=root --level=1 --fstype=xfs raid.01 raid.02
"""


def messages(text: str) -> list[str]:
    return [str(r) for r in checks.validate_text(text, "ks.cfg")]


def test_hand_written_good_layout_is_clean() -> None:
    assert messages(HEAD + GOOD_LAYOUT) == []


def test_raid_member_naming_a_missing_partition() -> None:
    text = HEAD + GOOD_LAYOUT.replace("raid.01 raid.02", "raid.01 raid.03")
    assert messages(text) == [
        "ks.cfg:11: raid /: member raid.03 is not defined by any 'part raid.03'"]


def test_mount_point_used_twice() -> None:
    text = HEAD + GOOD_LAYOUT + "part / --fstype=xfs --size=1000 --ondisk=sda\n"
    # pykickstart only warns for part+part duplicates; a part and a raid on / it misses.
    assert "ks.cfg:12: mount point / is used twice (first at line 11)" in messages(text)


def test_no_esp() -> None:
    text = HEAD + "\n".join(line for line in GOOD_LAYOUT.splitlines()
                            if "/boot/efi" not in line) + "\n"
    found = messages(text)
    assert len(found) == 1 and "no EFI system partition" in found[0]


def test_raid1_with_one_member() -> None:
    text = HEAD + GOOD_LAYOUT.replace("raid.01 raid.02", "raid.01")
    assert any("RAID1 needs 2 members, has 1" in m for m in messages(text))


def test_ondisk_outside_only_use() -> None:
    text = HEAD + GOOD_LAYOUT.replace("--ondisk=sdb", "--ondisk=sdc", 1)
    assert any("--ondisk=sdc: disk not in 'ignoredisk --only-use'" in m
               for m in messages(text))


def test_no_partitioning_at_all() -> None:
    assert any("no partitioning" in m for m in messages(HEAD))


def test_syntax_errors_all_reported_with_lines() -> None:
    text = HEAD + "frobnicate --now\n" + GOOD_LAYOUT + "timezone\n"
    found = messages(text)
    assert found[0].startswith("ks.cfg:4: ") and "frobnicate" in found[0]
    assert found[1].startswith("ks.cfg:13: ")
    assert len(found) == 2


def test_unterminated_section() -> None:
    found = messages(HEAD + GOOD_LAYOUT + "%post\necho hi\n")
    assert len(found) == 1 and "does not end with %end" in found[0]


@pytest.mark.parametrize("render", [render_install, render_upgrade])
def test_rendered_kickstarts_are_clean(render: object) -> None:
    assert callable(render)
    assert checks.validate_text(render(KickstartOptions()), "ks") == []


def test_scenarios_cover_one_and_two_disks_bios_and_uefi() -> None:
    names = [name for name, _, _ in checks.scenarios("install")]
    assert names == ["1 disk(s), bios", "2 disk(s), bios", "1 disk(s), uefi", "2 disk(s), uefi"]
    assert len(checks.scenarios("upgrade")) == 4


def test_combined_check_catches_a_broken_pre(monkeypatch: pytest.MonkeyPatch) -> None:
    """The %pre's layouts are checked: a generator that drops a member is caught."""
    good = disks.install_include

    def broken(layout: disks.Layout) -> str:
        return good(layout).replace(" raid.root2\n", "\n")
    monkeypatch.setattr(disks, "install_include", broken)
    found = messages(render_install(KickstartOptions()))
    assert "ks.cfg: layout [2 disk(s), uefi]: raid /: RAID1 needs 2 members, has 1" in found
    assert not any("1 disk(s)" in m for m in found)


def test_combined_check_requires_esp_per_disk_on_uefi(monkeypatch: pytest.MonkeyPatch) -> None:
    good = disks.install_include

    def no_second_esp(layout: disks.Layout) -> str:
        return "".join(line for line in good(layout).splitlines(True)
                       if "/boot/efi2" not in line)
    monkeypatch.setattr(disks, "install_include", no_second_esp)
    found = messages(render_install(KickstartOptions()))
    assert found == ["ks.cfg: layout [2 disk(s), uefi]: disk sdb has no EFI system partition: "
                     "it cannot boot alone when the other disk fails"]


def test_include_without_our_pre_is_reported() -> None:
    text = HEAD + "%include /tmp/expand-part.ks\n"
    assert any("no eXpand %pre writes it" in m for m in messages(text))


def test_validate_file_and_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "ks.cfg"
    path.write_text(render_install(KickstartOptions()))
    assert checks.validate_file(path) == []
    from appliance.errors import ExpandError
    with pytest.raises(ExpandError, match="cannot read"):
        checks.validate_file(tmp_path / "missing.cfg")
