"""Running a command inside another root filesystem (an Asterisk root on a test host).

The argv prefix enters a private mount namespace, binds the host's /proc and /dev into the
root, then chroots. The mounts live exactly as long as the processes started through it (a
daemonized Asterisk keeps its namespace), so a shared root never keeps a stale mount.
"""

from __future__ import annotations

from pathlib import Path

# Bind the host's /proc and /dev into the root inside a mount namespace of its own, then
# chroot: "$0" is the root, "$@" the command run inside.
_ENTER = ('mount --bind /proc "$0/proc" && mount --rbind /dev "$0/dev" '
          '&& exec chroot "$0" "$@"')


def chroot_prefix(root: Path) -> tuple[str, ...]:
    """The argv prefix that runs a command inside ``root`` (see the module's docstring)."""
    return ("unshare", "--mount", "--propagation", "private", "sh", "-c", _ENTER, str(root))
