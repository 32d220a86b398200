"""``ha add-secondary``: a second node only joins a cluster that can fence it (or when
``--no-fencing`` is said out loud); the saved answers, which never hold secrets, load."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from appliance.answers import Answers, load_answers
from appliance.answers_toml import dump_answers
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.reports import ValidationFailed
from appliance.runner import RecordingRunner, Result, Runner
from ha import checks, corosync, grow
from ha.status import ClusterUnavailable

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "answers"
CONF = "/etc/corosync/corosync.conf"
NO_FENCING_CIB = ('<cib><configuration><crm_config><cluster_property_set id="p">'
                  '<nvpair id="s" name="stonith-enabled" value="false"/>'
                  "</cluster_property_set></crm_config><resources/></configuration></cib>")
FENCED_CIB = NO_FENCING_CIB.replace('value="false"', 'value="true"').replace(
    "<resources/>", '<resources><primitive id="f" class="stonith" type="fence_ipmilan"/>'
                    "</resources>")


@pytest.fixture
def primary() -> Answers:
    return load_answers(EXAMPLES / "primary.toml")


CRM_MON = (Path(__file__).parent / "ha_data" / "crm_mon_two_nodes.xml").read_text()
NOT_RUNNING = (Path(__file__).parent / "ha_data" / "crm_mon_not_running.xml").read_text()
STATUS_CALLS = (("crm_mon",), ("crm_node",))


def runner_with(cib_xml: str, crm_mon: str = CRM_MON) -> RecordingRunner:
    return RecordingRunner(answers={("cibadmin", "--query"): Result((), 0, cib_xml, ""),
                                    ("crm_mon",): Result((), 0, crm_mon, ""),
                                    ("crm_node", "-n"): Result((), 0, "expand1\n", "")})


def changes(runner: RecordingRunner) -> list[tuple[str, ...]]:
    """The calls after reading the cluster state (crm_mon, crm_node)."""
    return [c for c in runner.calls if c[:1] not in STATUS_CALLS]


def test_fencing_configured_reads_the_property_and_the_devices() -> None:
    assert checks.fencing_configured(FENCED_CIB)
    assert not checks.fencing_configured(NO_FENCING_CIB)
    assert not checks.fencing_configured(FENCED_CIB.replace('value="true"', 'value="false"'))
    devices_only = NO_FENCING_CIB.replace('<nvpair id="s" name="stonith-enabled" '
                                          'value="false"/>', "")
    assert not checks.fencing_configured(devices_only)  # default on, but nothing to fence with


def test_refused_without_fencing_and_nothing_written(tmp_path: Path, primary: Answers) -> None:
    answers = replace(primary, fencing=replace(primary.fencing, mode="none"))
    runner = runner_with(NO_FENCING_CIB)
    with pytest.raises(ExpandError, match="--no-fencing"):
        grow.add_secondary(runner, FileSink(tmp_path), answers)
    assert not (tmp_path / CONF.lstrip("/")).exists()
    assert changes(runner) == [("cibadmin", "--query")]
    assert grow.add_secondary(runner, FileSink(tmp_path), answers, no_fencing=True)
    assert "expand2" in (tmp_path / CONF.lstrip("/")).read_text()


def test_fencing_from_the_answers_is_created_before_the_secondary_is_listed(
        tmp_path: Path, primary: Answers) -> None:
    runner = runner_with(NO_FENCING_CIB)
    assert grow.add_secondary(runner, FileSink(tmp_path), primary)
    lines = [" ".join(c) for c in changes(runner)]
    push = lines.index("cibadmin --replace --xml-file /var/lib/expand/cib-build.xml")
    assert any("stonith create fence-expand1 fence_ipmilan" in line for line in lines[:push])
    assert any("stonith-enabled=true" in line for line in lines[:push])
    assert lines[-1] == "corosync-cfgtool -R"
    assert not (tmp_path / "var/lib/expand/cib-build.xml").exists()  # held the password
    assert all(primary.fencing.password not in line for line in lines)


def test_fencing_password_is_asked_for_by_name(tmp_path: Path, primary: Answers) -> None:
    saved = replace(primary, fencing=replace(primary.fencing, password=""))
    with pytest.raises(ExpandError, match=r"fencing\.password"):
        grow.add_secondary(runner_with(NO_FENCING_CIB), FileSink(tmp_path), saved)


def test_already_fenced_cluster_only_grows(tmp_path: Path, primary: Answers) -> None:
    runner = runner_with(FENCED_CIB)
    assert grow.add_secondary(runner, FileSink(tmp_path), primary)
    assert changes(runner) == [("cibadmin", "--query"),
                               (*grow.STARTUP_FENCING, "--update", "false"),
                               ("corosync-cfgtool", "-R")]
    text = (tmp_path / CONF.lstrip("/")).read_text()
    assert "two_node: 1" in text and "wait_for_all: 0" in text
    assert not grow.add_secondary(runner, FileSink(tmp_path), primary)  # rerun: no reload
    assert runner.calls[-1] == (*grow.STARTUP_FENCING, "--update", "false")


def test_refused_on_the_secondary_and_without_pacemaker(tmp_path: Path,
                                                        primary: Answers) -> None:
    with pytest.raises(ExpandError, match="primary"):
        grow.add_secondary(runner_with(FENCED_CIB), FileSink(tmp_path),
                           replace(primary, mode="secondary"))
    down = runner_with(FENCED_CIB, crm_mon=NOT_RUNNING)
    with pytest.raises(ClusterUnavailable, match="pacemaker is not running on this node"):
        grow.add_secondary(down, FileSink(tmp_path), primary)
    assert changes(down) == []
    assert not (tmp_path / CONF.lstrip("/")).exists()


def test_saved_answers_load_without_their_secrets(tmp_path: Path, primary: Answers) -> None:
    saved = tmp_path / "answers.toml"
    saved.write_text(dump_answers(primary))  # as the first boot saves them
    assert "password" not in saved.read_text()
    with pytest.raises(ValidationFailed, match=r"smtp\.password"):
        load_answers(saved)
    loaded = load_answers(saved, secrets_left_out=True)
    assert loaded.smtp.password == "" and loaded.network == primary.network
    saved.write_text(saved.read_text().replace('mode = "primary"', 'mode = "primary2"'))
    with pytest.raises(ValidationFailed, match="mode"):  # other problems still count
        load_answers(saved, secrets_left_out=True)


QUORUM = (Path(__file__).parent / "ha_data" / "quorumtool_two_node.txt").read_text()
QUORUM_ALONE = QUORUM.split("    Nodeid")[0] + ("    Nodeid      Votes Name\n"
                                              "         1          1 expand1 (local)\n")


def test_seal_waits_for_the_secondary_then_turns_wait_for_all_on(
        tmp_path: Path, primary: Answers) -> None:
    sink = FileSink(tmp_path)
    assert grow.add_secondary(runner_with(FENCED_CIB), sink, primary)
    alone = RecordingRunner(answers={("corosync-quorumtool",): Result((), 0, QUORUM_ALONE,
                                                                      "")})
    assert grow.seal(alone, sink) is grow.Seal.WAITING
    assert alone.calls == [("corosync-quorumtool", "-s")]  # nothing written, no reload
    assert corosync.is_unsealed(sink.read_text(CONF) or "")
    both = RecordingRunner(answers={("corosync-quorumtool",): Result((), 0, QUORUM, "")})
    assert grow.seal(both, sink) is grow.Seal.SEALED
    assert both.calls[1:] == [(*grow.STARTUP_FENCING, "--delete"), ("corosync-cfgtool", "-R")]
    text = sink.read_text(CONF) or ""
    # Sealed, the primary's file is the one the secondary's first boot writes.
    assert text == corosync.render_corosync_conf(corosync.settings_from_answers(primary))
    assert "wait_for_all" not in text  # two_node's default: on
    assert grow.seal(both, sink) is grow.Seal.ALREADY
    # A rerun of add-secondary keeps the seal.
    assert not grow.add_secondary(runner_with(FENCED_CIB), sink, primary)
    assert "wait_for_all" not in (sink.read_text(CONF) or "")


def test_seal_waits_for_pacemaker_to_put_startup_fencing_back(tmp_path: Path,
                                                                primary: Answers) -> None:
    sink = FileSink(tmp_path)
    assert grow.add_secondary(runner_with(FENCED_CIB), sink, primary)
    not_yet = RecordingRunner(answers={
        ("corosync-quorumtool",): Result((), 0, QUORUM, ""),
        ("crm_attribute",): Result((), 102, "", "Could not connect to the CIB")})
    assert grow.seal(not_yet, sink) is grow.Seal.WAITING
    assert corosync.is_unsealed(sink.read_text(CONF) or "")
    assert ("corosync-cfgtool", "-R") not in not_yet.calls
    gone = RecordingRunner(answers={
        ("corosync-quorumtool",): Result((), 0, QUORUM, ""),
        ("crm_attribute",): Result((), grow.CRM_EX_NOSUCH, "", "")})
    assert grow.seal(gone, sink) is grow.Seal.SEALED


def test_seal_leaves_one_node_and_first_built_clusters_alone(tmp_path: Path,
                                                             primary: Answers) -> None:
    sink = FileSink(tmp_path)
    both = RecordingRunner(answers={("corosync-quorumtool",): Result((), 0, QUORUM, "")})
    for settings in (corosync.settings_from_answers(primary, with_secondary=False),
                     corosync.settings_from_answers(primary)):
        corosync.write_corosync_conf(sink, settings)
        assert grow.seal(both, sink) is grow.Seal.ALREADY
    assert both.calls == []


def test_seal_unit_runs_the_seal_after_corosync() -> None:
    unit = grow.seal_unit("/usr/bin/expandctl")
    assert "After=corosync.service" in unit and "WantedBy=multi-user.target" in unit
    assert "ExecStart=/usr/bin/expandctl --log-file /var/log/expand/ha-seal.log ha seal --wait" \
        in unit


def test_add_secondary_registers_the_fencing_password_with_the_shared_redactor(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The password read from --answers never reaches a log line or an error, through the
    Runner the ha commands share (console.REDACTOR, the one setup_logging installs)."""
    from appliance import console
    from appliance.cli import main

    password = load_answers(EXAMPLES / "primary.toml").fencing.password
    monkeypatch.setattr(console.REDACTOR, "_secrets", set())  # this test's own, emptied
    assert password and console.REDACTOR(password) == password  # not known before
    seen: list[Runner] = []

    def add_secondary(runner: Runner, sink: FileSink, answers: Answers,
                      **_: object) -> bool:
        seen.append(runner)
        runner.run(["sh", "-c", 'echo "$0" >&2; exit 3', answers.fencing.password])
        return False

    monkeypatch.setattr(grow, "add_secondary", add_secondary)
    code = main(["-v", "ha", "add-secondary", "--answers", str(EXAMPLES / "primary.toml")])
    err = capsys.readouterr().err
    assert code == 1 and "command failed (exit 3)" in err
    assert seen[0].redactor is console.REDACTOR
    # -v: the logged command line, the error's command and its stderr are all masked.
    assert password not in err and err.count("********") == 3, err
