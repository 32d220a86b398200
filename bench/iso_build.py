"""The whole ``expandctl iso build`` process against its physical floor, as the user waits.

``iso build`` (base checked, session, media checksum, output fsync'ed) is timed as a
process against ``cp BASE COPY && sync`` and against ``md5sum BASE``, in interleaved
rounds (the order rotates), medians compared. An output carrying an implanted MD5 cannot
be faster than the larger of one copy and one MD5 pass: that is the floor. Last line:
``iso_build ratio_floor=R ratio_cp=Q build_s=A copy_s=B md5_s=C base_mib=M``
(goal: ratio_floor <= 1.15).

The base is the demo DVD padded to at least 4 GiB with a file of random bytes (written
with xorriso, checksum implanted like a vendor DVD), built once and cached in the work
folder. Before each timed step the outputs are removed, ``sync`` runs and the base is
dropped from the page cache, so every step reads it from the disk and none pays for
another's write-back. The run holds the heavy lock (tests.support) so no other CPU-heavy
job shares the two cores meanwhile; other light work still does: look at the spread.
  .venv/bin/python bench/iso_build.py [--rounds 5] [--pad-mib 4096]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from appliance.runner import Runner  # noqa: E402
from iso.demo_base import build_demo_base  # noqa: E402
from tests.support import heavy_lock  # noqa: E402

MiB = 1024 * 1024
# A menu-only disc: the product repository's createrepo_c and closure check are not what
# this bench measures (about 0.1 s on the demo DVD, see README).
EXTRA_BUILD_ARGS: tuple[str, ...] = ("--no-repo",)


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
                "replay", "-map", str(filler), "/pad/filler.bin"], timeout=3600)
    runner.run(["implantisomd5", "--force", str(partial)], timeout=3600)
    partial.rename(base)
    filler.unlink()
    return base


def expandctl() -> list[str]:
    venv = REPO / ".venv/bin/expandctl"
    return [str(venv)] if venv.exists() else [shutil.which("expandctl") or "expandctl"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=REPO / "build/bench",
                        help="work folder (the disk measured); default build/bench")
    parser.add_argument("--pad-mib", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    runner = Runner()
    base = padded_base(runner, args.dir, args.pad_mib)
    out, copy = args.dir / "expand.iso", args.dir / "copy.iso"
    commands: dict[str, list[str]] = {
        "build": [*expandctl(), "iso", "build", "--base", str(base), "--out", str(out),
                  *EXTRA_BUILD_ARGS],
        "copy": ["sh", "-c", 'cp -- "$1" "$2" && sync', "sh", str(base), str(copy)],
        "md5": ["md5sum", str(base)],
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}

    def settle() -> None:
        for path in (out, copy):
            path.unlink(missing_ok=True)
        subprocess.run(["sync"], check=True)
        fd = os.open(base, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)

    def timed(name: str) -> Callable[[], None]:
        def step() -> None:
            settle()
            start = time.monotonic()
            proc = subprocess.run(commands[name], capture_output=True, text=True, check=False)
            elapsed = time.monotonic() - start
            if proc.returncode != 0:
                raise SystemExit(f"{name} failed ({proc.returncode}): {proc.stderr.strip()}")
            samples[name].append(elapsed)
        return step

    steps = [timed(name) for name in commands]
    with heavy_lock():
        for round_number in range(args.rounds):  # rotate which goes first
            shift = round_number % len(steps)
            for step in steps[shift:] + steps[:shift]:
                step()
        settle()
    size_mib = base.stat().st_size / MiB
    median = {name: statistics.median(times) for name, times in samples.items()}
    floor = max(median["copy"], median["md5"])
    print(f"base: {base} ({size_mib:.0f} MiB), {args.rounds} interleaved rounds, medians")
    for name, times in samples.items():
        spread = (max(times) - min(times)) / median[name] * 100
        print(f"samples {name:5}: " + " ".join(f"{t:.2f}" for t in times) +
              f"  (median {median[name]:.2f} s, spread {spread:.0f}%, "
              f"{size_mib / median[name]:.0f} MiB/s)")
    print(f"floor = max(cp && sync, md5sum) = {floor:.2f} s; "
          f"iso build / floor = {median['build'] / floor:.2f} (goal <= 1.15)")
    print(f"iso_build ratio_floor={median['build'] / floor:.2f} "
          f"ratio_cp={median['build'] / median['copy']:.2f} build_s={median['build']:.2f} "
          f"copy_s={median['copy']:.2f} md5_s={median['md5']:.2f} base_mib={size_mib:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
