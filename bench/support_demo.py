"""The support part of ``make demo``: a hub and two appliances in namespaces (lab/support_lab.py,
every piece the real one), then, as an engineer would:
- ``expandctl support list`` on the hub: both appliances connected, port, since when;
- ``expandctl support run --all -- uptime`` from the engineer's namespace, through the hub;
- the hub's sshd restarted (all its sessions killed) and the seconds until both tunnels
  work again (the daemons' default timing; README quotes bench/tunnel.py's figures).
Everything is torn down afterwards, on every path.

Run as root: .venv/bin/python bench/support_demo.py     Exit 0 when every step worked.
Last line: ``support_demo hub_restart_s=X sites=2``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from appliance.errors import ExpandError  # noqa: E402
from lab.support_lab import SupportLab, support_lab  # noqa: E402


def show(title: str, result: subprocess.CompletedProcess[str]) -> bool:
    print(f"-- {title} (exit {result.returncode})")
    print((result.stdout + result.stderr).rstrip())
    return result.returncode == 0


def steps(lab: SupportLab) -> bool:
    ok = show("on the hub: expandctl support list", lab.support_list())
    ok &= show("the engineer: expandctl support run --all -- uptime",
               lab.support("run", "--all", "--", "uptime"))
    print("-- the hub's sshd restarted (every session killed)", flush=True)
    seconds = lab.restart_hub()
    print(f"both tunnels back through the new hub in {seconds:.2f} s")
    ok &= show("on the hub: expandctl support list", lab.support_list())
    print(f"support_demo hub_restart_s={seconds:.2f} sites={len(lab.sites)}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args()
    start = time.monotonic()
    try:
        with support_lab() as lab:
            print(f"hub {lab.hub.listen[0]} and appliances "
                  + ", ".join(f"{s.name} ({s.ip}, hub port {s.port})" for s in lab.sites.values())
                  + f": tunnels up in {time.monotonic() - start:.1f} s", flush=True)
            ok = steps(lab)
    except ExpandError as exc:
        print(f"support demo: error: {exc}", file=sys.stderr)
        return 1
    print(f"(lab built, used and torn down in {time.monotonic() - start:.1f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
