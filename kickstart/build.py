"""The eXpand kickstarts, built as pykickstart RHEL 9 objects and rendered by pykickstart.

Partitioning is not here: a ``%pre`` (``kickstart/disks.py``) looks at the disks at install
time and writes ``/tmp/expand-part.ks``, which the kickstart ``%include``s. pykickstart has
no object for ``%include``, so rendering adds that one line after the commands.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

from pykickstart.constants import (
    CLEARPART_TYPE_NONE,
    DISPLAY_MODE_TEXT,
    FIRSTBOOT_SKIP,
    KS_REBOOT,
    KS_SCRIPT_POST,
    KS_SCRIPT_PRE,
    SELINUX_ENFORCING,
)
from pykickstart.parser import Group, KickstartParser, Script
from pykickstart.version import RHEL9, makeVersion

from appliance.volume_label import label_problem
from kickstart import disks, scripts

KS_INSTALL_PATH = "/ks/expand-install.ks"
KS_UPGRADE_PATH = "/ks/expand-upgrade.ks"
INCLUDE_LINE = f"%include {disks.INCLUDE_PATH}\n"

BASE_PACKAGES = ("chrony", "postfix", "cyrus-sasl-plain", "mdadm", "NetworkManager",
                 "firewalld", "python3", "rsync", "tar", "efibootmgr")
# Not on the Rocky/Alma DVD (HighAvailability repository): the release engineer mirrors
# them into the product repository on the disc, next to the product's own packages.
HA_PACKAGES = ("pacemaker", "corosync", "pcs", "fence-agents-all", "resource-agents")
PRODUCT_PACKAGES = ("expand-appliance",)
PRODUCT_REPO_NAME = "expand"
_CRYPT_HASH = re.compile(r"\$[0-9a-z]+(\$[^$\s'\"]+)+")


@dataclass(frozen=True)
class KickstartOptions:
    volid: str = "Rocky-9-4-x86_64-dvd"   # label of the DVD; the kickstart is found by it
    version: str = "3.2"
    previous: str = "3.1"
    timezone: str = "America/Montevideo"
    root_password_hash: str | None = None  # None: root locked (wizard / support tunnel)
    answers_on_media: bool = False         # DVD carries answers -> %post copies them


def build_handler(options: KickstartOptions, upgrade: bool = False) -> Any:
    """A RHEL 9 handler holding the whole kickstart except the generated partitioning."""
    problem = label_problem(options.volid)
    if problem:
        raise ValueError(f"volume label {options.volid!r} {problem}")
    if options.root_password_hash is not None \
            and not _CRYPT_HASH.fullmatch(options.root_password_hash):
        # Never echo the value: it may be a plain password given by mistake.
        raise ValueError("root password hash is not a crypt(3) hash like '$6$salt$...' "
                         "(make one with 'openssl passwd -6')")
    h = makeVersion(RHEL9)
    h.displaymode(displayMode=DISPLAY_MODE_TEXT)
    h.eula(agreed=True)
    # The boot media is the install source, found by its label: the same for a DVD drive
    # and for the DVD image written to a USB stick (the 'cdrom' command only covers drives).
    h.harddrive(partition=f"LABEL={options.volid}", dir="/")
    h.repo.dataList().append(h.RepoData(
        name=PRODUCT_REPO_NAME, baseurl=f"file://{scripts.MEDIA_MOUNT}"
                                        f"{scripts.PRODUCT_REPO_ON_DISC}"))
    h.lang(lang="en_US.UTF-8", addsupport=["es_UY.UTF-8"])
    h.keyboard(vc_keymap="la-latin1", x_layouts=["latam"])
    h.timezone(timezone=options.timezone, isUtc=True)
    # DHCP only for the install; the first-boot wizard writes the real network config.
    h.network.dataList().append(h.NetworkData(bootProto="dhcp", activate=True, onboot=True))
    if options.root_password_hash is None:
        h.rootpw(lock=True, password="")
    else:
        h.rootpw(isCrypted=True, password=options.root_password_hash)
    h.selinux(selinux=SELINUX_ENFORCING)
    h.firewall(enabled=True, services=["ssh"])
    h.firstboot(firstboot=FIRSTBOOT_SKIP)  # our own wizard, not initial-setup
    h.skipx(skipx=True)
    h.bootloader(location="mbr", timeout=5)
    h.reboot(action=KS_REBOOT, eject=True)
    if upgrade:
        # Explicit: never clear anything; the %include reuses what exists.
        h.clearpart(type=CLEARPART_TYPE_NONE)
    _add_packages(h)
    mode = "upgrade" if upgrade else "install"
    h.scripts.append(Script(scripts.pre_script(mode), type=KS_SCRIPT_PRE,
                            interp="/usr/bin/python3", errorOnFail=True,
                            logfile="/tmp/expand-pre.log"))
    h.scripts.append(Script(scripts.post_nochroot(options.answers_on_media),
                            type=KS_SCRIPT_POST, inChroot=False, errorOnFail=True,
                            logfile="/tmp/expand-post-nochroot.log"))
    post = scripts.post_chroot(options.version, options.previous if upgrade else None)
    h.scripts.append(Script(post, type=KS_SCRIPT_POST,
                            inChroot=True, errorOnFail=True,
                            logfile="/root/expand-post.log"))
    return h


def _add_packages(h: Any) -> None:
    # No --ignoremissing: a package missing from the disc stops the install, naming it.
    h.packages.groupList.append(Group("core"))
    h.packages.packageList.extend([*BASE_PACKAGES, *HA_PACKAGES, *PRODUCT_PACKAGES])
    h.packages.seen = True


def render_handler(handler: Any) -> str:
    """Text of a handler, with the partitioning ``%include`` after the commands."""
    text = str(handler)
    # Commands come first, then the sections; the first section starts with "\n%".
    cut = text.find("\n%")
    if cut < 0:
        return text + INCLUDE_LINE
    return text[:cut] + "\n" + INCLUDE_LINE + text[cut:]


def render_install(options: KickstartOptions) -> str:
    return render_handler(build_handler(options, upgrade=False))


def render_upgrade(options: KickstartOptions) -> str:
    """Reinstall the system keeping the data filesystem, for "Upgrade eXpand (3.1 -> 3.2)"."""
    return render_handler(build_handler(options, upgrade=True))


def boot_args(volid: str, ks_path: str = KS_INSTALL_PATH) -> str:
    """Kernel arguments of a DVD menu entry: stage2 and kickstart both found by the label.

    dracut mounts the stage2 device at /run/install/repo, where the kickstart's product
    repository and answers are read from.
    """
    problem = label_problem(volid)
    if problem:
        raise ValueError(f"volume label {volid!r} {problem}")
    return f"inst.stage2=hd:LABEL={volid} inst.ks=hd:LABEL={volid}:{ks_path}"


def parse(text: str, include: str | None = None) -> Any:
    """Parse kickstart text with pykickstart's RHEL 9 parser (raises on syntax errors).

    ``include`` replaces the partitioning ``%include`` line (the text the %pre would write);
    without it the line is skipped, as anaconda's first pass does.
    """
    handler = makeVersion(RHEL9)
    parser = KickstartParser(handler, followIncludes=False)
    if include is not None:
        text = text.replace(INCLUDE_LINE, include)
    with warnings.catch_warnings():
        # One BIOS boot partition per disk is intended: each disk of the mirror boots alone.
        warnings.filterwarnings("ignore", message=".*mountpoint biosboot has already been")
        parser.readKickstartFromString(text)
    return handler
