"""The cluster configuration (CIB), built as ``pcs -f FILE`` commands on an offline copy.

``build_steps`` is pure: answers → a list of commands. ``apply_steps`` runs them on a CIB
file (a fresh ``cibadmin --empty`` or a ``cibadmin --query`` of the live cluster) and
``push_cib`` replaces the live CIB in one transaction, so the cluster never sees half a
configuration.

Resources: storage (DRBD promotable clone or a SAN filesystem, or none) → the data
filesystem → the VIP → the PBX service, chained by order and colocation constraints. The
service is monitored (restarted in place, moved after repeated failures: ``ServiceSpec``).
``resource-stickiness`` keeps the service where it runs when the other node comes back.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from appliance.answers import Answers
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.runner import Runner
from ha.fencing import (
    HEURISTICS_AGENT,
    GatewayHeuristics,
    StonithDevice,
    devices_from_answers,
    heuristics_from_answers,
)

DATA_DIR = "/var/lib/expand/data"
DRBD_RESOURCE = "expand"
DRBD_DEVICE = "/dev/drbd0"
STICKINESS = 200
VIP_ID = "vip"
FS_ID = "data-fs"
DRBD_ID = "drbd-data"
DRBD_CLONE_ID = "drbd-data-clone"


@dataclass(frozen=True)
class ServiceSpec:
    """The PBX service resource (Asterisk on appliances; a stand-in in the namespace lab).

    Monitored every ``monitor_interval``: a failed monitor restarts it in place; after
    ``migration_threshold`` failures on a node it moves to the other one, and a node's
    failures are forgotten after ``failure_timeout`` (so one bad minute does not ban a
    node for good)."""

    resource_id: str
    agent: str
    params: tuple[tuple[str, str], ...] = ()
    monitor_interval: str = "10s"
    monitor_timeout: str = "30s"
    migration_threshold: int = 3
    failure_timeout: str = "120s"

    @property
    def meta(self) -> tuple[tuple[str, str], ...]:
        return (("migration-threshold", str(self.migration_threshold)),
                ("failure-timeout", self.failure_timeout))


ASTERISK = ServiceSpec("asterisk", "systemd:asterisk")


@dataclass(frozen=True)
class CibStep:
    argv: tuple[str, ...]
    what: str
    input: str | None = field(default=None, repr=False)
    cib_file_env: bool = False  # cibadmin reads the file from CIB_file, not from argv


@dataclass(frozen=True)
class CibOptions:
    service: ServiceSpec = ASTERISK
    no_fencing: bool = False
    devices: tuple[StonithDevice, ...] | None = None  # None: from the answers
    dc_deadtime: str | None = None  # lab only: a fresh cluster forms in seconds
    fs_type: str = "xfs"
    fs_options: str = ""
    storage_device: str | None = None  # None: storage.device from the answers


def _pcs(cib: str, *args: str) -> tuple[str, ...]:
    return ("pcs", "-f", cib, *args)


def _kv(params: Sequence[tuple[str, str]]) -> list[str]:
    return [f"{key}={value}" for key, value in params]


def property_steps(cib: str, opts: CibOptions) -> list[CibStep]:
    props = [("stonith-enabled", "false" if opts.no_fencing else "true")]
    if opts.dc_deadtime:
        props.append(("dc-deadtime", opts.dc_deadtime))
    steps = [CibStep(_pcs(cib, "property", "set", *_kv(props)), "cluster properties"),
             CibStep(_pcs(cib, "resource", "defaults", "update",
                          f"resource-stickiness={STICKINESS}"),
                     "stickiness: a returning node does not take the service back")]
    return steps


def storage_steps(cib: str, answers: Answers, opts: CibOptions) -> list[CibStep]:
    mode = answers.storage.mode
    if mode == "none":
        return []
    fs_params = [("directory", DATA_DIR), ("fstype", opts.fs_type)]
    if opts.fs_options:
        fs_params.append(("options", opts.fs_options))
    if mode == "san":
        return [CibStep(_pcs(cib, "resource", "create", FS_ID, "ocf:heartbeat:Filesystem",
                             f"device={opts.storage_device or answers.storage.device}",
                             *_kv(fs_params),
                             "op", "monitor", "interval=20s"),
                        "SAN data filesystem")]
    if mode == "drbd":
        return [
            CibStep(_pcs(cib, "resource", "create", DRBD_ID, "ocf:linbit:drbd",
                         f"drbd_resource={DRBD_RESOURCE}",
                         "op", "monitor", "interval=29s", "role=Promoted",
                         "op", "monitor", "interval=31s", "role=Unpromoted",
                         "promotable", "promoted-max=1", "promoted-node-max=1",
                         "clone-max=2", "clone-node-max=1", "notify=true"),
                    "DRBD mirror (promotable clone)"),
            CibStep(_pcs(cib, "resource", "create", FS_ID, "ocf:heartbeat:Filesystem",
                         f"device={DRBD_DEVICE}", *_kv(fs_params),
                         "op", "monitor", "interval=20s"),
                    "data filesystem on DRBD"),
            CibStep(_pcs(cib, "constraint", "order", "promote", DRBD_CLONE_ID,
                         "then", "start", FS_ID), "mount only after DRBD is promoted"),
            CibStep(_pcs(cib, "constraint", "colocation", "add", FS_ID, "with", "Promoted",
                         DRBD_CLONE_ID, "INFINITY"), "mount where DRBD is promoted"),
        ]
    raise ExpandError(f"storage.mode {mode!r} is not one of drbd, san, none")


def service_steps(cib: str, answers: Answers, opts: CibOptions) -> list[CibStep]:
    net = answers.network
    svc = opts.service
    steps = [
        CibStep(_pcs(cib, "resource", "create", VIP_ID, "ocf:heartbeat:IPaddr2",
                     f"ip={net.virtual_ip}", f"cidr_netmask={net.prefix}",
                     "op", "monitor", "interval=5s"), "virtual IP the phones use"),
        CibStep(_pcs(cib, "resource", "create", svc.resource_id, svc.agent, *_kv(svc.params),
                     "op", "monitor", f"interval={svc.monitor_interval}",
                     f"timeout={svc.monitor_timeout}", "meta", *_kv(svc.meta),
                     # pcs asks systemd for a unit's metadata; at first boot (or without
                     # systemd as PID 1) the unit cannot answer yet.
                     *(["--force"] if svc.agent.startswith("systemd:") else [])),
                "PBX service"),
        CibStep(_pcs(cib, "constraint", "colocation", "add", svc.resource_id, "with", VIP_ID,
                     "INFINITY"), "service runs where the VIP is"),
        # Not symmetrical: a VIP restarted for a new address leaves the service running
        # (it listens on every address; measured in the appliance lab, where the
        # symmetrical order restarted it); the data order below stops it before unmounting.
        CibStep(_pcs(cib, "constraint", "order", "start", VIP_ID, "then", "start",
                     svc.resource_id, "symmetrical=false"),
                "VIP up before the service starts"),
    ]
    if answers.storage.mode != "none":
        steps += [
            CibStep(_pcs(cib, "constraint", "colocation", "add", VIP_ID, "with", FS_ID,
                         "INFINITY"), "VIP where the data is mounted"),
            CibStep(_pcs(cib, "constraint", "order", "start", FS_ID, "then", "start", VIP_ID),
                    "data mounted before the VIP comes up"),
            CibStep(_pcs(cib, "constraint", "order", "start", FS_ID, "then", "start",
                         svc.resource_id),
                    "data mounted before the service starts, unmounted after it stops"),
        ]
    return steps


def fencing_steps(cib: str, devices: Sequence[StonithDevice],
                  heuristics: GatewayHeuristics | None = None) -> list[CibStep]:
    steps = []
    if heuristics and devices:
        steps.append(CibStep(_pcs(cib, "stonith", "create", heuristics.resource_id,
                                  HEURISTICS_AGENT, *_kv(heuristics.params()),
                                  "op", "monitor", "interval=60s"),
                             f"fence only when the gateway {heuristics.gateway} answers"))
    for dev in devices:
        params = list(dev.params)
        if dev.delay_base:
            params.append(("pcmk_delay_base", dev.delay_base))
        steps.append(CibStep(_pcs(cib, "stonith", "create", dev.resource_id, dev.agent,
                                  *_kv(params), "op", "monitor", "interval=60s"),
                             f"fencing device for {dev.target_node}"))
        if dev.password:
            steps.append(CibStep(("cibadmin", "--modify", "--scope", "resources",
                                  "--xml-pipe"),
                                 f"password of {dev.resource_id} (stdin)",
                                 input=dev.password_xml(), cib_file_env=True))
        steps.append(CibStep(_pcs(cib, "constraint", "location", dev.resource_id, "avoids",
                                  dev.target_node), "a node never fences itself"))
        if heuristics:
            # --force: the offline CIB has no node entries yet (nor the future secondary).
            steps.append(CibStep(_pcs(cib, "stonith", "level", "add", "1", dev.target_node,
                                      heuristics.resource_id, dev.resource_id, "--force"),
                                 f"{dev.target_node} is fenced only after the gateway check"))
    return steps


def build_steps(answers: Answers, cib: str, opts: CibOptions | None = None) -> list[CibStep]:
    """Every command that turns an empty CIB into the eXpand cluster; pure."""
    opts = opts or CibOptions()
    if opts.no_fencing:
        devices: Sequence[StonithDevice] = ()
    elif opts.devices is not None:
        devices = opts.devices
    else:
        devices = devices_from_answers(answers)
    return (property_steps(cib, opts)
            + fencing_steps(cib, devices, heuristics_from_answers(answers))
            + storage_steps(cib, answers, opts) + service_steps(cib, answers, opts))


def new_cib_file(runner: Runner, sink: FileSink, path: str) -> None:
    """An empty CIB to build on offline (0600: it will hold fencing passwords)."""
    empty = runner.run(["cibadmin", "--empty"]).stdout
    sink.write(path, empty, mode=0o600)


def apply_steps(runner: Runner, steps: Sequence[CibStep], cib_host_path: str) -> None:
    for step in steps:
        env = {**os.environ, "CIB_file": cib_host_path} if step.cib_file_env else None
        runner.run(step.argv, input=step.input, env=env)


def push_cib(runner: Runner, cib_host_path: str) -> None:
    """Replace the live CIB with the offline one, in one transaction."""
    runner.run(["cibadmin", "--replace", "--xml-file", cib_host_path])


def update_live_cib(runner: Runner, sink: FileSink, work_file: str,
                    steps: Sequence[CibStep]) -> None:
    """Copy the live CIB to ``work_file`` (0600 while it exists: it may hold fencing
    passwords), run ``steps`` on the copy and push it in one transaction; the copy is
    removed even when a step fails. ``steps`` name ``work_file`` as ``runner`` sees it."""
    sink.write(work_file, runner.run(["cibadmin", "--query"]).stdout, mode=0o600)
    try:
        apply_steps(runner, steps, str(sink.target(work_file)))
        push_cib(runner, work_file)
    finally:
        sink.remove(work_file)


def enable_fencing_steps(cib: str, devices: Sequence[StonithDevice],
                         heuristics: GatewayHeuristics) -> list[CibStep]:
    """Fencing added to a running cluster that had none (devices, levels, then on)."""
    return [*fencing_steps(cib, devices, heuristics),
            CibStep(_pcs(cib, "property", "set", "stonith-enabled=true"), "fencing on")]
