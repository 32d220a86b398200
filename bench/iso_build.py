"""Remaster time of ``iso build`` against a plain ``cp`` of the same base, same disk, same run.

The base is the demo DVD padded with a 1 GiB file (added with xorriso, then a checksum
implanted like a vendor DVD). Each side runs ``--rounds`` times, interleaved, and the
medians are compared. Last line:
``iso_build ratio=R remaster_s=A copy_s=B mb_per_s=C``  (target: ratio <= 1.15).

Before each timed step the outputs are removed, ``sync`` runs and the base is dropped
from the page cache, so both sides read it from the disk and neither pays for the
other's write-back. Run under the heavy lock on a shared machine:
  flock /tmp/expand-heavy.lock .venv/bin/python bench/iso_build.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from appliance.runner import Runner  # noqa: E402
from iso.build import BuildOptions, build_iso  # noqa: E402
from iso.demo_base import build_demo_base  # noqa: E402

MiB = 1024 * 1024


def padded_base(runner: Runner, folder: Path, pad_mib: int) -> Path:
    base = folder / f"base-{pad_mib}m.iso"
    if base.exists():
        return base
    demo = build_demo_base(folder / "demo-base.iso", runner)
    filler = folder / "filler.bin"
    block = os.urandom(MiB)  # not sparse, not all zeros: real bytes to copy
    with filler.open("wb") as fh:
        for _ in range(pad_mib):
            fh.write(block)
    partial = folder / "base.partial"
    runner.run(["xorriso", "-indev", str(demo), "-outdev", str(partial), "-boot_image", "any",
                "replay", "-map", str(filler), "/pad/filler.bin"], timeout=1800)
    runner.run(["implantisomd5", "--force", str(partial)], timeout=1800)
    partial.rename(base)
    filler.unlink()
    return base


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=REPO / "build/bench",
                        help="work folder (the disk measured); default build/bench")
    parser.add_argument("--pad-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    runner = Runner()
    base = padded_base(runner, args.dir, args.pad_mib)
    size = base.stat().st_size
    out, copy = args.dir / "expand.iso", args.dir / "copy.iso"
    copies, remasters, builds = [], [], []
    def settle() -> None:
        # Each timed step starts alike: no other output still being written back, and the
        # base not in the page cache (a DVD just downloaded or copied in is not, and
        # checkisomd5, run by 'iso build' on the base, drops it from the cache anyway).
        for path in (out, copy):
            path.unlink(missing_ok=True)
        runner.run(["sync"], timeout=600)
        fd = os.open(base, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)

    def time_copy() -> None:
        settle()
        start = time.monotonic()
        runner.run(["cp", str(base), str(copy)], timeout=1800)
        copies.append(time.monotonic() - start)

    def time_build() -> None:
        settle()
        # Without the base's checksum verification, which would read the whole base into
        # the cache just before the copy; the full build is timed separately below.
        result = build_iso(BuildOptions(base, out, verify_base=False), runner)
        remasters.append(result.remaster_s)
        builds.append(result.total_s)

    for round_number in range(args.rounds):  # alternate which goes first
        steps = (time_copy, time_build) if round_number % 2 == 0 else (time_build, time_copy)
        for step in steps:
            step()
    settle()
    full = build_iso(BuildOptions(base, out), runner).total_s
    settle()
    # This disk's speed swings several-fold from one second to the next (a shared VM):
    # compare medians of interleaved runs, and show every sample.
    copy_s, remaster_s = statistics.median(copies), statistics.median(remasters)
    build_s = statistics.median(builds)
    ratio = remaster_s / copy_s
    mb_s = size / 1e6 / remaster_s
    print(f"base: {base} ({size / 1e6:.0f} MB), {args.rounds} interleaved rounds, medians")
    print("samples cp:       " + " ".join(f"{t:.2f}" for t in copies))
    print("samples remaster: " + " ".join(f"{t:.2f}" for t in remasters))
    print(f"cp of the base:            {copy_s:7.2f} s  {size / 1e6 / copy_s:7.1f} MB/s")
    print(f"remaster (cp + session):   {remaster_s:7.2f} s  {mb_s:7.1f} MB/s")
    print(f"whole 'iso build' without / with the base checksum check: {build_s:.2f} s / "
          f"{full:.2f} s (adds checks, implantisomd5, fsync)")
    print(f"ratio remaster/cp: {ratio:.2f} (target <= 1.15)")
    print(f"iso_build ratio={ratio:.2f} remaster_s={remaster_s:.2f} copy_s={copy_s:.2f} "
          f"mb_per_s={mb_s:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
