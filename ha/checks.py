"""``ha check``: is this node's cluster configured and running the way eXpand needs it?

Each check reads one real source (corosync-cfgtool, corosync-quorumtool, the CIB); the
parsers are pure so they are tested on saved outputs too.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from typing import Any

from appliance.errors import ExpandError
from appliance.runner import Runner
from ha import corosync
from ha.cib import DRBD_RESOURCE
from ha.fencing import HEURISTICS_AGENT
from ha.status import read_status


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_links(cfgtool_out: str) -> dict[int, dict[str, str]]:
    """``corosync-cfgtool -s`` → {link id: {nodeid: state}} (the local node is left out)."""
    links: dict[int, dict[str, str]] = {}
    current: int | None = None
    for line in cfgtool_out.splitlines():
        head = re.match(r"\s*LINK ID (\d+)", line)
        if head:
            current = int(head.group(1))
            links[current] = {}
            continue
        node = re.match(r"\s*nodeid:\s*(\d+):\s*(.+)$", line)
        if node and current is not None and node.group(2).strip() != "localhost":
            links[current][node.group(1)] = node.group(2).strip()
    return links


def check_links(cfgtool_out: str) -> list[Check]:
    links = parse_links(cfgtool_out)
    checks = []
    for number, label in ((0, "interconnect"), (1, "LAN")):
        peers = links.get(number)
        if peers is None:
            checks.append(Check(f"link {number} ({label})", False, "not configured"))
        elif not peers:
            checks.append(Check(f"link {number} ({label})", True, "no peer configured yet"))
        else:
            down = {n: s for n, s in peers.items() if not s.startswith("connected")}
            checks.append(Check(f"link {number} ({label})", not down,
                                "connected" if not down else
                                ", ".join(f"node {n}: {s}" for n, s in down.items())))
    return checks


def members(quorumtool_out: str) -> tuple[str, ...]:
    """The corosync members listed by ``corosync-quorumtool -s`` (names, "(local)" cut)."""
    block = quorumtool_out.partition("Membership information")[2]
    return tuple(m.group(1) for m in re.finditer(r"^\s*\d+\s+\d+\s+(\S+)", block, re.M))


def check_quorum(quorumtool_out: str, conf_text: str = "") -> list[Check]:
    """``conf_text``: this node's corosync.conf; corosync reads wait_for_all only when it
    starts, so a grown primary's running flag can differ from its file (ha/grow.py)."""
    quorate = re.search(r"^Quorate:\s*(\w+)", quorumtool_out, re.M)
    flags = re.search(r"^Flags:\s*(.*)$", quorumtool_out, re.M)
    flag_set = set(flags.group(1).split()) if flags else set()
    shown = f"flags: {' '.join(sorted(flag_set)) or 'none'}"
    two_node = Check("two_node", "2Node" in flag_set and "WaitForAll" in flag_set, shown)
    alone = len(members(quorumtool_out)) < 2
    if "2Node" in flag_set and corosync.is_unsealed(conf_text):
        # A grown primary before the secondary's first join: right while alone.
        two_node = Check("two_node", alone, shown + (
            "; wait_for_all off until the secondary joins once" if alone else
            "; both nodes joined but wait_for_all is still off: run 'expandctl ha seal'"))
    elif "2Node" in flag_set and "WaitForAll" not in flag_set and "two_node: 1" in conf_text:
        two_node = Check("two_node", True, shown + "; corosync.conf has wait_for_all: "
                                                   "from corosync's next start")
    return [
        Check("quorum", bool(quorate and quorate.group(1) == "Yes"),
              f"quorate: {quorate.group(1) if quorate else 'unknown'}"),
        two_node,
    ]


def _nvpairs(el: ET.Element | None) -> dict[str, str]:
    if el is None:
        return {}
    return {nv.get("name", ""): nv.get("value", "") for nv in el.iter("nvpair")}


def _fencing(root: ET.Element) -> tuple[bool, list[str]]:
    """(stonith-enabled, as pacemaker reads its booleans; default on), the device ids."""
    value = _nvpairs(root.find("configuration/crm_config")).get("stonith-enabled", "true")
    devices = [p.get("id", "") for p in root.iter("primitive") if p.get("class") == "stonith"]
    return value.lower() in ("true", "yes", "y", "on", "1"), devices


