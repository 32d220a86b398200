"""How long `expandctl support list` takes on a hub with N appliances connected.

Builds the test hub (tests/integration/support_hub_lab.py: a real sshd in a namespace, its
config from hub-config, N sites registered with their own keys), connects every site with
``ssh -N -R`` from the appliance namespace (in batches, under sshd's MaxStartups), then
times, 5 runs each, side by side:
- the whole command as an engineer runs it (``expandctl support list --json``, a new
  interpreter each time), and
- the listing itself (``support.listing.list_sites``) in one interpreter,
both in the hub's namespace, as root (the SINCE column needs the sessions' fds).

Run as root:  .venv/bin/python bench/support_list.py [--sites 100] [--runs 5]
Last line: ``support_list sites=N connected=C cli_median_s=X cli_cpu_median_s=Z
library_median_s=Y runs=R`` (goal: under 1 s for 100 sites). The CLI's wall time follows the
box's load (other jobs on 2 cores): its CPU time is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from appliance.wait import poll  # noqa: E402
from tests.integration.support_hub_lab import BANNER_PORT, EXPANDCTL, Hub, hub_lab  # noqa: E402

BATCH = 8  # sshd's MaxStartups 10: unauthenticated connections beyond it are dropped
LIBRARY_TIMER = """
import json, statistics, sys, time
from pathlib import Path
from tunnel.support.listing import list_sites
from tunnel.support.registry import load_registry
registry = load_registry(Path(sys.argv[1]), missing_ok=False)
times, connected = [], 0
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    listing = list_sites(registry)
    times.append(time.perf_counter() - start)
    connected = sum(s.connected for s in listing.sites)
print(json.dumps({"median": statistics.median(times), "connected": connected,
                  "known": listing.sessions_known}))
"""


def _children_cpu() -> float:
    """CPU seconds of finished children: the figure a busy box does not inflate much."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def all_listening(hub: Hub, sites: list[str]) -> bool:
    return all(hub.listening(hub.ports[site]) for site in sites)


def connect_all(hub: Hub, sites: list[str]) -> list[subprocess.Popen[bytes]]:
    procs = []
    for first in range(0, len(sites), BATCH):
        batch = sites[first:first + BATCH]
        for site in batch:
            procs.append(subprocess.Popen(
                hub.ssh_argv(site, "-N", "-o", "ExitOnForwardFailure=yes", "-R",
                             f"localhost:{hub.ports[site]}:127.0.0.1:{BANNER_PORT}"),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ready, _ = poll(partial(all_listening, hub, batch), bool, timeout=30, interval=0.1)
        if not ready:
            raise SystemExit(f"sites {batch} did not connect")
    return procs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    names = tuple(f"site{i:03d}" for i in range(args.sites))
    with hub_lab(names, via_cli=False) as hub:
        start = time.monotonic()
        procs = connect_all(hub, list(names))
        print(f"{args.sites} sites connected in {time.monotonic() - start:.1f} s",
              flush=True)
        try:
            cli_times, cli_cpu, connected = [], [], 0
            for _ in range(args.runs):
                t0, cpu0 = time.perf_counter(), _children_cpu()
                out = subprocess.run(hub.in_ns(hub.hub_ns, EXPANDCTL, "support", "list",
                                               "--json", "--registry", str(hub.registry)),
                                     capture_output=True, text=True, check=True).stdout
                cli_times.append(time.perf_counter() - t0)
                cli_cpu.append(_children_cpu() - cpu0)
                listing = json.loads(out)
                connected = listing["connected"]
                assert all(s["since"] for s in listing["sites"]), "a site without SINCE"
            library = json.loads(subprocess.run(
                hub.in_ns(hub.hub_ns, sys.executable, "-c", LIBRARY_TIMER, str(hub.registry),
                          str(args.runs)), capture_output=True, text=True, check=True,
                cwd=REPO).stdout)
            print(f"cli runs (s): {' '.join(f'{t:.3f}' for t in cli_times)}; "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            print(f"support_list sites={args.sites} connected={connected} "
                  f"cli_median_s={statistics.median(cli_times):.3f} "
                  f"cli_cpu_median_s={statistics.median(cli_cpu):.3f} "
                  f"library_median_s={library['median']:.4f} runs={args.runs}")
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
