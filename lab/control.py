"""Bring a lab cluster up (``up``) and down; every call is its own process (state in
``/run/expand-lab``). The work lives by what it does: ``lab.state`` (the recorded lab, its
power switch and waits), ``lab.nslab`` (namespace nodes), ``lab.appliance_lab`` (booted
appliance nodes) and ``lab.teardown`` (``down``)."""

from __future__ import annotations

import os
from pathlib import Path

from appliance.errors import ExpandError
from appliance.runner import Runner
from ha.status import ClusterStatus
from lab import appliance, netns, nslab
from lab.appliance_lab import install_appliances
from lab.mirror import check_mirror_url
from lab.nslab import SAN_DIR_NAME, lab_answers
from lab.nsnode import LAB_DIR
from lab.rootfs import HA_PACKAGES, ensure_rootfs
from lab.state import (
    is_up,
    node_names,
    node_runner,
    power,
    start_supervisor,
    status,
    write_state,
)
from lab.teardown import down

__all__ = ["down", "is_up", "lab_answers", "node_names", "node_runner", "power", "status",
           "up"]


def _refuse_bad_request(count: int, kind: str, storage: str, standalone: bool,
                        lab_dir: Path, runner: Runner) -> None:
    if os.geteuid() != 0:
        raise ExpandError("the lab needs root (network namespaces, mounts)")
    if count != 2:
        raise ExpandError("the lab runs exactly 2 nodes (a two-node cluster)")
    if kind == "appliance" and (storage != "none" or standalone):
        raise ExpandError("--appliance nodes run with storage none and both nodes "
                          "(--storage san and --standalone are namespace-lab options)")
    if storage not in ("none", "san"):
        raise ExpandError(f"lab storage {storage!r}: the namespace lab has none or san "
                          "(DRBD needs kernels: the VM lab)")
    if is_up(lab_dir):
        raise ExpandError(f"a lab is already up ({lab_dir}); 'expandctl lab down' first")
    leftovers = sorted(ns for ns in netns.existing_netns(runner)
                       if ns.startswith(f"{netns.PREFIX}-"))
    if leftovers:
        raise ExpandError(f"namespaces of an earlier lab are still there ({', '.join(leftovers)})"
                          ": run 'expandctl lab down' first")


def up(count: int = 2, lab_dir: Path = LAB_DIR, timeout: float = 90,
       storage: str = "none", no_fencing: bool = False,
       standalone: bool = False, kind: str = "namespace",
       mirror: str | None = None) -> ClusterStatus:
    """``mirror``: where an appliance lab's root filesystem is built from when it is not
    cached yet (default: the host's Debian mirror, from its apt sources)."""
    runner = Runner()
    if mirror is not None:
        mirror = check_mirror_url(mirror)
    _refuse_bad_request(count, kind, storage, standalone, lab_dir, runner)
    nodes = netns.default_nodes(count)
    names = [n.name for n in nodes]
    answers = lab_answers(storage)
    # Built before anything else exists: the first time, this is minutes of debootstrap.
    rootfs = (ensure_rootfs(packages=HA_PACKAGES, flavor="ha", mirror=mirror)
              if kind == "appliance" else None)
    lab_dir.mkdir(parents=True, exist_ok=True)
    (lab_dir / SAN_DIR_NAME).mkdir(exist_ok=True)
    try:
        netns.create_network(runner, nodes)
        if rootfs is not None:
            for name in names:
                appliance.prepare_root(lab_dir, name, rootfs, runner)
        else:
            nslab.write_node_config(runner, lab_dir, names, answers, standalone)
        write_state(lab_dir, {
            "nodes": [{"name": n.name, "lan_ip": str(n.lan_ip), "ic_ip": str(n.ic_ip),
                       "netns": n.netns} for n in nodes],
            "vip": str(answers.network.virtual_ip), "client_netns": netns.CLIENT_NS,
            "storage": storage, "kind": kind})
        start_supervisor(lab_dir)
        if rootfs is not None:
            return install_appliances(lab_dir, names, answers, no_fencing, timeout)
        return nslab.start_nodes(lab_dir, names, answers, standalone=standalone,
                                 no_fencing=no_fencing, timeout=timeout)
    except BaseException:
        down(lab_dir)
        raise
