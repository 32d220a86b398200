"""Time of a whole ``expandctl pbx render`` process on a generated site, against a plain copy.

The site has 2,000 extensions (each with its user) and 100 queues of 20 members
(pbx.render_sample). Each run renders into a fresh folder (the process: Python start,
validation, secret generation, render, atomic writes with fsync), then ``cp -r`` copies that
output, as the floor of writing the same files. No root needed:
    .venv/bin/python bench/pbx_render.py [--runs 5] [--extensions 2000] [--queues 100]
Last line: ``pbx_render render_s=A copy_s=B extensions=N`` (medians). The issue's goal is a
render of at most 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pbx.render_sample import big_site_toml  # noqa: E402

EXPANDCTL = Path(sys.executable).parent / "expandctl"


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--extensions", type=int, default=2000)
    parser.add_argument("--queues", type=int, default=100)
    args = parser.parse_args()
    renders: list[float] = []
    copies: list[float] = []
    with tempfile.TemporaryDirectory(prefix="pbx-render-bench-") as work:
        site = Path(work) / "site.toml"
        site.write_text(big_site_toml(args.extensions, args.queues))
        for number in range(args.runs):
            out, copy = Path(work) / f"out{number}", Path(work) / f"copy{number}"
            renders.append(timed([str(EXPANDCTL), "pbx", "render", str(site),
                                  "--out", str(out)]))
            copies.append(timed(["cp", "-r", str(out), str(copy)]))
            size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
            print(f"run {number + 1}: render {renders[-1]:.3f} s, cp -r {copies[-1]:.3f} s "
                  f"({size / 1e6:.1f} MB)", flush=True)
    render_s, copy_s = statistics.median(renders), statistics.median(copies)
    print(f"pbx_render render_s={render_s:.3f} copy_s={copy_s:.3f} "
          f"extensions={args.extensions}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
