"""The kickstarts as pykickstart objects: content, and render -> parse -> render stability."""

from __future__ import annotations

import pytest
from pykickstart.constants import CLEARPART_TYPE_NONE, KS_SCRIPT_POST, KS_SCRIPT_PRE

from kickstart.build import (
    INCLUDE_LINE,
    KS_INSTALL_PATH,
    KS_UPGRADE_PATH,
    KickstartOptions,
    boot_args,
    parse,
    render_handler,
    render_install,
    render_upgrade,
)

HASH = ("$6$Vq0kM1bO$4bTq3L0n3w0mC7o2Nw6m0y8j8i3x8fQ0bqJp0l9o6w3f8Q1b0bU2c8Q1Yx3t"
        ".Gd2pW0sK9vRj1p3a8z7d0E1/")
OPTIONS = [KickstartOptions(),
           KickstartOptions(volid="ALMA-9-4-X86_64-DVD", version="3.3", previous="3.2",
                            timezone="Europe/Madrid", root_password_hash=HASH,
                            answers_on_media=True)]


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("render", [render_install, render_upgrade])
def test_round_trip(options: KickstartOptions, render: object) -> None:
    assert callable(render)
    text = render(options)
    again = render_handler(parse(text))
    assert again == text
    assert render_handler(parse(again)) == text


def test_paths_on_the_disc() -> None:
    assert KS_INSTALL_PATH == "/ks/expand-install.ks"
    assert KS_UPGRADE_PATH == "/ks/expand-upgrade.ks"


def test_install_content() -> None:
    h = parse(render_install(KickstartOptions(volid="Rocky-9-4-x86_64-dvd")))
    assert h.displaymode.displayMode is not None and "text" in str(h.displaymode)
    assert h.harddrive.partition == "LABEL=Rocky-9-4-x86_64-dvd" and h.harddrive.dir == "/"
    assert h.timezone.timezone == "America/Montevideo"
    net = h.network.dataList()
    assert len(net) == 1 and net[0].bootProto == "dhcp" and net[0].activate
    assert h.rootpw.lock and not h.rootpw.password
    assert h.reboot.eject
    assert h.bootloader.location == "mbr"
    repos = {r.name: r.baseurl for r in h.repo.dataList()}
    assert repos == {"expand": "file:///run/install/repo/expand/repo"}
    packages = set(h.packages.packageList)
    assert {"chrony", "postfix", "cyrus-sasl-plain", "mdadm", "NetworkManager", "firewalld",
            "python3", "pacemaker", "corosync", "pcs", "resource-agents", "rsync", "tar",
            "expand-appliance"} <= packages
    assert [g.name for g in h.packages.groupList] == ["core"]
    # A package missing from the disc must stop the install, not be skipped silently.
    assert "--ignoremissing" not in str(h.packages)
    kinds = [(s.type, s.inChroot, s.interp) for s in h.scripts]
    assert kinds == [(KS_SCRIPT_PRE, False, "/usr/bin/python3"),
                     (KS_SCRIPT_POST, False, "/bin/sh"), (KS_SCRIPT_POST, True, "/bin/sh")]
    assert all(s.errorOnFail for s in h.scripts)


def test_partitioning_comes_from_the_include() -> None:
    text = render_install(KickstartOptions())
    commands = text.split("\n%pre")[0]
    assert commands.endswith(INCLUDE_LINE)
    assert not parse(text).partition.dataList()


def test_hashed_root_password() -> None:
    h = parse(render_install(KickstartOptions(root_password_hash=HASH)))
    assert h.rootpw.isCrypted and h.rootpw.password == HASH and not h.rootpw.lock


@pytest.mark.parametrize("bad", ["secret", "$6$has space$x", "", "$6$'quote$x"])
def test_plain_password_refused_without_echo(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        render_install(KickstartOptions(root_password_hash=bad))
    assert bad not in str(info.value) or bad == ""


@pytest.mark.parametrize("volid", ["", "Rocky 9 dvd"])
def test_bad_volume_label(volid: str) -> None:
    with pytest.raises(ValueError, match="volume label"):
        render_install(KickstartOptions(volid=volid))


def test_upgrade_keeps_data_partitions() -> None:
    install, upgrade = parse(render_install(KickstartOptions())), \
        parse(render_upgrade(KickstartOptions()))
    assert upgrade.clearpart.type == CLEARPART_TYPE_NONE
    assert not upgrade.zerombr.zerombr
    pre = [s.script for s in upgrade.scripts if s.type == KS_SCRIPT_PRE]
    assert pre and pre[0].rstrip().endswith("""sys.exit(main(["--mode", 'upgrade']))""")
    install_pre = next(s.script for s in install.scripts if s.type == KS_SCRIPT_PRE)
    assert install_pre.rstrip().endswith("""sys.exit(main(["--mode", 'install']))""")
    post = next(s.script for s in upgrade.scripts if s.type == KS_SCRIPT_POST and s.inChroot)
    assert "/srv/expand/backup/current" in post and "upgraded-from" in post


def test_answers_on_media_switches_the_copy() -> None:
    def nochroot(opts: KickstartOptions) -> str:
        h = parse(render_install(opts))
        script: str = next(s.script for s in h.scripts
                           if s.type == KS_SCRIPT_POST and not s.inChroot)
        return script
    assert "answers.media.toml" not in nochroot(KickstartOptions())
    assert "answers.media.toml" in nochroot(KickstartOptions(answers_on_media=True))


def test_boot_args_find_everything_by_label() -> None:
    assert boot_args("Rocky-9-4-x86_64-dvd", KS_UPGRADE_PATH) == (
        "inst.stage2=hd:LABEL=Rocky-9-4-x86_64-dvd "
        "inst.ks=hd:LABEL=Rocky-9-4-x86_64-dvd:/ks/expand-upgrade.ks")
    with pytest.raises(ValueError):
        boot_args("My DVD")
