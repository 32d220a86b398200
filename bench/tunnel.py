"""Tunnel recovery times against a real OpenSSH hub, with the daemon's default timing.

The hub and the appliance (each its own sshd, in network namespaces: see
lab/support_lab.py), then N times each:
- hub restart: the hub's sshd and all its sessions killed and started again → seconds until
  the appliance's sshd banner answers on the hub's localhost:PORT again;
- silent death: the hub frozen (SIGSTOP) → seconds until the daemon notices; then thawed →
  seconds until the forward works again;
- stale listener: the appliance's cable pulled until the daemon notices, and the appliance
  back with another address (nothing of the old connection reaches the hub: its session
  keeps the port) → seconds from the cable back to a working forward (the claim frees it).

Run as root (light: two sshds): .venv/bin/python bench/tunnel.py [--runs 5]
Last line: ``tunnel hub_restart_median_s=X silent_median_s=Y stale_median_s=Z runs=N``
(silent: freeze → noticed; the thaw → forward median is printed above it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.integration.tunnel_support import Lab, tunnel_lab  # noqa: E402

DEFAULTS: dict[str, float] = {  # the daemon's own defaults (tunnel.config)
    "keepalive-interval": 3, "keepalive-deadline": 4, "keepalive-misses": 3,
    "tcp-user-timeout": 15, "connect-timeout": 10, "policy-retry": 300}


def hub_restart(lab: Lab) -> float:
    lab.hub.stop()
    start = time.monotonic()
    lab.hub.start()
    lab.wait_forward(timeout=60)
    return time.monotonic() - start


def silent(lab: Lab) -> tuple[float, float]:
    lab.hub.freeze(True)
    start = time.monotonic()
    lab.wait_state_not("connected", timeout=60)
    noticed = time.monotonic() - start
    lab.hub.freeze(False)
    thawed = time.monotonic()
    lab.wait_forward(timeout=60)
    return noticed, time.monotonic() - thawed


def stale(lab: Lab, run: int) -> float:
    lab.cable(False)
    lab.wait_state_not("connected", timeout=60)
    lab.renumber(f"203.0.113.{150 + run}")
    lab.cable(True)
    start = time.monotonic()
    lab.wait_forward(timeout=60)
    return time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tunnel_lab(DEFAULTS) as lab:
        lab.start_daemon()
        lab.wait_forward(timeout=60)
        restarts = [hub_restart(lab) for _ in range(args.runs)]
        print("hub restart → forward s:", " ".join(f"{s:.2f}" for s in restarts), flush=True)
        silents = [silent(lab) for _ in range(args.runs)]
        print("frozen → noticed s:", " ".join(f"{s:.2f}" for s, _ in silents), flush=True)
        print("thawed → forward s:", " ".join(f"{s:.2f}" for _, s in silents), flush=True)
        stales = [stale(lab, run) for run in range(args.runs)]
        print("stale: cable back → forward s:", " ".join(f"{s:.2f}" for s in stales),
              flush=True)
        reclaims = lab.state().get("reclaims", 0)
        print(f"reclaims recorded by the daemon: {reclaims}")
        print(f"thawed_median_s={statistics.median(s for _, s in silents):.2f}")
    print(f"tunnel hub_restart_median_s={statistics.median(restarts):.2f} "
          f"silent_median_s={statistics.median(s for s, _ in silents):.2f} "
          f"stale_median_s={statistics.median(stales):.2f} runs={args.runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
