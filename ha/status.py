"""Cluster state at a glance, read from ``crm_mon --output-as=xml`` (parsing is pure)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from typing import Any

from appliance.errors import ExpandError
from appliance.runner import Runner
from appliance.wait import poll
from ha.cib import DRBD_CLONE_ID, FS_ID, VIP_ID

CRM_MON = ("crm_mon", "--one-shot", "--output-as=xml", "--inactive", "--fence-history=1")
CRM_NODE_NAME = ("crm_node", "-n")

# Exit codes of the ``ha`` commands when the cluster cannot be asked at all (1 is any
# other error, 2 a usage error): documented in each command's --help.
EXIT_NO_PACEMAKER = 3
EXIT_NOT_MEMBER = 4
START_HINT = ("start it with 'systemctl start pacemaker' or check 'expandctl firstboot "
              "status'")


class ClusterUnavailable(ExpandError):
    """This node cannot answer for the cluster; ``exit_code`` tells the two cases apart."""

    exit_code = EXIT_NO_PACEMAKER


class NotAMember(ClusterUnavailable):
    exit_code = EXIT_NOT_MEMBER


@dataclass(frozen=True)
class NodeState:
    name: str
    state: str  # online | standby | offline | unclean | pending
    is_dc: bool


@dataclass(frozen=True)
class ResourceState:
    id: str
    agent: str
    role: str
    nodes: tuple[str, ...]
    failed: bool


@dataclass(frozen=True)
class ClusterStatus:
    nodes: tuple[NodeState, ...]
    resources: tuple[ResourceState, ...]
    quorate: bool
    dc: str | None
    stonith_enabled: bool
    last_fence: dict[str, str] | None = None
    warnings: tuple[str, ...] = field(default=())

    def resource(self, rid: str) -> ResourceState | None:
        return next((r for r in self.resources if r.id == rid), None)

    @property
    def vip_holder(self) -> str | None:
        vip = self.resource(VIP_ID)
        return vip.nodes[0] if vip and vip.nodes and vip.role == "Started" else None

    def online(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.nodes if n.state == "online")

    def storage(self) -> str:
        drbd = [r for r in self.resources if r.id.startswith(DRBD_CLONE_ID.rsplit("-", 1)[0])]
        if drbd:
            return ", ".join(f"{r.role} on {','.join(r.nodes) or '-'}" for r in drbd)
        fs = self.resource(FS_ID)
        if fs:
            return f"data filesystem {fs.role} on {','.join(fs.nodes) or '-'}"
        return "none (no shared data configured)"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(active_node=self.vip_holder, vip_holder=self.vip_holder,
                    storage=self.storage(), fencing="on" if self.stonith_enabled else "off")
        return data


def _bool(value: str | None) -> bool:
    return value == "true"


def _node_state(el: ET.Element) -> str:
    if not _bool(el.get("online")):
        return "unclean" if _bool(el.get("unclean")) else "offline"
    if _bool(el.get("standby")) or _bool(el.get("standby_onfail")):
        return "standby"
    return "pending" if _bool(el.get("pending")) else "online"


def _resources(parent: ET.Element) -> list[ResourceState]:
    found = []
    for el in parent.iter("resource"):
        nodes = tuple(n.get("name", "") for n in el.findall("node"))
        found.append(ResourceState(el.get("id", ""), el.get("resource_agent", ""),
                                   el.get("role", ""), nodes, _bool(el.get("failed"))))
    return found


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def not_running(detail: str) -> ClusterUnavailable:
    return ClusterUnavailable(f"pacemaker is not running on this node (crm_mon: "
                              f"{_one_line(detail) or 'no output'}); {START_HINT}")


def _refusal(root: ET.Element) -> str | None:
    """crm_mon's own answer when it could not reach the cluster: ``<status code≠0>``
    (102 "Not connected" when pacemaker is down), with its error lines."""
    status = root.find("status")
    if status is None or status.get("code", "0") == "0":
        return None
    errors = [e.text or "" for e in status.iter("error")]
    # The last line is crm_mon's own summary ("crm_mon: Connection to cluster failed: ...").
    return f"{status.get('message', 'error ' + status.get('code', '?'))}" + (
        f": {errors[-1].removeprefix('crm_mon: ')}" if errors else "")


def parse_crm_mon(xml_text: str) -> ClusterStatus:
    """Raises ClusterUnavailable when crm_mon says it reached no cluster (pacemaker down):
    its XML then has no nodes, which must not read as "an empty cluster, fencing off"."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise not_running(xml_text or str(exc)) from exc
    refusal = _refusal(root)
    if refusal is not None:
        raise not_running(refusal)
    summary = root.find("summary")
    dc_el = summary.find("current_dc") if summary is not None else None
    options = summary.find("cluster_options") if summary is not None else None
    nodes_el = root.find("nodes")
    nodes = tuple(NodeState(n.get("name", ""), _node_state(n), _bool(n.get("is_dc")))
                  for n in (nodes_el if nodes_el is not None else []))
    res_el = root.find("resources")
    resources = tuple(_resources(res_el)) if res_el is not None else ()
    fences = root.findall("fence_history/fence_event")
    last_fence = None
    if fences:
        ev = max(fences, key=lambda e: e.get("completed", ""))
        last_fence = {k: ev.get(k, "") for k in ("target", "action", "delegate", "status",
                                                  "completed")}
    stonith = _bool(options.get("stonith-enabled")) if options is not None else False
    dc = dc_el.get("name") if dc_el is not None and _bool(dc_el.get("present")) else None
    quorate = dc_el is not None and _bool(dc_el.get("with_quorum"))
    warnings = []
    if not stonith:
        warnings.append("fencing is DISABLED (stonith-enabled=false): a split can leave the "
                        "VIP on both nodes; configure fencing (ipmi, vmware or sbd)")
    if dc is None:
        warnings.append("no designated controller: the cluster has not formed")
    warnings += [f"resource {r.id} failed on {','.join(r.nodes) or '?'}"
                 for r in resources if r.failed]
    return ClusterStatus(nodes, resources, quorate, dc, stonith, last_fence, tuple(warnings))


