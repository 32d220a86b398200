"""Pure tests of reading the cluster: crm_mon XML, corosync tool output, CIB checks.
The data files were captured from the namespace lab (real pacemaker 2.1 / corosync 3.1)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from appliance.errors import ExpandError
from appliance.runner import RecordingRunner, Result
from ha.checks import check_cib, check_links, check_quorum, gateway_check_targets, parse_links
from ha.status import CRM_MON as CRM_MON_ARGV
from ha.status import (
    EXIT_NO_PACEMAKER,
    EXIT_NOT_MEMBER,
    ClusterUnavailable,
    NotAMember,
    parse_crm_mon,
    read_status,
)

DATA = Path(__file__).parent / "ha_data"
CRM_MON = (DATA / "crm_mon_two_nodes.xml").read_text()
CFGTOOL = (DATA / "cfgtool_connected.txt").read_text()
QUORUM = (DATA / "quorumtool_two_node.txt").read_text()
# Captured on this host, where pacemaker is installed but not running (crm_mon exit 102).
NOT_RUNNING = (DATA / "crm_mon_not_running.xml").read_text()


def runner(crm_mon: str, local: str = "expand1", stderr: str = "") -> RecordingRunner:
    return RecordingRunner(answers={("crm_mon",): Result((), 102, crm_mon, stderr),
                                    ("crm_node", "-n"): Result((), 0, local + "\n", "")})


def test_two_node_status_from_real_crm_mon() -> None:
    status = parse_crm_mon(CRM_MON)
    assert status.online() == ("expand1", "expand2")
    assert status.dc == "expand2" and status.quorate and status.stonith_enabled
    assert status.vip_holder == "expand2"
    assert status.warnings == ()
    assert status.last_fence == {"target": "expand1", "action": "reboot",
                                 "delegate": "expand2", "status": "success",
                                 "completed": "2026-11-25 19:06:52Z"}
    data = status.as_dict()
    assert data["active_node"] == "expand2" and data["fencing"] == "on"
    assert data["storage"].startswith("none")


def test_fencing_disabled_is_warned() -> None:
    status = parse_crm_mon(CRM_MON.replace('stonith-enabled="true"', 'stonith-enabled="false"'))
    assert not status.stonith_enabled
    assert any("fencing is DISABLED" in w for w in status.warnings)


def test_node_states_offline_standby() -> None:
    text = CRM_MON.replace('name="expand1" id="1" online="true" standby="false"',
                           'name="expand1" id="1" online="false" standby="false"')
    text = text.replace('name="expand2" id="2" online="true" standby="false"',
                        'name="expand2" id="2" online="true" standby="true"')
    states = {n.name: n.state for n in parse_crm_mon(text).nodes}
    assert states == {"expand1": "offline", "expand2": "standby"}


def test_stopped_vip_has_no_holder_and_failures_warn() -> None:
    text = CRM_MON.replace('id="vip" resource_agent="ocf:heartbeat:IPaddr2" role="Started"',
                           'id="vip" resource_agent="ocf:heartbeat:IPaddr2" role="Stopped"')
    text = text.replace('id="pbx" resource_agent="ocf:expand:responder" role="Started" '
                        'active="true" orphaned="false" blocked="false" managed="true" '
                        'failed="false"',
                        'id="pbx" resource_agent="ocf:expand:responder" role="Started" '
                        'active="true" orphaned="false" blocked="false" managed="true" '
                        'failed="true"')
    status = parse_crm_mon(text)
    assert status.vip_holder is None
    assert any("pbx failed" in w for w in status.warnings)


def test_unreadable_crm_mon_is_a_clear_error() -> None:
    with pytest.raises(ExpandError, match="crm_mon"):
        parse_crm_mon("Error: cluster is not available on this node")


def test_links_from_real_cfgtool() -> None:
    assert parse_links(CFGTOOL) == {0: {"2": "connected"}, 1: {"2": "connected"}}
    assert all(c.ok for c in check_links(CFGTOOL))
    cut = CFGTOOL.replace("2:\tconnected", "2:\tdisconnected", 1)
    checks = {c.name: c for c in check_links(cut)}
    assert not checks["link 0 (interconnect)"].ok
    assert checks["link 1 (LAN)"].ok


def test_quorum_and_two_node_flags() -> None:
    assert all(c.ok for c in check_quorum(QUORUM))
    no_two_node = QUORUM.replace("2Node Quorate WaitForAll", "Quorate")
    assert [c.ok for c in check_quorum(no_two_node)] == [True, False]


CIB_OK = """<cib><configuration><crm_config><cluster_property_set id="p">
<nvpair id="a" name="stonith-enabled" value="true"/></cluster_property_set></crm_config>
<rsc_defaults><meta_attributes id="d"><nvpair id="s" name="resource-stickiness" value="200"/>
</meta_attributes></rsc_defaults><resources>
<primitive id="fence-expand1" class="stonith" type="fence_ipmilan"/></resources>
</configuration></cib>"""


def test_cib_checks() -> None:
    assert all(c.ok for c in check_cib(CIB_OK))
    bad = (CIB_OK.replace('value="true"', 'value="false"')
           .replace('value="200"', 'value="0"')
           .replace('<nvpair id="a"', '<nvpair id="q" name="no-quorum-policy" value="ignore"/>'
                                      '<nvpair id="a"'))
    assert [c.name for c in check_cib(bad) if not c.ok] == ["fencing", "no-quorum-policy",
                                                             "stickiness"]


def test_gateway_check_targets_come_from_the_heuristics_device() -> None:
    assert gateway_check_targets(CIB_OK) == []
    with_check = CIB_OK.replace(
        "</resources>", '<primitive id="g" class="stonith" type="fence_heuristics_ping">'
        '<instance_attributes id="i"><nvpair id="t" name="ping_targets" value="10.0.0.1"/>'
        "</instance_attributes></primitive></resources>")
    assert gateway_check_targets(with_check) == ["10.0.0.1"]


DRBD9_OK = """expand role:Primary
  disk:UpToDate
  expand2 role:Secondary
    peer-disk:UpToDate
