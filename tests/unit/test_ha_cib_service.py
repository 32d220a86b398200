"""The PBX service resource is monitored: restarted in place, moved after repeated
failures (monitor timeout, migration-threshold, failure-timeout), and a cluster made before
that gets it from its next rerun in one change. The live CIBs are tests/unit/ha_data's,
built by the real pcs (see test_ha_cib_diff)."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

from appliance.answers import Answers, load_answers
from ha import cib
from ha.cib_diff import diff_cib, model_from_cib, model_from_steps, parse_cib
from ha.cib_merge import merge

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "ha_data"


def example(name: str) -> Answers:
    return load_answers(REPO / "examples" / "answers" / f"{name}.toml")


def steps(answers: Answers) -> list[cib.CibStep]:
    return cib.build_steps(answers, "/tmp/cib.xml",
                           cib.CibOptions(no_fencing=answers.fencing.mode == "none"))


def service_step(answers: Answers) -> cib.CibStep:
    return next(s for s in steps(answers) if s.what == "PBX service")


def test_the_service_is_monitored_and_moves_after_repeated_failures() -> None:
    argv = service_step(example("primary")).argv
    assert argv[argv.index("op"):] == (
        "op", "monitor", "interval=10s", "timeout=30s",
        "meta", "migration-threshold=3", "failure-timeout=120s", "--force")


def test_what_pcs_built_has_the_monitor_timeout_and_the_meta_attributes() -> None:
    built = model_from_cib(parse_cib((DATA / "cib-primary.xml").read_text()))
    wanted = model_from_steps(steps(example("primary")))
    for model in (built, wanted):
        service = model.primitives["asterisk"]
        assert ("10s", "30s") in service.timeouts
        assert dict(service.meta) == {"migration-threshold": "3", "failure-timeout": "120s"}


def old_cluster(text: str) -> str:
    """The CIB as first boots before this change made it: no timeout, no meta, and an
    operator's target-role on the service."""
    root = parse_cib(text)
    service = next(p for p in root.iter("primitive") if p.get("id") == "asterisk")
    meta = service.find("meta_attributes")
    assert meta is not None
    for nv in list(meta):
        meta.remove(nv)
    ET.SubElement(meta, "nvpair", {"id": "asterisk-meta_attributes-target-role",
                                   "name": "target-role", "value": "Started"})
    for op in service.iter("op"):
        op.attrib.pop("timeout", None)
    return ET.tostring(root, encoding="unicode")


def test_a_cluster_made_before_monitoring_gets_it_in_one_change_keeping_target_role() -> None:
    new = (DATA / "cib-primary.xml").read_text()
    old = old_cluster(new)
    wanted = steps(example("primary"))
    found = diff_cib(old, wanted, manage_fencing=True)
    assert found.lines() == [
        "asterisk: monitor operations changed",
        "asterisk: failure-timeout (unset) → 120s, migration-threshold (unset) → 3"]
    merged = merge(old, new, found)
    assert diff_cib(merged, wanted, manage_fencing=True).empty
    service = model_from_cib(parse_cib(merged)).primitives["asterisk"]
    assert dict(service.meta) == {"target-role": "Started", "migration-threshold": "3",
                                  "failure-timeout": "120s"}


def test_an_operator_meta_attribute_alone_is_no_difference() -> None:
    root = parse_cib((DATA / "cib-standalone.xml").read_text())
    service = next(p for p in root.iter("primitive") if p.get("id") == "asterisk")
    meta = service.find("meta_attributes")
    assert meta is not None
    ET.SubElement(meta, "nvpair", {"id": "x", "name": "target-role", "value": "Stopped"})
    text = ET.tostring(root, encoding="unicode")
    assert diff_cib(text, steps(example("standalone")), manage_fencing=False).empty
