"""Bodies of the kickstart scripts: the ``%pre`` (``kickstart/disks.py`` itself), the ``%post``s.

The shell bodies take their roots from environment variables that anaconda does not set
(``EXPAND_ROOT``, ``EXPAND_MEDIA``, ``EXPAND_WARNINGS``) or sets itself (``ANA_INSTALL_PATH``),
so tests run the very same text against a temporary directory.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from appliance import backup
from firstboot import paths
from kickstart import disks

# Where the ISO builder puts things on the disc (paths inside the ISO).
PRODUCT_REPO_ON_DISC = "/expand/repo"
ANSWERS_ON_DISC = "/expand/answers.toml"
# Mount point of the boot media in anaconda's runtime (dracut mounts the stage2 device here).
MEDIA_MOUNT = "/run/install/repo"
INSTALL_WARNINGS = f"{paths.STATE_DIR}/install-warnings"
# The data filesystem survives an upgrade; the product keeps its backup there (appliance.backup).
BACKUP_CURRENT = backup.CURRENT
RELEASE_FILE = f"{paths.CONFIG_DIR}/release"
UPGRADED_FROM_FILE = f"{paths.STATE_DIR}/upgraded-from"

_MAIN_GUARD = 'if __name__ == "__main__":'


def pre_script(mode: str) -> str:
    """The disk-choosing module's own source, ending in a call of ``main`` for ``mode``."""
    source = Path(disks.__file__).read_text()
    head, guard, _ = source.rpartition(_MAIN_GUARD)
    if not guard:
        raise RuntimeError("kickstart/disks.py lost its main guard")
    return head.rstrip() + f"\n\n\nsys.exit(main([\"--mode\", {mode!r}]))\n"


def post_nochroot(answers_on_media: bool) -> str:
    """Runs in anaconda's runtime: carries the install warnings and the disc's answers over."""
    lines = [
        "# Copy what the install learned, and what the disc carries, into the new system.",
        "set -eu",
        'SYSROOT="${ANA_INSTALL_PATH:-/mnt/sysroot}"',
        f'MEDIA="${{EXPAND_MEDIA:-{MEDIA_MOUNT}}}"',
        f'WARNINGS="${{EXPAND_WARNINGS:-{disks.WARNINGS_PATH}}}"',
        f'install -d -m 0755 "$SYSROOT{paths.STATE_DIR}"',
        'if [ -f "$WARNINGS" ]; then',
        f'    install -m 0644 "$WARNINGS" "$SYSROOT{INSTALL_WARNINGS}"',
        "fi",
    ]
    if answers_on_media:
        lines += [
            f'if [ ! -f "$MEDIA{ANSWERS_ON_DISC}" ]; then',
            f'    echo "eXpand: the disc should carry answers at {ANSWERS_ON_DISC}" >&2',
            "    exit 1",
            "fi",
            f'install -d -m 0755 "$SYSROOT{paths.CONFIG_DIR}"',
            f'install -m 0600 "$MEDIA{ANSWERS_ON_DISC}" "$SYSROOT{paths.MEDIA_ANSWERS}"',
        ]
    return "\n".join(lines) + "\n"


