"""The media checksum anaconda's "Test this media" checks (isomd5sum)."""

from __future__ import annotations

import re
from pathlib import Path

from appliance.runner import Runner
from iso import isomd5


def implanted_md5(runner: Runner, iso: Path) -> str | None:
    """The checksum implanted in ``iso``, or None when there is none."""
    result = runner.run(["checkisomd5", "--md5sumonly", str(iso)], check=False, timeout=60)
    match = re.search(r":\s+([0-9a-f]{32})\b", result.stdout)
    return match.group(1) if result.returncode == 0 and match else None


def verify_md5(runner: Runner, iso: Path) -> bool:
    """True when the implanted checksum matches the image (reads it whole)."""
    result = runner.run(["checkisomd5", str(iso)], check=False, timeout=3600)
    return result.returncode == 0 and "PASS" in result.stdout + result.stderr


def implant_md5(runner: Runner, iso: Path) -> None:
    # --force: the base's own checksum (carried over or not) is wrong for the new image.
    runner.run(["implantisomd5", "--force", str(iso)], timeout=3600)


def implanted_sum(iso: Path) -> isomd5.ImplantedSum | None:
    """The implanted checksum read from the PVD directly (what checkisomd5 parses)."""
    with iso.open("rb") as fh:
        fh.seek(isomd5.PVD_OFFSET)
        pvd = fh.read(isomd5.SECTOR)
    if not isomd5.is_pvd(pvd):
        return None
    lo, hi = isomd5.appdata_span(0)
    return isomd5.parse_appdata(pvd[lo:hi])
