"""The cluster step on a rerun: the plan shows the cluster changes (read from the CIB on
disk), plans draw no join code, a grown primary keeps its two-node corosync.conf, and a
renamed cluster member is refused instead of reported done."""

from __future__ import annotations

import json
from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from appliance.answers import Answers, load_answers
from appliance.runner import RecordingRunner
from firstboot import engine
from firstboot.actions import WriteFile
from firstboot.host import load_host
from firstboot.plan import Plan, PlannedStepEntry
from ha import corosync
from ha.cib_sync import CIB_ON_DISK
from tests.unit.firstboot_support import EXAMPLES, FIXTURES, JOIN_CODE_FILE, seed_root

pytestmark = pytest.mark.unit

HOST = load_host(FIXTURES / "host-two-nics.json")
DATA = Path(__file__).parent / "ha_data"


def primary() -> Answers:
    return load_answers(EXAMPLES / "primary.toml")


def with_vip(answers: Answers, vip: str) -> Answers:
    return replace(answers, network=replace(answers.network, virtual_ip=IPv4Address(vip)))


def running_root(tmp_path: Path, *, nodes: int = 2, sealed: bool = True) -> Path:
    """A primary's root as a first boot left it: our corosync.conf, the CIB on disk."""
    root = seed_root(tmp_path / "root", "debian12")
    settings = corosync.settings_from_answers(primary(), with_secondary=nodes == 2)
    settings = replace(settings, wait_for_all=sealed)
    for path, text in ((corosync.CONF_PATH, corosync.render_corosync_conf(settings)),
                       (CIB_ON_DISK, (DATA / "cib-primary.xml").read_text()),
                       (JOIN_CODE_FILE, "AEBA-GBAF-AYDQ-QCIK-BMGA-2DQP-CABE\n")):
        host = root / path.lstrip("/")
        host.parent.mkdir(parents=True, exist_ok=True)
        host.write_text(text)
    return root


def cluster_step(plan: Plan) -> PlannedStepEntry:
    return next(s for s in plan.steps if s.name == "cluster")


def test_plan_shows_the_vip_change_it_will_make(tmp_path: Path) -> None:
    root = running_root(tmp_path)
    plan = engine.plan(with_vip(primary(), "198.51.100.101"), root=root, live=False, host=HOST)
    lines = "\n".join(plan.lines())
    assert "change the live CIB in one patch: vip: ip 198.51.100.100 → 198.51.100.101" in lines
    step = cluster_step(plan).as_dict()
    action = next(a for a in step["actions"] if a["action"] == "cluster-configuration")
    assert action["state"] == "update"
    assert action["changes"] == ["vip: ip 198.51.100.100 → 198.51.100.101"]
    assert ["cibadmin", "--patch", "--xml-pipe"] in action["commands"]


def test_plan_with_the_same_answers_says_no_change(tmp_path: Path) -> None:
    plan = engine.plan(primary(), root=running_root(tmp_path), live=False, host=HOST)
    assert "the live CIB already matches the answers (no change)" in "\n".join(plan.lines())
    assert not [c for c in plan.commands if c[:1] == ("pcs",)]


def test_plan_never_shows_a_password_change_in_clear(tmp_path: Path) -> None:
    answers = primary()
    rotated = replace(answers, fencing=replace(answers.fencing, password="Rotated-Secret-5"))
    plan = engine.plan(rotated, root=running_root(tmp_path), live=False, host=HOST)
    text = "\n".join(plan.lines()) + json.dumps(plan.as_dict())
    assert "fence-expand1: password changed" in text
    assert "Rotated-Secret-5" not in text and "demo-Ipmi-Secret-17" not in text


def test_plan_draws_no_join_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ha.bootstrap

    def refuse(*_: object) -> str:
        raise AssertionError("a join code drawn while planning")

    monkeypatch.setattr(ha.bootstrap, "new_join_code", refuse)
    root = seed_root(tmp_path / "root", "debian12")
    plan = engine.plan(primary(), root=root, live=False, host=HOST)
    step = cluster_step(plan)
    assert any(a.describe().startswith("a new join code will be drawn") for a in step.actions)
    assert "a new join code will be drawn" in "\n".join(plan.lines())
    assert JOIN_CODE_FILE in plan.files and "/etc/corosync/authkey" in plan.files
    assert plan.as_dict() == engine.plan(primary(), root=root, live=False,
                                         host=HOST).as_dict()


def test_apply_draws_the_code_once_and_registers_it(tmp_path: Path) -> None:
    root = seed_root(tmp_path / "root", "debian12")
    runner = RecordingRunner()
    report = engine.apply(primary(), root=root, runner=runner, live=True, host=HOST)
    assert report.ok, report.as_dict()
    code = (root / JOIN_CODE_FILE.lstrip("/")).read_text().strip()
    assert report.shown_once and code in report.shown_once[-1]  # the cluster step is last
    assert runner.redactor(f"x {code} y") != f"x {code} y"


@pytest.mark.parametrize("sealed", [True, False], ids=["sealed", "secondary-not-joined-yet"])
def test_a_grown_primary_keeps_its_two_node_corosync_conf(tmp_path: Path, sealed: bool) -> None:
    """Unsealed (add-secondary ran, the secondary never joined) stays unsealed: a sealed
    file would bring back the wait for a peer that is not there yet."""
    root = running_root(tmp_path, nodes=2, sealed=sealed)
    conf = root / corosync.CONF_PATH.lstrip("/")
    before = conf.read_text()
    plan = engine.plan(primary(), root=root, live=False, host=HOST)
    writes = [a for a in cluster_step(plan).actions
              if isinstance(a, WriteFile) and a.path == corosync.CONF_PATH]
    assert len(writes) == 1 and writes[0].content == before.encode()
    assert "two_node: 1" in before
    assert corosync.is_unsealed(before) is not sealed


@pytest.mark.parametrize(("field", "value"), [("primary_hostname", "expand7"),
                                              ("secondary_hostname", "expand8")])
def test_a_renamed_cluster_member_is_refused_not_done(tmp_path: Path, field: str,
                                                      value: str) -> None:
    root = running_root(tmp_path, nodes=2)
    answers = primary()
    renamed = replace(answers, nodes=replace(answers.nodes, **{field: value}))
    step = cluster_step(engine.plan(renamed, root=root, live=False, host=HOST))
    assert step.actions == () and step.detail.startswith("refused: nodes.")
    report = engine.apply(renamed, root=root, runner=RecordingRunner(), live=True, host=HOST)
    assert not report.ok
    failed = report.failed_step
    assert failed is not None and failed.name == "cluster"
    assert "a renamed node is a different cluster member" in failed.detail
    assert value in failed.detail


def test_a_standalone_primary_may_rename_its_future_secondary(tmp_path: Path) -> None:
    root = running_root(tmp_path, nodes=1)
    answers = primary()
    renamed = replace(answers, nodes=replace(answers.nodes, secondary_hostname="expand9"))
    step = cluster_step(engine.plan(renamed, root=root, live=False, host=HOST))
    assert not step.detail.startswith("refused")
    assert "fence-expand9: new stonith:fence_ipmilan resource" in step.detail
