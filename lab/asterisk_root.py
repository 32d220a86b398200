"""A Debian unstable root filesystem holding Asterisk 22, for tests and demos on a Debian host.

Asterisk 22 is packaged only in Debian unstable, and its modules need unstable's libc, so on
a Debian 12 host it runs only inside such a root (never installed on the host itself). The
root is built once with debootstrap (minbase, ~1 min, ~540 MB) under the lab's cache and
rebuilt only when its package list changes. Unlike the lab's node roots it gets no venv of
the toolkit: nothing of the toolkit runs inside it, only Asterisk and its tools.

Asterisk is reached inside it through ``pbx.chroot.chroot_prefix``. Run the build under the
heavy lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from appliance.runner import Runner
from lab.rootfs import CACHE, _build_lock, ensure_base, rootfs_dir

SUITE = "sid"
FLAVOR = "asterisk"
# Music on hold for the default class (its files live under astdatadir/moh); libtiff-tools
# for the fax mailer's tiff2pdf and for making test faxes (tiffcp). Not
# asterisk-dahdi: it depends on dahdi → dahdi-dkms, which brings gcc and kernel headers
# and builds kernel modules in its postinst. python3 for the fax mailer
# (expand-fax-to-mail), which Asterisk runs inside this root as on a box.
PACKAGES: tuple[str, ...] = (
    "asterisk", "asterisk-core-sounds-en", "asterisk-moh-opsound-wav", "sox", "libtiff-tools",
    "iproute2", "procps", "python3",
)



def ensure_asterisk_root(
    *,
    packages: Sequence[str] = PACKAGES,
    cache: Path = CACHE,
    runner: Runner | None = None,
    mirror: str | None = None,
) -> Path:
    """The cached unstable root with Asterisk, built when missing or when ``packages``
    changed; fetched from ``mirror``, by default the host's own Debian mirror."""
    runner = runner or Runner()
    target = rootfs_dir(SUITE, cache, FLAVOR)
    with _build_lock(cache):
        ensure_base(target, SUITE, packages, runner, mirror)
    return target



if __name__ == "__main__":
    import logging
    import sys

    from appliance.errors import ExpandError

    logging.basicConfig(level=logging.INFO)
    try:
        print(ensure_asterisk_root())
    except ExpandError as exc:
        print(f"lab.asterisk_root: {exc}", file=sys.stderr)
        sys.exit(1)
