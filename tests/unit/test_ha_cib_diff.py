"""The live cluster follows the answers: the difference between the CIB the answers give
and the live one, and only that carried into the live copy.

The live CIBs here (tests/unit/ha_data/cib-*.xml) were built by the real ``pcs -f`` from
examples/answers/{primary,standalone}.toml (``cib.build_steps`` on ``cibadmin --empty``);
tests/integration/test_ha_cib_sync_real.py runs the whole thing with pcs, crm_diff and
cibadmin on a CIB file.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from appliance.answers import Answers, load_answers
from ha import cib
from ha.cib_diff import CibDiff, diff_cib, model_from_steps, parse_cib
from ha.cib_merge import merge

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "ha_data"
WORK = "/var/lib/expand/cib-build.xml"
PASSWORD = "demo-Ipmi-Secret-17"


def example(name: str) -> Answers:
    return load_answers(REPO / "examples" / "answers" / f"{name}.toml")


def live(name: str) -> str:
    return (DATA / f"cib-{name}.xml").read_text()


def steps(answers: Answers) -> list[cib.CibStep]:
    return cib.build_steps(answers, WORK,
                           cib.CibOptions(no_fencing=answers.fencing.mode == "none"))


def diff(answers: Answers, name: str = "primary") -> CibDiff:
    return diff_cib(live(name), steps(answers), manage_fencing=answers.fencing.mode != "none")


def with_vip(answers: Answers, vip: str) -> Answers:
    return replace(answers, network=replace(answers.network, virtual_ip=IPv4Address(vip)))


def primitives(text: str) -> dict[str, str]:
    """Each primitive as canonical XML, by id."""
    conf = parse_cib(text).find("configuration")
    assert conf is not None
    return {p.get("id", ""): ET.canonicalize(ET.tostring(p), strip_text=True)
            for p in conf.iter("primitive")}


@pytest.mark.parametrize("name", ["primary", "standalone"])
def test_the_same_answers_change_nothing(name: str) -> None:
    found = diff(example(name), name)
    assert found.empty, found.lines()


def test_a_new_vip_changes_only_the_vip_ip() -> None:
    found = diff(with_vip(example("primary"), "198.51.100.101"))
    assert found.lines() == ["vip: ip 198.51.100.100 → 198.51.100.101"]
    assert [(c.kind, c.target) for c in found.changes] == [("params", "vip")]


def test_a_new_netmask_changes_the_vip_cidr() -> None:
    answers = example("primary")
    narrower = replace(answers, network=replace(answers.network,
                                                 netmask=IPv4Address("255.255.255.128")))
    assert diff(narrower).lines() == ["vip: cidr_netmask 24 → 25"]


def test_a_new_gateway_changes_only_the_gateway_check() -> None:
    answers = example("primary")
    moved = replace(answers, network=replace(answers.network,
                                             gateway=IPv4Address("198.51.100.2")))
    found = diff(moved)
    assert found.lines() == ["fence-gateway-check: ping_targets 198.51.100.1 → 198.51.100.2"]


def test_new_fencing_credentials_change_the_devices_never_shown() -> None:
    answers = example("primary")
    rotated = replace(answers, fencing=replace(answers.fencing, username="admin",
                                               password="New-Secret-99"))
    found = diff(rotated)
    assert found.lines() == [
        "fence-expand1: password changed, username fence → admin",
        "fence-expand2: password changed, username fence → admin"]
    assert "New-Secret-99" not in repr(found) and PASSWORD not in repr(found)


def test_a_new_fencing_target_changes_that_device() -> None:
    answers = example("primary")
    moved = replace(answers, fencing=replace(answers.fencing,
                                             secondary_target="198.51.100.203"))
    assert diff(moved).lines() == ["fence-expand2: ip 198.51.100.202 → 198.51.100.203"]


def test_a_renamed_secondary_replaces_its_device_constraint_and_level() -> None:
    answers = example("primary")
    renamed = replace(answers, nodes=replace(answers.nodes, secondary_hostname="expand9"))
    found = diff(renamed)
    kinds = {(c.kind, c.target) for c in found.changes}
    assert ("add", "fence-expand9") in kinds and ("remove", "fence-expand2") in kinds
    assert ("params", "fence-gateway-check") in kinds  # pcmk_host_list names expand9
    assert ("levels", "fencing-topology") in kinds
    assert any(c.kind == "constraint-remove" and "fence-expand2" in c.target
               for c in found.changes)
    assert any(c.kind == "constraint-add" and "fence-expand9" in c.target
               for c in found.changes)
    built = build_xml_from(live("primary"), renamed)
    merged = merge(live("primary"), built, found)
    assert diff_cib(merged, steps(renamed), manage_fencing=True).empty
    assert "fence-expand2" not in merged


def build_xml_from(text: str, answers: Answers) -> str:
    """What the pcs steps would build for ``answers``, derived from a real pcs build of the
    example: its primitives patched to the wanted parameters (the integration test runs
    pcs itself)."""
    root = parse_cib(text)
    conf = root.find("configuration")
    assert conf is not None
    wanted = model_from_steps(steps(answers))
    resources = conf.find("resources")
    assert resources is not None
    for prim in list(resources):
        if prim.get("id") not in wanted.primitives:
            resources.remove(prim)
    for rid, want in wanted.primitives.items():
        found = [p for p in conf.iter("primitive") if p.get("id") == rid]
        if found:
            prim = found[0]
        else:
            prim = ET.SubElement(resources, "primitive", {"id": rid, "class": "stonith",
                                                          "type": want.agent.split(":")[-1]})
        for old in prim.findall("instance_attributes"):
            prim.remove(old)
        attrs = ET.Element("instance_attributes", {"id": f"{rid}-instance_attributes"})
        for key, value in want.params:
            ET.SubElement(attrs, "nvpair", {"id": f"{rid}-instance_attributes-{key}",
                                            "name": key, "value": value})
        prim.insert(0, attrs)
        if not prim.findall("operations"):
            ops = ET.SubElement(prim, "operations")
            for interval, _role in sorted(want.monitors):
                ET.SubElement(ops, "op", {"name": "monitor", "interval": interval,
                                          "id": f"{rid}-monitor-interval-{interval}"})
    constraints = conf.find("constraints")
    assert constraints is not None
    for con in wanted.constraints:
        if con[0] == "location":
            ET.SubElement(constraints, "rsc_location", {
                "id": f"location-{con[1]}-{con[2]}--INFINITY", "rsc": con[1],
                "node": con[2], "score": con[3]})
    topology = conf.find("fencing-topology")
    assert topology is not None
    for level in list(topology):
        topology.remove(level)
    for target, index, devices in sorted(wanted.levels):
        ET.SubElement(topology, "fencing-level", {"index": index, "devices": devices,
                                                  "target": target,
                                                  "id": f"fl-{target}-{index}"})
    return ET.tostring(root, encoding="unicode")


def test_merge_changes_only_the_vip_and_bumps_the_epoch() -> None:
    before = live("primary")
    answers = with_vip(example("primary"), "198.51.100.101")
    found = diff(answers)
    after = merge(before, build_xml_from(before, answers), found)
    old, new = primitives(before), primitives(after)
    assert {rid for rid in old if old[rid] != new[rid]} == {"vip"}
    assert 'value="198.51.100.101"' in new["vip"]
    assert parse_cib(after).get("epoch") == str(int(parse_cib(before).get("epoch", "0")) + 1)
    assert diff_cib(after, steps(answers), manage_fencing=True).empty


def test_pcs_default_operations_and_operator_meta_are_not_differences() -> None:
    """A systemd unit pcs could ask later gets start/stop ops; an operator's target-role
    stays. Neither is a reason to touch (and restart) the service."""
    root = parse_cib(live("primary"))
    service = next(p for p in root.iter("primitive") if p.get("id") == "asterisk")
    ops = service.find("operations")
    assert ops is not None
    ET.SubElement(ops, "op", {"name": "start", "interval": "0s", "timeout": "100s",
                              "id": "asterisk-start-interval-0s"})
    meta = ET.SubElement(service, "meta_attributes", {"id": "asterisk-meta_attributes"})
    ET.SubElement(meta, "nvpair", {"id": "asterisk-meta_attributes-target-role",
                                   "name": "target-role", "value": "Stopped"})
    text = ET.tostring(root, encoding="unicode")
    assert diff_cib(text, steps(example("primary")), manage_fencing=True).empty
    answers = with_vip(example("primary"), "198.51.100.101")
    merged = merge(text, build_xml_from(text, answers), diff_cib(text, steps(answers),
                                                                 manage_fencing=True))
    assert 'name="target-role" value="Stopped"' in merged
    assert primitives(merged)["asterisk"] == primitives(text)["asterisk"]


def test_no_fencing_in_the_answers_leaves_the_live_fencing_alone() -> None:
    """The lab and 'ha add-secondary --answers' put fencing on a cluster whose first boot
    had none: a rerun with fencing.mode none neither removes it nor turns it off."""
    answers = example("primary")
    unfenced = replace(answers, fencing=replace(answers.fencing, mode="none"))
    found = diff(unfenced)
    assert found.empty, found.lines()
    assert found.notes and "left as it is" in found.notes[0]
    moved = diff(with_vip(unfenced, "198.51.100.101"))
    assert moved.lines() == ["vip: ip 198.51.100.100 → 198.51.100.101"]


def test_fencing_turned_on_by_the_answers_is_a_change() -> None:
    answers = example("standalone")
    fenced = replace(answers, fencing=replace(example("primary").fencing))
    found = diff_cib(live("standalone"), steps(fenced), manage_fencing=True)
    assert "cluster property stonith-enabled: false → true" in found.lines()
    assert {"fence-expand1", "fence-expand2", "fence-gateway-check"} <= {
        c.target for c in found.changes if c.kind == "add"}


def test_the_steps_read_as_data_match_what_pcs_built() -> None:
    """The model of the steps is the model of the CIB pcs made from them."""
    from ha.cib_diff import model_from_cib

    wanted = model_from_steps(steps(example("primary")))
    built = model_from_cib(parse_cib(live("primary")))
    assert wanted.constraints == built.constraints and wanted.levels == built.levels
    assert {r: p.param_map for r, p in wanted.primitives.items()} == {
        r: p.param_map for r, p in built.primitives.items()}
    assert wanted.primitives["fence-expand1"].param_map["password"] == PASSWORD


def test_a_cluster_made_before_the_asymmetric_service_order_gets_it_in_one_change() -> None:
    """Clusters first booted with a symmetrical VIP → service order (a new VIP restarted
    the service) get the new order on their next rerun; nothing else moves."""
    new = live("primary")
    old = new.replace(' symmetrical="false"', "")
    found = diff_cib(old, steps(example("primary")), manage_fencing=True)
    assert found.lines() == [
        "constraint added: vip before asterisk (stop order not reversed)",
        "constraint removed: vip before asterisk"]
    merged = merge(old, new, found)
    assert diff_cib(merged, steps(example("primary")), manage_fencing=True).empty
    assert primitives(merged) == primitives(old)
    orders = [o for o in parse_cib(merged).iter("rsc_order") if o.get("then") == "asterisk"
              and o.get("first") == "vip"]
    assert len(orders) == 1 and orders[0].get("symmetrical") == "false"
    assert orders[0].get("id") == "order-vip-asterisk-mandatory"


def test_a_move_constraint_is_never_taken_for_ours() -> None:
    root = parse_cib(live("primary"))
    constraints = root.find("configuration/constraints")
    assert constraints is not None
    ET.SubElement(constraints, "rsc_location", {"id": "cli-prefer-data-fs", "rsc": "data-fs",
                                                "node": "expand2", "score": "INFINITY"})
    text = ET.tostring(root, encoding="unicode")
    assert diff_cib(text, steps(example("primary")), manage_fencing=True).empty


def test_answers_without_the_fencing_password_keep_the_devices_own() -> None:
    """Saved answers never hold the password: a rerun from them must not strip it."""
    answers = example("primary")
    no_secret = replace(answers, fencing=replace(answers.fencing, password="",
                                                 secondary_target="198.51.100.203"))
    found = diff(no_secret)
    assert found.lines() == ["fence-expand2: ip 198.51.100.202 → 198.51.100.203"]
    assert any("keeps its own" in note for note in found.notes)
    merged = merge(live("primary"), build_xml_from(live("primary"), no_secret), found)
    device = primitives(merged)["fence-expand2"]
    assert f'value="{PASSWORD}"' in device and 'value="198.51.100.203"' in device