def post_chroot(version: str, upgraded_from: str | None) -> str:
    """Runs inside the installed system: enables the first-boot unit (the expand-appliance
    package ships it), its sentinel, the second ESP.

    ``upgraded_from`` is the previous version for the upgrade kickstart, None for install.
    """
    wants_dir = paths.UNIT_WANTS_LINK.rsplit("/", 1)[0]
    lines = [
        "# Enable the first-boot wizard; it runs while the sentinel exists.",
        "set -eu",
        'ROOT="${EXPAND_ROOT:-}"',
        f'install -d -m 0755 "$ROOT{wants_dir}" "$ROOT{paths.STATE_DIR}"',
        # What 'systemctl enable' does, without needing a running systemd in the chroot.
        f'ln -sfn {shlex.quote(paths.UNIT_PATH)} "$ROOT{paths.UNIT_WANTS_LINK}"',
        f': > "$ROOT{paths.SENTINEL}"',
        f'install -d -m 0755 "$ROOT{paths.CONFIG_DIR}"',
        f'echo {shlex.quote(version)} > "$ROOT{RELEASE_FILE}"',
    ]
    if upgraded_from is not None:
        lines += upgrade_restore_lines(upgraded_from)
    lines += [
        "# UEFI cannot boot from an md mirror: the second disk has its own ESP, a copy of",
        "# the first, with its own firmware boot entry.",
        f'if [ -z "$ROOT" ] && mountpoint -q {disks.ESP_MOUNTS[1]}; then',
        # -r, not -a: vfat has no owners to preserve, and a failed chown would stop %post.
        f"    cp -r {disks.ESP_MOUNTS[0]}/. {disks.ESP_MOUNTS[1]}/",
        f"    src=$(findmnt -no SOURCE {disks.ESP_MOUNTS[1]})",
        '    disk="/dev/$(lsblk -no PKNAME "$src")"',
        '    part=$(cat "/sys/class/block/${src##*/}/partition")',
        f"    loader=$(cd {disks.ESP_MOUNTS[0]} && find EFI -mindepth 2 -maxdepth 2 "
        "-iname shimx64.efi ! -path 'EFI/BOOT/*' | head -n 1)",
        '    if [ -n "$loader" ]; then',
        "        efibootmgr -c -d \"$disk\" -p \"$part\" -L 'eXpand (second disk)' "
        "-l \"$(printf '\\\\%s' \"$loader\" | tr / '\\\\')\" \\",
        "            || echo 'eXpand: could not add the boot entry of the second disk' >&2",
        "    fi",
        "fi",
    ]
    return "\n".join(lines) + "\n"


def upgrade_restore_lines(upgraded_from: str) -> list[str]:
    """The upgrade's %post part: the backup (appliance.backup) back into the new root.

    The mode comes from the boot entry (``expand.upgrade=``, /proc/cmdline; ``EXPAND_PROCFS``
    for tests); ``standalone`` leaves the cluster identity out. The %pre already refused an
    upgrade without a backup; this checks again, so a %post run alone never half-restores.
    """
    listing = f"$BACKUP/{backup.RESTORE_LIST}"
    return [
        "# Upgrade: bring back what the node kept on the data filesystem.",
        'PROCFS="${EXPAND_PROCFS:-/proc}"',
        "UPGRADE_MODE=$(tr ' ' '\\n' < \"$PROCFS/cmdline\" | sed -n 's/^expand\\.upgrade=//p'"
        " | tail -n 1)",
        'case "$UPGRADE_MODE" in',
        "    cluster|standalone) ;;",
        "    *) echo \"eXpand upgrade: expand.upgrade=cluster or expand.upgrade=standalone "
        "expected on the kernel command line, found '${UPGRADE_MODE}'\" >&2; exit 1 ;;",
        "esac",
        f'BACKUP="$ROOT{BACKUP_CURRENT}"',
        f'if [ ! -f "{listing}" ]; then',
        f'    echo "eXpand upgrade: no backup at {BACKUP_CURRENT} '
        "(run 'expandctl upgrade prepare' on the node first)\" >&2",
        "    exit 1",
        "fi",
        "TAB=$(printf '\\t')",
        'while IFS="$TAB" read -r type kind mode owner group path; do',
        '    if [ "$kind" = cluster ] && [ "$UPGRADE_MODE" = standalone ]; then continue; fi',
        # Names may be missing from the new system (a package not installed): root then.
        '    getent passwd "$owner" > /dev/null 2>&1 || owner=root',
        '    getent group "$group" > /dev/null 2>&1 || group=root',
        '    if [ "$type" = d ]; then',
        '        [ -d "$ROOT$path" ] || install -d -m "$mode" -o "$owner" -g "$group" '
        '"$ROOT$path"',
        "    else",
        '        install -d -m 0755 "$(dirname "$ROOT$path")"',
        f'        install -m "$mode" -o "$owner" -g "$group" "$BACKUP/{backup.FILES}$path" '
        '"$ROOT$path"',
        "    fi",
        f'done < "{listing}"',
        # The CIB comes back without its signature: pacemaker accepts a CIB with none.
        f'if [ "$UPGRADE_MODE" = cluster ] && [ -f "$ROOT{backup.CIB_FILE}" ]; then',
        f'    rm -f "$ROOT{backup.CIB_FILE}.sig"',
        "fi",
        f'echo {shlex.quote(upgraded_from)} > "$ROOT{UPGRADED_FROM_FILE}"',
        f'echo "$UPGRADE_MODE" > "$ROOT{backup.UPGRADE_MODE_FILE}"',
    ]
