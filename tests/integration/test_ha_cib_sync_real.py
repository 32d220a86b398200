"""The live-CIB sync with the real tools on a CIB file (``CIB_file``: cibadmin reads and
patches the file as it would the cluster): pcs -f builds the wanted parts, crm_diff makes
the patch, cibadmin --patch applies it, crm_verify accepts the result. Under the heavy
lock (pcs is slow-ish); about a minute."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from appliance.answers import Answers, load_answers
from appliance.filesink import FileSink
from appliance.runner import Result, Runner
from ha import cib
from ha.cib_diff import diff_cib, parse_cib
from ha.cib_sync import ConfigureCluster
from tests.support import heavy_lock, require_tools

REPO = Path(__file__).resolve().parents[2]
LIVE = REPO / "tests/unit/ha_data/cib-primary.xml"  # what pcs built from primary.toml
NEW_PASSWORD = "Rotated-Ipmi-Secret-23"


@pytest.fixture(scope="module", autouse=True)
def lock() -> Iterator[None]:
    with heavy_lock():
        yield


class ArgvRunner(Runner):
    """The real runner, keeping every argv (a password must never be on one)."""

    def __init__(self) -> None:
        super().__init__()
        self.argvs: list[tuple[str, ...]] = []

    def _execute(self, argv: tuple[str, ...], data: bytes | None,
                 env: Mapping[str, str] | None, cwd: Path | None, timeout: float | None,
                 shown: str) -> Result:
        self.argvs.append(argv)
        return super()._execute(argv, data, env, cwd, timeout, shown)


def changed(answers: Answers) -> Answers:
    """A new VIP, gateway and fencing password: the reconfigure of the brief."""
    net = replace(answers.network, virtual_ip=IPv4Address("198.51.100.101"),
                  gateway=IPv4Address("198.51.100.2"))
    return replace(answers, network=net,
                   fencing=replace(answers.fencing, password=NEW_PASSWORD))


def primitives(path: Path) -> dict[str, str]:
    conf = parse_cib(path.read_text()).find("configuration")
    assert conf is not None
    return {p.get("id", ""): ET.canonicalize(ET.tostring(p), strip_text=True)
            for p in conf.iter("primitive")}


def epoch(path: Path) -> str:
    return parse_cib(path.read_text()).get("epoch", "")


def test_only_the_changed_parts_are_patched_and_a_rerun_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_tools("pcs", "cibadmin", "crm_diff", "crm_verify")
    live = tmp_path / "live.xml"
    shutil.copy(LIVE, live)
    monkeypatch.setenv("CIB_file", str(live))
    before, epoch_before = primitives(live), epoch(live)
    answers = changed(load_answers(REPO / "examples/answers/primary.toml"))
    work = str(tmp_path / "cib-build.xml")
    action = ConfigureCluster(work, tuple(cib.build_steps(answers, work)), cib.VIP_ID)
    runner = ArgvRunner()
    action.execute(FileSink(Path("/")), runner)

    after = primitives(live)
    assert {rid for rid in before if before[rid] != after[rid]} == {
        "vip", "fence-gateway-check", "fence-expand1", "fence-expand2"}
    assert 'name="ip" value="198.51.100.101"' in after["vip"]
    assert 'name="ping_targets" value="198.51.100.2"' in after["fence-gateway-check"]
    assert f'name="password" value="{NEW_PASSWORD}"' in after["fence-expand1"]
    # The patch targets epoch + 1; cibadmin counts the configuration change once more.
    assert int(epoch(live)) > int(epoch_before)
    assert diff_cib(live.read_text(), action.steps, manage_fencing=True).empty
    runner.run(["crm_verify", "--xml-file", str(live)])
    assert not [a for a in runner.argvs if any(NEW_PASSWORD in word for word in a)]
    assert ("cibadmin", "--patch", "--xml-pipe") in runner.argvs
    assert not list(tmp_path.glob("cib-build.xml*"))  # work files (0600) removed

    text = live.read_text()
    again = ArgvRunner()
    action.execute(FileSink(Path("/")), again)
    assert live.read_text() == text  # same answers: no write, no epoch bump
    assert again.argvs == [("cibadmin", "--query")]


def test_a_patch_made_from_a_stale_read_is_refused_not_applied(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cluster changed between the read and the patch: cibadmin refuses, so the
    concurrent change is never overwritten (execute then reads again)."""
    require_tools("pcs", "cibadmin", "crm_diff")
    live = tmp_path / "live.xml"
    shutil.copy(LIVE, live)
    monkeypatch.setenv("CIB_file", str(live))
    answers = changed(load_answers(REPO / "examples/answers/primary.toml"))
    work = str(tmp_path / "cib-build.xml")
    action = ConfigureCluster(work, tuple(cib.build_steps(answers, work)), cib.VIP_ID)
    runner, sink = Runner(), FileSink(Path("/"))
    stale = live.read_text()
    built = action._build_offline(runner, sink)
    # Meanwhile someone else changes the cluster (a new epoch).
    runner.run(["cibadmin", "--modify", "--xml-text",
                '<nvpair id="rsc_defaults-meta_attributes-resource-stickiness" '
                'value="300"/>'])
    concurrent = live.read_text()
    diff = diff_cib(stale, action.steps, manage_fencing=True)
    assert action._patch(runner, sink, stale, built, diff) is False
    assert live.read_text() == concurrent
    # The whole action reads again and patches the new version, keeping that change
    # where the answers do not own it... stickiness they do own: set back to 200.
    action.execute(sink, runner)
    assert diff_cib(live.read_text(), action.steps, manage_fencing=True).empty
    assert 'name="resource-stickiness" value="200"' in live.read_text()
