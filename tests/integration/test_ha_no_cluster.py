"""``expandctl ha ...`` where no pacemaker runs: one line that says so, exit 3, no traceback.

Each command runs as a real process in a network namespace of its own: pacemaker's IPC
(abstract unix sockets) is per network namespace, so whatever runs elsewhere on this
host, crm_mon there reaches no pacemaker, exactly as on a node where it is stopped."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.ha_support import EXPANDCTL, require_cluster_tools

PRIMARY_ANSWERS = Path(__file__).resolve().parents[2] / "examples" / "answers" / "primary.toml"
CONF = Path("/etc/corosync/corosync.conf")


def in_empty_netns(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["unshare", "--net", EXPANDCTL, *args], capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.mark.parametrize("args", [("ha", "status"), ("ha", "status", "--json"),
                                  ("ha", "check"), ("ha", "check", "--json"),
                                  ("ha", "switchover", "--timeout", "5"),
                                  ("ha", "standby", "expand2"),
                                  ("ha", "add-secondary", "--answers", str(PRIMARY_ANSWERS))])
def test_no_pacemaker_is_one_line_and_exit_3(args: tuple[str, ...]) -> None:
    require_cluster_tools()
    before = CONF.stat().st_mtime_ns if CONF.exists() else None
    proc = in_empty_netns(*args)
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    assert proc.stdout == ""  # no half status, no JSON of an empty cluster
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("expandctl: error: pacemaker is not running on this node "
                               "(crm_mon: Not connected")
    assert lines[0].endswith("start it with 'systemctl start pacemaker' or check "
                             "'expandctl firstboot status'")
    assert (CONF.stat().st_mtime_ns if CONF.exists() else None) == before  # nothing written
