"""Moving the service on purpose: switchover, standby, unstandby (each waits for the result)."""

from __future__ import annotations

import time
from collections.abc import Callable

from appliance.errors import ExpandError
from appliance.runner import Runner
from appliance.wait import poll
from ha.cib import FS_ID, VIP_ID
from ha.status import ClusterStatus, read_status

DEFAULT_TIMEOUT = 60.0


def wait_until(runner: Runner, what: str, done: Callable[[ClusterStatus], bool],
               timeout: float, interval: float = 0.25) -> ClusterStatus:
    """Read the cluster until ``done``; the timeout error says what the cluster looked like
    at the end."""
    reached, status = poll(lambda: read_status(runner), done, timeout=timeout,
                           interval=interval)
    if not reached:
        raise ExpandError(f"timed out after {timeout:.0f} s waiting for {what}; "
                          f"now: VIP on {status.vip_holder or 'no node'}, online: "
                          f"{', '.join(status.online()) or 'none'}")
    return status


def service_on(status: ClusterStatus, node: str) -> bool:
    """The whole chain (data, VIP, service) runs on ``node``."""
    relevant = [r for r in status.resources if r.agent and not r.agent.startswith("stonith:")
                and not r.id.startswith("drbd")]
    return bool(relevant) and all(r.role == "Started" and r.nodes == (node,) for r in relevant)


def chain_root(status: ClusterStatus) -> str:
    """The resource the rest follows: the data filesystem if any, else the VIP."""
    return FS_ID if status.resource(FS_ID) else VIP_ID


def switchover(runner: Runner, timeout: float = DEFAULT_TIMEOUT) -> tuple[str, str, float]:
    """Planned move to the other node; returns (from, to, seconds)."""
    status = read_status(runner)
    active = status.vip_holder
    if active is None:
        raise ExpandError("no node holds the VIP: nothing to switch over ('ha status')")
    targets = [n for n in status.online() if n != active]
    if not targets:
        raise ExpandError(f"no other node is online to take over from {active}")
    target = targets[0]
    root = chain_root(status)
    started = time.monotonic()
    runner.run(["crm_resource", "--move", "--resource", root, "--node", target])
    try:
        wait_until(runner, f"the service to run on {target}",
                   lambda s: service_on(s, target), timeout)
    finally:
        # Only a temporary preference: stickiness keeps it there afterwards.
        runner.run(["crm_resource", "--clear", "--resource", root], check=False)
    return active, target, time.monotonic() - started


def set_standby(runner: Runner, node: str, on: bool,
                timeout: float = DEFAULT_TIMEOUT) -> ClusterStatus:
    status = read_status(runner)
    names = [n.name for n in status.nodes]
    if node not in names:
        raise ExpandError(f"unknown node {node!r}; cluster nodes: {', '.join(names)}")
    runner.run(["pcs", "node", "standby" if on else "unstandby", node])
    if on:
        def moved_away(s: ClusterStatus) -> bool:
            others = [n for n in s.online() if n != node]
            left = all(node not in r.nodes for r in s.resources
                       if not r.agent.startswith("stonith:"))
            # With another node online, done means the service already runs there.
            return left and (not others or (s.vip_holder in others and
                             service_on(s, s.vip_holder)))
        return wait_until(runner, f"{node} to give up its resources", moved_away, timeout)
    return wait_until(runner, f"{node} to be online again",
                      lambda s: node in s.online(), timeout)
