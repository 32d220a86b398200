"""Carrying what ``ha.cib_diff`` found changed from a freshly built CIB into a copy of the
live one: only the differing parts move (see ha/cib_diff.py for what is compared and why).

Pure: no command runs here (``ha.cib_sync`` runs pcs, cibadmin and crm_diff around it).
"""

from __future__ import annotations

import copy
from xml.etree import ElementTree as ET

from ha.cib_diff import SECRET_PARAMS, CibDiff, Constraint, mentions, parse_cib


def _by_id(conf: ET.Element, tag: str, rid: str) -> ET.Element | None:
    for node in conf.iter(tag):
        if node.get("id") == rid:
            return node
    return None


def _section(conf: ET.Element, tag: str) -> ET.Element:
    found = conf.find(tag)
    if found is None:
        found = ET.SubElement(conf, tag)
    return found


def _top_level(resources: ET.Element, rid: str) -> ET.Element | None:
    """The direct child of <resources> holding primitive ``rid`` (itself, or its clone)."""
    for child in resources:
        if child.get("id") == rid or any(p.get("id") == rid for p in child.iter("primitive")):
            return child
    return None


def _constraint_key(node: ET.Element) -> Constraint | None:
    if node.tag == "rsc_location":
        return ("location", node.get("rsc", ""), node.get("node", ""), node.get("score", ""))
    if node.tag == "rsc_colocation":
        return ("colocation", node.get("rsc", ""), node.get("with-rsc", ""),
                node.get("score", ""))
    if node.tag == "rsc_order":
        return ("order", node.get("first", ""), node.get("then", ""),
                node.get("symmetrical", "true"))
    return None


def _set_nvpairs(section: ET.Element, built_section: ET.Element | None, set_tag: str,
                 names: set[str]) -> None:
    """Copy nvpairs ``names`` from the built section into the live one (same set ids)."""
    if built_section is None:
        return
    for built_set in built_section.findall(set_tag):
        live_set = next((s for s in section.findall(set_tag)
                         if s.get("id") == built_set.get("id")), None)
        if live_set is None:
            live_set = section.find(set_tag)
        if live_set is None:
            live_set = ET.SubElement(section, set_tag, dict(built_set.attrib))
        for nv in built_set.findall("nvpair"):
            if nv.get("name") not in names:
                continue
            for old in [o for o in live_set.findall("nvpair") if o.get("name") == nv.get("name")]:
                live_set.remove(old)
            live_set.append(copy.deepcopy(nv))


def _keep_secrets(prim: ET.Element, secrets: list[ET.Element]) -> None:
    """The live password stays when the built device has none (see diff_models)."""
    attrs = prim.find("instance_attributes")
    if attrs is None:
        return
    have = {nv.get("name") for nv in attrs.iter("nvpair")}
    attrs.extend(copy.deepcopy(nv) for nv in secrets if nv.get("name") not in have)


def merge(live_text: str, built_text: str, diff: CibDiff) -> str:
    """A copy of the live CIB with ``diff`` carried over from the built one; the version is
    the live one with ``epoch`` + 1, so a patch made from the two applies only to the CIB
    that was read (a concurrent change makes it fail instead of being overwritten)."""
    live, built = parse_cib(live_text), parse_cib(built_text)
    conf, new = live.find("configuration"), built.find("configuration")
    assert conf is not None and new is not None
    resources, constraints = _section(conf, "resources"), _section(conf, "constraints")
    new_resources = _section(new, "resources")
    removed = {c.target for c in diff.changes if c.kind == "remove"}
    props: set[str] = set()
    defaults: set[str] = set()
    for change in diff.changes:
        if change.kind == "params":
            prim = _by_id(conf, "primitive", change.target)
            want = _by_id(new, "primitive", change.target)
            assert prim is not None and want is not None
            secrets = [nv for nv in prim.iter("nvpair") if nv.get("name") in SECRET_PARAMS]
            for old in prim.findall("instance_attributes"):
                prim.remove(old)
            for index, attrs in enumerate(want.findall("instance_attributes")):
                prim.insert(index, copy.deepcopy(attrs))
            _keep_secrets(prim, secrets)
        elif change.kind == "monitors":
            prim = _by_id(conf, "primitive", change.target)
            want = _by_id(new, "primitive", change.target)
            assert prim is not None and want is not None
            for old in prim.findall("operations"):
                prim.remove(old)
            prim.extend(copy.deepcopy(ops) for ops in want.findall("operations"))
        elif change.kind == "meta":
            prim = _by_id(conf, "primitive", change.target)
            want = _by_id(new, "primitive", change.target)
            assert prim is not None and want is not None
            _set_nvpairs(prim, want, "meta_attributes",
                         {nv.get("name", "") for nv in want.iter("nvpair")})
        elif change.kind in ("add", "agent"):
            want_top = _top_level(new_resources, change.target)
            assert want_top is not None
            have_top = _top_level(resources, change.target)
            if have_top is not None:
                resources.insert(list(resources).index(have_top), copy.deepcopy(want_top))
                resources.remove(have_top)
            else:
                resources.append(copy.deepcopy(want_top))
        elif change.kind == "remove":
            top = _top_level(resources, change.target)
            if top is not None:
                resources.remove(top)
        elif change.kind == "property":
            props.add(change.target)
        elif change.kind == "default":
            defaults.add(change.target)
    _set_nvpairs(_section(conf, "crm_config"), new.find("crm_config"),
                 "cluster_property_set", props)
    _set_nvpairs(_section(conf, "rsc_defaults"), new.find("rsc_defaults"),
                 "meta_attributes", defaults)
    added = {c.target for c in diff.changes if c.kind == "constraint-add"}
    dropped = {c.target for c in diff.changes if c.kind == "constraint-remove"}
    for node in list(constraints):
        key = _constraint_key(node)
        if key is not None and (" ".join(key) in dropped or mentions(key, removed)):
            constraints.remove(node)
    for node in list(_section(new, "constraints")):
        key = _constraint_key(node)
        if key is not None and " ".join(key) in added:
            constraints.append(copy.deepcopy(node))
    if any(c.kind == "levels" for c in diff.changes):
        for old in conf.findall("fencing-topology"):
            conf.remove(old)
        topology = new.find("fencing-topology")
        if topology is not None:
            conf.append(copy.deepcopy(topology))
    live.set("epoch", str(int(live.get("epoch", "0")) + 1))
    live.set("num_updates", "0")
    return ET.tostring(live, encoding="unicode")
