"""Time from confirmation to the final report of a first boot, in booted nspawn nodes.

Each run boots a fresh node (overlay on the cached Debian root), then times
``expandctl firstboot --answers primary.toml --yes`` inside it (``--yes`` is the
confirmation; the command ends when the final report is printed), then a rerun on the
same node (every step journaled, only postfix re-applied) for comparison.
Run as root, under the heavy lock:
    flock /tmp/expand-heavy.lock .venv/bin/python bench/firstboot_apply.py [--runs N]
Last line: ``firstboot_apply median_s=X runs=N``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lab.nspawn import Node, lab  # noqa: E402
from lab.rootfs import ensure_rootfs  # noqa: E402

APPLY = ["expandctl", "firstboot", "--answers", "/root/primary.toml", "--yes"]


def timed(node: Node) -> float:
    start = time.monotonic()
    result = node.run(APPLY, check=False, timeout=600)
    elapsed = time.monotonic() - start
    if result.returncode != 0 or "eXpand installed" not in result.stdout:
        raise SystemExit(f"apply failed in {node.name}:\n{result.stdout}\n{result.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rootfs = ensure_rootfs()
    first: list[float] = []
    rerun: list[float] = []
    for number in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="fb-bench-") as work, lab(Path(work)) as the_lab:
            node = the_lab.add_node(f"b{number}", rootfs=rootfs,
                                    dhcp_like="198.51.100.150/24")
            shutil.copy(REPO / "examples/answers/primary.toml", node.root / "root/primary.toml")
            first.append(timed(node))
            rerun.append(timed(node))
        print(f"run {number + 1}: first apply {first[-1]:.2f} s, rerun {rerun[-1]:.2f} s",
              flush=True)
    median_first, median_rerun = statistics.median(first), statistics.median(rerun)
    print(f"first apply median {median_first:.2f} s; rerun (journaled) median "
          f"{median_rerun:.2f} s; ratio {median_first / median_rerun:.1f}x")
    print(f"firstboot_apply median_s={median_first:.2f} runs={args.runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