"""
PROC_DRBD_84 = """version: 8.4.11 (api:1/proto:86-101)
 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----
    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0
"""


def test_drbd_check_both_formats() -> None:
    from ha.checks import check_drbd
    assert check_drbd(DRBD9_OK)[0].ok
    assert check_drbd(PROC_DRBD_84)[0].ok
    assert not check_drbd(DRBD9_OK.replace("peer-disk:UpToDate", "peer-disk:Outdated"))[0].ok
    assert not check_drbd(PROC_DRBD_84.replace("cs:Connected", "cs:WFConnection"))[0].ok
    assert not check_drbd("expand role:Secondary\n  disk:Inconsistent\n")[0].ok


def test_pacemaker_down_is_one_clear_error_not_an_empty_cluster() -> None:
    with pytest.raises(ClusterUnavailable) as caught:
        parse_crm_mon(NOT_RUNNING)
    message = str(caught.value)
    assert message == ("pacemaker is not running on this node (crm_mon: Not connected: "
                       "Connection to cluster failed: Connection refused); start it with "
                       "'systemctl start pacemaker' or check 'expandctl firstboot status'")
    assert "\n" not in message and caught.value.exit_code == EXIT_NO_PACEMAKER == 3
    with pytest.raises(ClusterUnavailable, match=r"not running.*no output"):
        read_status(runner(""))
    with pytest.raises(ClusterUnavailable, match="crm_mon: could not connect"):
        read_status(runner("", stderr="could not connect\nsecond line"))


def test_a_node_outside_the_cluster_says_so() -> None:
    assert read_status(runner(CRM_MON, "expand2")).vip_holder == "expand2"
    with pytest.raises(NotAMember, match=r"this node \(expand3\) is not a member of the "
                                         r"cluster \(its nodes: expand1, expand2\)") as caught:
        read_status(runner(CRM_MON, "expand3"))
    assert caught.value.exit_code == EXIT_NOT_MEMBER == 4
    pending = CRM_MON.replace('name="expand1" id="1" online="true"',
                              'name="expand1" id="1" online="false"')
    with pytest.raises(NotAMember, match=r"expand1\) is not a member of the cluster yet"):
        read_status(runner(pending, "expand1"))
    assert read_status(runner(pending, "expand1"), member=False).online() == ("expand2",)


def test_standby_node_still_speaks_for_the_cluster() -> None:
    text = CRM_MON.replace('name="expand1" id="1" online="true" standby="false"',
                           'name="expand1" id="1" online="true" standby="true"')
    assert read_status(runner(text, "expand1")).nodes[0].state == "standby"


UNSEALED_CONF = "quorum {\n    two_node: 1\n    wait_for_all: 0\n}\n"
SEALED_CONF = "quorum {\n    two_node: 1\n}\n"


def two_node_check(quorum: str, conf: str) -> tuple[bool, str]:
    check = {c.name: c for c in check_quorum(quorum, conf)}["two_node"]
    return check.ok, check.detail


def test_unsealed_primary_passes_alone_and_fails_once_both_joined() -> None:
    running = QUORUM.replace("2Node Quorate WaitForAll", "2Node Quorate")
    ok, detail = two_node_check(running, UNSEALED_CONF)
    assert not ok and "run 'expandctl ha seal'" in detail
    alone = running.split("    Nodeid")[0] + "    Nodeid      Votes Name\n" \
                                             "         1          1 expand1 (local)\n"
    ok, detail = two_node_check(alone, UNSEALED_CONF)
    assert ok and "until the secondary joins once" in detail
    # Sealed: corosync keeps its running flag until it restarts; the file counts.
    ok, detail = two_node_check(running, SEALED_CONF)
    assert ok and "next start" in detail
    assert not two_node_check(running, "")[0]  # no file that explains it: a real fault
    assert two_node_check(QUORUM, SEALED_CONF) == (True, "flags: 2Node Quorate WaitForAll")


@pytest.mark.parametrize("command", ["status", "check", "switchover", "standby",
                                     "unstandby", "add-secondary", "seal", "join-code"])
def test_every_ha_command_documents_its_exit_codes(command: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from appliance.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["ha", command, "--help"])
    text = capsys.readouterr().out
    assert "exit codes:\n  0  " in text and "  2  bad arguments" in text
    if command != "join-code":
        assert "  3  pacemaker is not running on this node" in text or command == "seal"


FORMING = re.sub(r"<nodes>.*?</nodes>", "<nodes/>", CRM_MON, flags=re.S).replace(
    '<current_dc present="true" version="2.1.5-a3f44794f94" name="expand2" id="2" '
    'with_quorum="true" mixed_version="false"/>', '<current_dc present="false"/>')


class Joining(RecordingRunner):
    """crm_mon answers "still forming" ``forming`` times, then the formed cluster."""

    def __init__(self, forming: int) -> None:
        super().__init__(answers={("crm_node", "-n"): Result((), 0, "expand1\n", "")})
        self.forming = forming

    def _execute(self, argv: tuple[str, ...], *rest: Any) -> Result:
        if argv[0] == "crm_mon":
            self.calls.append(argv)
            self.forming -= 1
            return Result(argv, 0, FORMING if self.forming >= 0 else CRM_MON, "")
        return super()._execute(argv, *rest)


def test_a_node_that_just_started_gets_settle_seconds_to_join() -> None:
    assert "<nodes/>" in FORMING and 'present="false"' in FORMING
    with pytest.raises(NotAMember, match=r"expand1\) is not a member of the cluster yet: no "
                                         r"designated controller"):
        read_status(Joining(forming=1))
    joined = Joining(forming=2)
    assert read_status(joined, settle=5).online() == ("expand1", "expand2")
    assert joined.calls.count(CRM_MON_ARGV) == 3
    with pytest.raises(NotAMember):
        read_status(Joining(forming=100), settle=0.6)
