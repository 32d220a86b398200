"""What the answers change in a running cluster: the ``pcs -f`` steps read as data, compared
with the live CIB (``ha.cib_merge`` carries the changed parts from a freshly built CIB into a
copy of the live one).

Pure: no command runs here (``ha.cib_sync`` runs pcs, cibadmin and crm_diff around it).

What is compared, and why not the whole XML: the primitives we create (agent, the
parameters we set, the monitor intervals and the timeouts we set, the meta attributes we set
such as the service's migration-threshold and failure-timeout), the cluster properties and
resource defaults we set, our constraints by meaning (which resources, which score), and
the fencing levels.
Not compared: ids, the start/stop operations pcs adds from an agent's metadata (a systemd
unit pcs could not ask at first boot gets none; asked later it would get some, and a
spurious difference would restart the service), meta attributes an operator set
(``target-role``), ``cli-`` constraints of a move, nodes and status.

What changes: only the parts that differ. A primitive whose parameters changed gets its
``instance_attributes`` replaced (pacemaker restarts that resource only, on its node, or
re-registers a stonith device without fencing anyone); a changed agent replaces the
primitive. Stonith devices the answers no longer name (a renamed secondary) are removed
with the constraints and levels that reference them. When the answers choose no fencing
(``fencing.mode = none``) the fencing a running cluster has is left alone: it was put
there on purpose (``ha add-secondary --answers``, or the lab's power switch), and turning
fencing off on a running two-node cluster is never a side effect of a rerun.

Secrets: a password is compared, and its change is said ("password changed"), never shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

from appliance.errors import ExpandError
from ha.cib import CibStep

SECRET_PARAMS = frozenset({"password", "passwd"})
FENCING_PROPERTIES = frozenset({"stonith-enabled"})
Constraint = tuple[str, ...]  # ("colocation", rsc, with-rsc, score), ("location", rsc, node,
#                               score), ("order", first, then, symmetrical "true"/"false")
Level = tuple[str, str, str]  # (target, index, devices)


@dataclass(frozen=True)
class Primitive:
    id: str
    agent: str  # "ocf:heartbeat:IPaddr2", "systemd:asterisk", "stonith:fence_ipmilan"
    params: tuple[tuple[str, str], ...] = field(repr=False)
    monitors: frozenset[tuple[str, str]] = frozenset()  # (interval, role)
    # Compared only as far as the steps set them: (interval, timeout) of a monitor, and
    # meta attributes (migration-threshold ...); an operator's target-role is not ours.
    timeouts: frozenset[tuple[str, str]] = frozenset()
    meta: tuple[tuple[str, str], ...] = ()

    @property
    def stonith(self) -> bool:
        return self.agent.startswith("stonith:")

    @property
    def param_map(self) -> dict[str, str]:
        return dict(self.params)


@dataclass(frozen=True)
class CibModel:
    """The parts of a CIB we own, as data (from steps or from a CIB's XML)."""

    primitives: dict[str, Primitive]
    properties: dict[str, str]
    rsc_defaults: dict[str, str]
    constraints: frozenset[Constraint]
    levels: frozenset[Level]


@dataclass(frozen=True)
class CibChange:
    kind: str  # "params" | "agent" | "monitors" | "meta" | "add" | "remove" | "property" |
    #            "default" | "constraint-add" | "constraint-remove" | "levels"
    target: str  # a resource id, property name or constraint text
    text: str  # one line for the plan and the log; never a secret value


@dataclass(frozen=True)
class CibDiff:
    changes: tuple[CibChange, ...]
    notes: tuple[str, ...] = ()  # what is left alone on purpose (fencing not managed)

    @property
    def empty(self) -> bool:
        return not self.changes

    def lines(self) -> list[str]:
        return [c.text for c in self.changes]


# --- the steps as data ------------------------------------------------------------------

def _kv(args: Iterable[str]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for arg in args:
        key, sep, value = arg.partition("=")
        if sep:
            pairs.append((key, value))
    return tuple(pairs)


Split = tuple[list[str], frozenset[tuple[str, str]], frozenset[tuple[str, str]], list[str]]


def _split_create(args: Sequence[str]) -> Split:
    """``k=v ... op monitor interval=5s [role=R] [timeout=T] ... [meta k=v ...]
    [promotable ...] [--force]``: params, monitors, monitor timeouts, meta."""
    params: list[str] = []
    monitors = set()
    timeouts = set()
    meta: list[str] = []
    index = 0
    while index < len(args) and args[index] not in ("op", "promotable", "meta", "clone"):
        if not args[index].startswith("--"):
            params.append(args[index])
        index += 1
    while index < len(args) and args[index] == "op":
        name, index = args[index + 1], index + 2
        op = {}
        while index < len(args) and "=" in args[index]:
            key, _, value = args[index].partition("=")
            op[key] = value
            index += 1
        if name == "monitor":
            monitors.add((op.get("interval", ""), op.get("role", "")))
            if "timeout" in op:
                timeouts.add((op.get("interval", ""), op["timeout"]))
    if index < len(args) and args[index] == "meta":
        index += 1
        while index < len(args) and "=" in args[index]:
            meta.append(args[index])
            index += 1
    return params, frozenset(monitors), frozenset(timeouts), meta


def model_from_steps(steps: Sequence[CibStep]) -> CibModel:
    """What the steps create, without running them."""
    prims: dict[str, Primitive] = {}
    props: dict[str, str] = {}
    defaults: dict[str, str] = {}
    constraints: set[Constraint] = set()
    levels: set[Level] = set()
    for step in steps:
        argv = step.argv
        if argv[:1] == ("cibadmin",) and step.input:
            _merge_password(prims, step.input)
            continue
        if argv[:2] != ("pcs", "-f"):
            continue
        words = argv[3:]
        if words[:2] in (("resource", "create"), ("stonith", "create")):
            rid, agent = words[2], words[3]
            if words[0] == "stonith":
                agent = f"stonith:{agent}"
            params, monitors, timeouts, meta = _split_create(words[4:])
            prims[rid] = Primitive(rid, agent, _kv(params), monitors, timeouts, _kv(meta))
        elif words[:2] == ("property", "set"):
            props.update(_kv(words[2:]))
        elif words[:3] == ("resource", "defaults", "update"):
            defaults.update(_kv(words[3:]))
        elif words[:2] == ("constraint", "location"):
            constraints.add(("location", words[2], words[4], "-INFINITY"))
        elif words[:3] == ("constraint", "colocation", "add"):
            rest = [w for w in words[3:] if w not in ("with", "Promoted")]
            constraints.add(("colocation", rest[0], rest[1], rest[2]))
        elif words[:2] == ("constraint", "order"):
            rest = [w for w in words[2:] if w not in ("then", "start", "promote")
                    and "=" not in w]
            options = dict(_kv(words[2:]))
            constraints.add(("order", rest[0], rest[1], options.get("symmetrical", "true")))
        elif words[:3] == ("stonith", "level", "add"):
            devices = [w for w in words[5:] if not w.startswith("--")]
            levels.add((words[4], words[3], ",".join(devices)))
    return CibModel(prims, props, defaults, frozenset(constraints), frozenset(levels))


def _merge_password(prims: dict[str, Primitive], fragment: str) -> None:
    node = ET.fromstring(fragment)
    rid = node.get("id", "")
    if rid not in prims:
        return
    found = {nv.get("name", ""): nv.get("value", "") for nv in node.iter("nvpair")}
    old = prims[rid]
    params = tuple((k, v) for k, v in old.params if k not in found) + tuple(found.items())
    prims[rid] = Primitive(rid, old.agent, params, old.monitors, old.timeouts, old.meta)


# --- a CIB's XML as data ----------------------------------------------------------------

def parse_cib(text: str) -> ET.Element:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ExpandError(f"the cluster configuration (CIB) is not XML: {exc}") from exc
    if root.tag != "cib" or root.find("configuration") is None:
        raise ExpandError("the cluster configuration (CIB) has no <configuration>")
    return root


def _agent(prim: ET.Element) -> str:
    parts = [prim.get("class", ""), prim.get("provider", ""), prim.get("type", "")]
    return ":".join(p for p in parts if p)


def _nvpairs(parent: ET.Element | None) -> dict[str, str]:
    if parent is None:
        return {}
    return {nv.get("name", ""): nv.get("value", "") for nv in parent.iter("nvpair")}


def model_from_cib(root: ET.Element) -> CibModel:
    conf = root.find("configuration")
    assert conf is not None  # parse_cib checked
    prims = {}
    for prim in conf.iter("primitive"):
        rid = prim.get("id", "")
        params = _nvpairs(prim.find("instance_attributes"))
        ops = [op for op in prim.iter("op") if op.get("name") == "monitor"]
        monitors = frozenset((op.get("interval", ""), op.get("role", "")) for op in ops)
        timeouts = frozenset((op.get("interval", ""), op.get("timeout", "")) for op in ops
                             if op.get("timeout"))
        meta = _nvpairs(prim.find("meta_attributes"))
        prims[rid] = Primitive(rid, _agent(prim), tuple(sorted(params.items())), monitors,
                               timeouts, tuple(sorted(meta.items())))
    props = _nvpairs(conf.find("crm_config"))
    defaults = _nvpairs(conf.find("rsc_defaults"))
    constraints: set[Constraint] = set()
    for con in conf.iter("rsc_location"):
        constraints.add(("location", con.get("rsc", ""), con.get("node", ""),
                         con.get("score", "")))
    for con in conf.iter("rsc_colocation"):
        constraints.add(("colocation", con.get("rsc", ""), con.get("with-rsc", ""),
                         con.get("score", "")))
    for con in conf.iter("rsc_order"):
        constraints.add(("order", con.get("first", ""), con.get("then", ""),
                         con.get("symmetrical", "true")))
    levels = frozenset((lv.get("target", ""), lv.get("index", ""), lv.get("devices", ""))
                       for lv in conf.iter("fencing-level"))
    return CibModel(prims, props, defaults, frozenset(constraints), levels)


# --- the difference ---------------------------------------------------------------------

def _show(name: str, value: str | None) -> str:
    if value is None:
        return "(unset)"
    return "(secret)" if name in SECRET_PARAMS else value


def _param_text(rid: str, old: dict[str, str], new: dict[str, str]) -> str:
    parts = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        if name in SECRET_PARAMS:
            parts.append(f"{name} changed" if before is not None and after is not None
                         else f"{name} {'set' if after is not None else 'removed'}")
        else:
            parts.append(f"{name} {_show(name, before)} → {_show(name, after)}")
    return f"{rid}: {', '.join(parts)}"


def _constraint_text(con: Constraint) -> str:
    if con[0] == "location":
        return f"{con[1]} never on {con[2]}"
    if con[0] == "colocation":
        return f"{con[1]} with {con[2]} ({con[3]})"
    return f"{con[1]} before {con[2]}" + (" (stop order not reversed)" if con[3] == "false"
                                          else "")


def mentions(con: Constraint, ids: set[str]) -> bool:
    return bool(set(con[1:3]) & ids)


def diff_models(live: CibModel, wanted: CibModel, *, manage_fencing: bool) -> CibDiff:
    changes: list[CibChange] = []
    notes: list[str] = []
    live_stonith = {rid for rid, p in live.primitives.items() if p.stonith}
    if not manage_fencing and live_stonith:
        kept = ", ".join(sorted(live_stonith))
        notes.append(f"fencing.mode is none: the cluster's fencing ({kept}) is left as it is")
    for rid, want in wanted.primitives.items():
        if want.stonith and not manage_fencing:
            continue
        have = live.primitives.get(rid)
        if have is None:
            changes.append(CibChange("add", rid, f"{rid}: new {want.agent} resource"))
        elif have.agent != want.agent:
            changes.append(CibChange("agent", rid, f"{rid}: agent {have.agent} → {want.agent} "
                                     "(recreated)"))
        else:
            wanted_params = want.param_map
            unsaid = sorted(SECRET_PARAMS & (set(have.param_map) - set(wanted_params)))
            if want.stonith and unsaid:
                # Answers without the password (saved answers never hold it): keep the
                # device's, do not remove it.
                wanted_params |= {name: have.param_map[name] for name in unsaid}
                notes.append(f"{rid}: no fencing password in the answers: the device keeps "
                             "its own")
            if have.param_map != wanted_params:
                changes.append(CibChange("params", rid,
                                         _param_text(rid, have.param_map, wanted_params)))
            if have.monitors != want.monitors or not want.timeouts <= have.timeouts:
                changes.append(CibChange("monitors", rid, f"{rid}: monitor operations "
                                         "changed"))
            have_meta = dict(have.meta)
            moved = {k: v for k, v in want.meta if have_meta.get(k) != v}
            if moved:
                changes.append(CibChange("meta", rid, f"{rid}: " + ", ".join(
                    f"{k} {have_meta.get(k, '(unset)')} → {v}" for k, v in sorted(moved.items()))))
    removed: set[str] = set()
    if manage_fencing:
        removed = {rid for rid in live_stonith if rid not in wanted.primitives}
        changes += [CibChange("remove", rid, f"{rid}: removed (the answers no longer name "
                              "it)") for rid in sorted(removed)]
    for name, value in sorted(wanted.properties.items()):
        if name in FENCING_PROPERTIES and not manage_fencing and live_stonith:
            continue
        if live.properties.get(name) != value:
            changes.append(CibChange("property", name, f"cluster property {name}: "
                                     f"{_show(name, live.properties.get(name))} → {value}"))
    for name, value in sorted(wanted.rsc_defaults.items()):
        if live.rsc_defaults.get(name) != value:
            changes.append(CibChange("default", name, f"resource default {name}: "
                                     f"{_show(name, live.rsc_defaults.get(name))} → {value}"))
    unmanaged = set() if manage_fencing else {
        rid for rid, p in wanted.primitives.items() if p.stonith} | live_stonith
    for con in sorted(wanted.constraints - live.constraints):
        if not mentions(con, unmanaged):
            changes.append(CibChange("constraint-add", " ".join(con),
                                     f"constraint added: {_constraint_text(con)}"))
    owned = set(wanted.primitives) | {
        rid for con in wanted.constraints if con[0] != "location" for rid in con[1:3]}
    stonith_ids = live_stonith | {r for r, p in wanted.primitives.items() if p.stonith}

    def stale(con: Constraint) -> bool:
        """Ours (pcs made it between our resources; a move's cli- location is not) and no
        longer wanted."""
        if con in wanted.constraints or mentions(con, unmanaged):
            return False
        if con[0] == "location":
            return con[1] in stonith_ids
        return con[1] in owned and con[2] in owned

    for con in sorted(live.constraints):
        if mentions(con, removed) or stale(con):
            changes.append(CibChange("constraint-remove", " ".join(con),
                                     f"constraint removed: {_constraint_text(con)}"))
    if manage_fencing and live.levels != wanted.levels:
        shown = "; ".join(f"{t}: {d}" for t, _i, d in sorted(wanted.levels)) or "none"
        changes.append(CibChange("levels", "fencing-topology", f"fencing levels → {shown}"))
    return CibDiff(tuple(changes), tuple(notes))


def diff_cib(live_text: str, steps: Sequence[CibStep], *, manage_fencing: bool) -> CibDiff:
    return diff_models(model_from_cib(parse_cib(live_text)), model_from_steps(steps),
                       manage_fencing=manage_fencing)