def check_member(status: ClusterStatus, local: str) -> None:
    """Raises NotAMember unless ``local`` is an online (or standby) member: a node whose
    pacemaker runs but has not joined, or that the cluster does not list, cannot speak for
    the cluster (its view has no peers, no DC, no resources)."""
    names = [n.name for n in status.nodes]
    state = next((n.state for n in status.nodes if n.name == local), None)
    if status.dc is None and state != "online":
        # Right after pacemaker starts, before the first election: the CIB lists nobody.
        raise NotAMember(f"this node ({local}) is not a member of the cluster yet: no "
                         "designated controller, the cluster is still forming; wait a few "
                         "seconds or check 'corosync-cfgtool -s'")
    if local not in names:
        raise NotAMember(f"this node ({local}) is not a member of the cluster (its nodes: "
                         f"{', '.join(names) or 'none'}); check corosync.conf and "
                         "'expandctl firstboot status'")
    if state not in ("online", "standby"):
        raise NotAMember(f"this node ({local}) is not a member of the cluster yet (state "
                         f"{state}); wait for it to join or check 'corosync-cfgtool -s'")


def local_node(runner: Runner) -> str:
    """The name the cluster uses for this node (``crm_node -n``; the host name else)."""
    named = runner.run(list(CRM_NODE_NAME), check=False, timeout=30)
    if named.returncode == 0 and named.stdout.strip():
        return named.stdout.strip()
    return runner.run(["uname", "-n"], timeout=30).stdout.strip()


def _read_once(runner: Runner) -> ClusterStatus:
    result = runner.run(list(CRM_MON), check=False, timeout=30)
    if not result.stdout.strip().startswith("<"):
        raise not_running(result.stderr or result.stdout)
    return parse_crm_mon(result.stdout)


def read_status(runner: Runner, *, member: bool = True, settle: float = 0.0) -> ClusterStatus:
    """The cluster as this node sees it. Raises ClusterUnavailable when pacemaker does not
    answer here and (``member``) NotAMember when this node is no online member, after up
    to ``settle`` seconds for a node that has just started to join (pacemaker down is said
    at once)."""
    if not member:
        return _read_once(runner)
    local = local_node(runner)

    def probe() -> ClusterStatus | NotAMember:
        status = _read_once(runner)
        try:
            check_member(status, local)
        except NotAMember as exc:
            return exc
        return status

    _, answer = poll(probe, lambda a: not isinstance(a, NotAMember), timeout=settle,
                     interval=0.5)
    if isinstance(answer, NotAMember):
        raise answer
    return answer
