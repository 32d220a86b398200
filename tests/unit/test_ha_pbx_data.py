"""Asterisk's data on the shared filesystem: the cluster step's script, run on a scratch
tree (the real run is before every start of asterisk.service, see ha.pbx_data)."""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
from pathlib import Path

import pytest

from ha.bootstrap import plan_bootstrap
from ha.cib import DATA_DIR
from ha.pbx_data import DROPIN_PATH, SCRIPT_PATH, SHARED, script_text, service_files
from tests.unit.test_ha_cib_service import example


def run(script: Path, root: Path) -> None:
    owner = f"{pwd.getpwuid(os.getuid()).pw_name}:{grp.getgrgid(os.getgid()).gr_name}"
    subprocess.run(["sh", str(script), str(root)], check=True,
                   env={**os.environ, "EXPAND_ASTERISK_OWNER": owner})


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "expand-asterisk-data"
    path.write_text(script_text())
    return path


def test_the_usual_paths_link_into_the_data_filesystem(tmp_path: Path, script: Path) -> None:
    root = tmp_path / "node"
    spool = root / "var/spool/asterisk"
    (spool / "voicemail/default/550").mkdir(parents=True)
    (spool / "voicemail/default/550/greet.wav").write_text("greeting")
    (root / "var/lib/asterisk").mkdir(parents=True)
    (root / "var/lib/asterisk/astdb.sqlite3").write_text("astdb")
    run(script, root)
    shared = root / DATA_DIR.lstrip("/") / "asterisk"
    assert os.readlink(spool) == f"{SHARED}/spool"
    assert os.readlink(root / "var/lib/asterisk/astdb.sqlite3") == \
        f"{SHARED}/astdb/astdb.sqlite3"
    assert (shared / "spool/voicemail/default/550/greet.wav").read_text() == "greeting"
    assert (shared / "astdb/astdb.sqlite3").read_text() == "astdb"
    run(script, root)  # every start: nothing moves twice
    assert (shared / "spool/voicemail/default/550/greet.wav").read_text() == "greeting"


def test_the_other_node_never_overwrites_what_the_shared_filesystem_holds(
        tmp_path: Path, script: Path) -> None:
    """The second node's first start: its package leftovers do not replace the first
    node's recordings or astdb."""
    first, second = tmp_path / "expand1", tmp_path / "expand2"
    for node, text in ((first, "recorded on expand1"), (second, "package sample")):
        (node / "var/spool/asterisk/monitor").mkdir(parents=True)
        (node / "var/spool/asterisk/monitor/call.wav").write_text(text)
        (node / "var/lib/asterisk").mkdir(parents=True)
        (node / "var/lib/asterisk/astdb.sqlite3").write_text(text)
    run(script, first)
    shared = second / DATA_DIR.lstrip("/") / "asterisk"
    # the filesystem moves: the second node sees what the first wrote
    (second / DATA_DIR.lstrip("/")).parent.mkdir(parents=True)
    (first / DATA_DIR.lstrip("/")).rename(second / DATA_DIR.lstrip("/"))
    run(script, second)
    assert (shared / "spool/monitor/call.wav").read_text() == "recorded on expand1"
    assert (shared / "astdb/astdb.sqlite3").read_text() == "recorded on expand1"
    assert (second / "var/spool/asterisk").is_symlink()


def test_the_cluster_step_writes_them_only_with_shared_storage() -> None:
    assert service_files("none") == ()
    assert [p for p, _t, _m in service_files("drbd")] == [SCRIPT_PATH, DROPIN_PATH]
    for name, wanted in (("primary", True), ("standalone", False)):
        answers = example(name)
        paths = {f.path for f in plan_bootstrap(answers, with_secondary=False,
                                                join_code=None,
                                                no_fencing=True).service_files}
        assert (SCRIPT_PATH in paths) is (answers.storage.mode != "none") is wanted, name