def fencing_configured(cib_xml: str) -> bool:
    """Fencing is on and at least one fencing device exists."""
    try:
        root = ET.fromstring(cib_xml)
    except ET.ParseError as exc:
        raise ExpandError("cannot read the cluster configuration (cibadmin --query): "
                          "is pacemaker running on this node?") from exc
    fencing_on, devices = _fencing(root)
    return fencing_on and bool(devices)


def check_cib(cib_xml: str) -> list[Check]:
    root = ET.fromstring(cib_xml)
    props = _nvpairs(root.find("configuration/crm_config"))
    defaults = _nvpairs(root.find("configuration/rsc_defaults"))
    fencing_on, stonith = _fencing(root)
    sticky = defaults.get("resource-stickiness", "0")
    return [
        Check("fencing", fencing_on and bool(stonith),
              f"stonith-enabled={props.get('stonith-enabled', 'true (default)')}, "
              f"devices: {', '.join(stonith) or 'none'}"),
        Check("no-quorum-policy", props.get("no-quorum-policy", "stop") != "ignore",
              f"no-quorum-policy={props.get('no-quorum-policy', 'stop (default)')}"),
        Check("stickiness", (sticky.lstrip("+").isdigit() and int(sticky.lstrip("+")) > 0)
              or sticky.upper() == "INFINITY", f"resource-stickiness={sticky}"),
    ]


def gateway_check_targets(cib_xml: str) -> list[str]:
    """The addresses the fencing gateway check pings (fence_heuristics_ping devices)."""
    targets: list[str] = []
    for prim in ET.fromstring(cib_xml).iter("primitive"):
        if prim.get("class") == "stonith" and prim.get("type") == HEURISTICS_AGENT:
            targets += _nvpairs(prim).get("ping_targets", "").split(",")
    return [t for t in targets if t]


def check_gateway(runner: Runner, target: str) -> Check:
    # The same probe the heuristics device sends: a node that fails it may not fence.
    answered = runner.run(["ping", "-c", "1", "-W", "1", "-n", target],
                          check=False).returncode == 0
    return Check(f"fencing gateway {target}", answered,
                 "answers ping: this node may fence its peer" if answered else
                 "no answer: this node will not fence its peer (it looks cut off)")


def check_drbd(status_out: str) -> list[Check]:
    """``drbdadm status`` (DRBD 9 format) or /proc/drbd (8.4): both disks UpToDate, peer
    connected."""
    disks = re.findall(r"(?:^|\s)disk:(\w+)", status_out)
    peers = re.findall(r"peer-disk:(\w+)", status_out)
    legacy = re.search(r"cs:(\w+) .*ds:(\w+)/(\w+)", status_out)
    if legacy:
        conn, disks, peers = legacy.group(1), [legacy.group(2)], [legacy.group(3)]
    else:
        conn = "Connected" if peers else "not connected"
    ok = disks == ["UpToDate"] and peers == ["UpToDate"] and conn == "Connected"
    return [Check("drbd", ok, f"local disk {','.join(disks) or '?'}, peer disk "
                              f"{','.join(peers) or '?'}, {conn}")]


def run_checks(runner: Runner) -> list[Check]:
    """Raises ClusterUnavailable (one clear line) when pacemaker does not answer here or
    this node is no member: a list of failed checks would hide the one cause."""
    read_status(runner)
    checks: list[Check] = []
    links = runner.run(["corosync-cfgtool", "-s"], check=False)
    checks += (check_links(links.stdout) if links.returncode == 0
               else [Check("links", False, "corosync is not running on this node")])
    quorum = runner.run(["corosync-quorumtool", "-s"], check=False)
    conf = runner.run(["cat", corosync.CONF_PATH], check=False).stdout
    checks += (check_quorum(quorum.stdout, conf) if quorum.stdout.strip()
               else [Check("quorum", False, "corosync-quorumtool gave no answer")])
    cib = runner.run(["cibadmin", "--query"], check=False)
    checks += (check_cib(cib.stdout) if cib.returncode == 0
               else [Check("cib", False, "cannot read the CIB: is pacemaker running?")])
    if cib.returncode == 0:
        checks += [check_gateway(runner, t) for t in gateway_check_targets(cib.stdout)]
    if cib.returncode == 0 and 'provider="linbit"' in cib.stdout:
        drbd = runner.run(["drbdadm", "status", DRBD_RESOURCE], check=False)
        if drbd.returncode != 0:
            drbd = runner.run(["cat", "/proc/drbd"], check=False)
        checks += check_drbd(drbd.stdout)
    return checks
