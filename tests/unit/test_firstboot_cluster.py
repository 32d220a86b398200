"""The cluster first-boot step: files, commands, join code kept out of every record, reruns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.answers import Answers, load_answers
from appliance.backup import BACKUP_DIR
from appliance.joincode import authkey_from_code, parse_join_code
from appliance.runner import RecordingRunner, Result
from firstboot import engine, paths
from firstboot.host import load_host
from firstboot.report import report_lines
from tests.unit.firstboot_support import (
    AUTHKEY,
    EXAMPLES,
    FIXTURES,
    JOIN_CODE_FILE,
    JOIN_CODE_SECONDARY,
    apply_cli,
    seed_root,
)

HOST = FIXTURES / "host-two-nics.json"
# The live CIB of a standalone primary, as the real pcs built it from standalone.toml.
LIVE_CIB = Result(("cibadmin",), 0,
                  (Path(__file__).parent / "ha_data" / "cib-standalone.xml").read_text(), "")


def answers(name: str) -> Answers:
    return load_answers(EXAMPLES / f"{name}.toml")


def host_file(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def with_cluster_software(root: Path) -> Path:
    for name in ("corosync", "pacemakerd"):
        host_file(root, f"/usr/sbin/{name}").parent.mkdir(parents=True, exist_ok=True)
        host_file(root, f"/usr/sbin/{name}").write_text("")
    return root


def live_apply(root: Path, which: Answers, runner: RecordingRunner) -> engine.ApplyReport:
    return engine.apply(which, root=root, runner=runner, live=True, host=load_host(HOST))


def all_text(root: Path, output: str) -> dict[str, bytes]:
    files = {"/" + str(p.relative_to(root)): p.read_bytes()
             for p in root.rglob("*") if p.is_file() and not p.is_symlink()}
    files["(command output)"] = output.encode()
    return files


def test_primary_root_run_writes_key_from_a_stored_code_shown_once(tmp_path: Path) -> None:
    root = seed_root(tmp_path / "root", "debian12")
    proc = apply_cli(EXAMPLES / "primary.toml", root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    code_file = host_file(root, JOIN_CODE_FILE)
    code = code_file.read_text().strip()
    parse_join_code(code)  # a well-formed code
    assert code_file.stat().st_mode & 0o777 == 0o600
    key = host_file(root, AUTHKEY)
    assert key.stat().st_mode & 0o777 == 0o400
    assert key.read_bytes() == authkey_from_code(code)
    # On screen once, at the end of the report; nowhere else but the 0600 code file (and
    # its copy in the 0700 upgrade backup, 0600 too).
    assert proc.stdout.count(code) == 1 and proc.stdout.rstrip().splitlines()[-2].strip() == code
    assert code not in proc.stderr
    holders = [p for p, data in all_text(root, "").items()
               if code.encode() in data or code.replace("-", "").encode() in data]
    kept = [p for p in holders if p.startswith(BACKUP_DIR + "/")]
    assert [p for p in holders if p not in kept] == [JOIN_CODE_FILE]
    assert kept and all(host_file(root, p).stat().st_mode & 0o777 == 0o600 for p in kept)
    conf = host_file(root, "/etc/corosync/corosync.conf").read_text()
    assert "name: expand1" in conf and "expand2" not in conf and "two_node" not in conf


def test_rerun_keeps_code_and_key_and_json_never_carries_the_code(tmp_path: Path) -> None:
    root = seed_root(tmp_path / "root", "rocky9")
    apply_cli(EXAMPLES / "primary.toml", root)
    code = host_file(root, JOIN_CODE_FILE).read_text().strip()
    key = host_file(root, AUTHKEY).read_bytes()
    again = apply_cli(EXAMPLES / "primary.toml", root, "host-two-nics.json", "--json")
    assert again.returncode == 0, again.stderr
    steps = {s["name"]: s for s in json.loads(again.stdout)["steps"]}
    assert steps["cluster"]["status"] == "done"  # secret inputs: always applied again
    assert code not in again.stdout
    assert host_file(root, AUTHKEY).read_bytes() == key
    assert host_file(root, JOIN_CODE_FILE).read_text().strip() == code


JOINED = Result(("corosync-cmapctl",), 0, "runtime.members.1.status (str) = joined\n"
                "runtime.members.2.status (str) = joined\n", "")


def test_secondary_derives_the_primary_key_and_pushes_no_cib(tmp_path: Path) -> None:
    root = with_cluster_software(seed_root(tmp_path / "root", "debian12"))
    runner = RecordingRunner(answers={("corosync-cmapctl",): JOINED})
    report = live_apply(root, answers("secondary"), runner)
    assert report.ok, report.as_dict()
    assert not [w for w in report.warnings if "does not see" in w]
    assert host_file(root, AUTHKEY).read_bytes() == authkey_from_code(JOIN_CODE_SECONDARY)
    assert not host_file(root, JOIN_CODE_FILE).exists()  # only the primary keeps a code
    assert not [s for s in report.shown_once if s.startswith("Join code")]
    conf = host_file(root, "/etc/corosync/corosync.conf").read_text()
    assert "name: expand2" in conf and "two_node: 1" in conf
    assert ("systemctl", "enable", "--now", "corosync.service") in runner.calls
    assert not [c for c in runner.calls if c[0] in ("pcs", "cibadmin")]


def test_live_primary_starts_daemons_then_pushes_the_cib_once(tmp_path: Path) -> None:
    root = with_cluster_software(seed_root(tmp_path / "root", "debian12"))
    runner = RecordingRunner()
    report = live_apply(root, answers("standalone"), runner)
    assert report.ok, report.as_dict()
    calls = runner.calls
    start = calls.index(("systemctl", "enable", "--now", "pacemaker.service"))
    push = next(i for i, c in enumerate(calls) if c[:2] == ("cibadmin", "--replace"))
    assert start < calls.index(("cibadmin", "--query")) < push
    assert any(c[:5] == ("pcs", "-f", "/var/lib/expand/cib-build.xml", "resource", "create")
               and "ocf:heartbeat:IPaddr2" in c for c in calls)
    # fencing.mode = none in the answers is the explicit choice: said in the report.
    assert any("stonith-enabled=false" in c for c in calls)
    assert any("fencing is off" in w for w in report.warnings)
    assert not host_file(root, "/var/lib/expand/cib-build.xml").exists()  # work file gone
    code = host_file(root, JOIN_CODE_FILE).read_text().strip()
    assert code in "\n".join(report_lines(report))

    # Resumed or rerun: the live CIB already matches the answers, so nothing is written.
    rerun = RecordingRunner(answers={("cibadmin", "--query"): LIVE_CIB})
    assert live_apply(root, answers("standalone"), rerun).ok
    assert not [c for c in rerun.calls if c[0] in ("pcs", "crm_diff")
                or c[:2] in (("cibadmin", "--replace"), ("cibadmin", "--patch"))]


def test_without_cluster_software_files_only_and_a_warning(tmp_path: Path) -> None:
    root = seed_root(tmp_path / "root", "debian12")
    runner = RecordingRunner()
    report = live_apply(root, answers("primary"), runner)
    assert report.ok
    assert any("cluster software is not installed" in w for w in report.warnings)
    assert host_file(root, AUTHKEY).exists()
    assert not [c for c in runner.calls if "corosync.service" in c or c[0] == "pcs"]


def test_fencing_password_reaches_cibadmin_on_stdin_only(tmp_path: Path) -> None:
    root = seed_root(tmp_path / "root", "debian12")
    the_plan = engine.plan(answers("primary"), root=root, live=False,
                           host=load_host(HOST))
    cluster = next(s for s in the_plan.steps if s.name == "cluster")
    assert "demo-Ipmi-Secret-17" not in json.dumps(cluster.as_dict())
    assert "demo-Ipmi-Secret-17" not in "\n".join(the_plan.lines())
    assert ("cibadmin", "--modify", "--scope", "resources", "--xml-pipe") in the_plan.commands


def test_old_authkey_without_a_stored_code_is_kept(tmp_path: Path) -> None:
    root = seed_root(tmp_path / "root", "debian12")
    key = host_file(root, AUTHKEY)
    key.parent.mkdir(parents=True)
    key.write_bytes(b"k" * 256)
    report = live_apply(root, answers("primary"), RecordingRunner())
    assert key.read_bytes() == b"k" * 256
    assert not [s for s in report.shown_once if s.startswith("Join code")]
    assert any("predates the stored join code" in w for w in report.warnings)


@pytest.mark.parametrize("name", ["primary", "secondary"])
def test_code_never_in_journal_saved_answers_or_log(tmp_path: Path, name: str) -> None:
    root = seed_root(tmp_path / "root", "debian12")
    proc = apply_cli(EXAMPLES / f"{name}.toml", root)
    assert proc.returncode == 0, proc.stderr
    code = (host_file(root, JOIN_CODE_FILE).read_text().strip() if name == "primary"
            else JOIN_CODE_SECONDARY)
    key = host_file(root, AUTHKEY).read_bytes()
    for path in (paths.JOURNAL, paths.ANSWERS, paths.LOG, paths.REPORT):
        data = host_file(root, path).read_bytes()
        assert code.encode() not in data and code.replace("-", "").encode() not in data, path
        assert key[:16] not in data and key.hex()[:32].encode() not in data, path


def test_debian_sample_cluster_is_stopped_and_its_cib_dropped_once(tmp_path: Path) -> None:
    root = with_cluster_software(seed_root(tmp_path / "root", "debian12"))
    conf = host_file(root, "/etc/corosync/corosync.conf")
    conf.parent.mkdir(parents=True)
    conf.write_text("totem {\n    cluster_name: debian\n}\n")  # the package's sample
    runner = RecordingRunner()
    assert live_apply(root, answers("standalone"), runner).ok
    stop = ("systemctl", "stop", "pacemaker.service", "corosync.service")
    wipe = ("find", "/var/lib/pacemaker/cib", "-mindepth", "1", "-type", "f", "-delete")
    assert runner.calls.index(stop) < runner.calls.index(wipe) < runner.calls.index(
        ("systemctl", "enable", "--now", "corosync.service"))
    # Our files in place: a rerun neither stops the cluster nor touches its CIB.
    rerun = RecordingRunner(answers={("cibadmin", "--query"): LIVE_CIB})
    assert live_apply(root, answers("standalone"), rerun).ok
    assert stop not in rerun.calls and wipe not in rerun.calls


def test_secondary_that_never_sees_the_primary_says_what_to_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from firstboot.steps import cluster

    monkeypatch.setattr(cluster._sees_peer, "__defaults__", (0.0,))  # no 30 s wait
    root = with_cluster_software(seed_root(tmp_path / "root", "debian12"))
    alone = Result(("corosync-cmapctl",), 0, "runtime.members.2.status (str) = joined\n", "")
    report = live_apply(root, answers("secondary"), RecordingRunner(
        answers={("corosync-cmapctl",): alone}))
    assert report.ok  # the files are right; the operator is told what to check
    assert any("does not see expand1 yet: check the join code" in w for w in report.warnings)
