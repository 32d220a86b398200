"""pbx.sipp and pbx.ami without a network: scenarios filled, statistics read, secrets kept
out of reprs, AMI messages parsed from a socket pair."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from appliance.errors import ExpandError
from pbx import ami, sipp

PARAMS = {"expires": 60, "ring_ms": 100, "lead_ms": 500, "hold_ms": 2000,
          "sdp_port": "[media_port]", "dtmf_step": sipp.dtmf_steps("1 770"), "answer_ms": 2000}


@pytest.mark.parametrize("name", ["register", "uac", "uas", "options"])
def test_every_scenario_fills_and_parses_as_xml(name: str) -> None:
    text = sipp.scenario_text(name, PARAMS)
    assert "${" not in text
    ET.fromstring(text.split("?>", 1)[1])


def test_the_call_sends_each_digit_group_after_a_pause() -> None:
    root = ET.fromstring(sipp.scenario_text("uac", PARAMS).split("?>", 1)[1])
    digits = [e.get("play_dtmf") for e in root.iter("exec")]
    assert digits == ["1", "770"]
    assert sipp.dtmf_steps("") == ""


def test_no_secret_in_a_scenario_or_a_repr() -> None:
    for name in ("register", "uac", "options"):
        text = sipp.scenario_text(name, PARAMS)
        assert "[field1]" in text and "password" not in text.split("-->", 1)[1]
    assert "s3cret" not in repr(sipp.Credentials("550", "s3cret"))


def test_the_answering_side_streams_audio_only_when_asked(tmp_path: Path) -> None:
    plain = ET.fromstring(sipp.scenario_text("uas", PARAMS).split("?>", 1)[1])
    assert [e.get("rtp_stream") for e in plain.iter("exec")] == []
    streaming = sipp.scenario_text("uas", {**PARAMS,
                                           "media_step": sipp.stream_step(tmp_path / "a.ulaw")})
    root = ET.fromstring(streaming.split("?>", 1)[1])
    assert [e.get("rtp_stream") for e in root.iter("exec")] == [f"{tmp_path}/a.ulaw,-1,0"]


def test_unknown_scenario_and_missing_value_are_one_clear_error() -> None:
    with pytest.raises(ExpandError, match=r"no such scenario.*known: options, register"):
        sipp.scenario_text("nope", {})
    with pytest.raises(ExpandError, match=r"'uas': no value for \$\{ring_ms\}"):
        sipp.scenario_text("uas", {})


def test_statistics_last_line_is_read(tmp_path: Path) -> None:
    stats = tmp_path / "stats.csv"
    stats.write_text("StartTime;TotalCallCreated;SuccessfulCall(C);FailedCall(C);"
                     "CallRate(C);\n1;1;0;0;0.5;\n2;20;18;2;19.5;\n")
    assert sipp._last_stats(stats)["SuccessfulCall(C)"] == "18"
    assert sipp._int(sipp._last_stats(stats), "FailedCall(C)") == 2
    assert sipp._float(sipp._last_stats(stats), "CallRate(C)") == 19.5


@pytest.mark.parametrize("content", [b"", b"\0\xff\xfe" * 100, b"only;a;header\n"])
def test_bad_statistics_read_as_nothing(tmp_path: Path, content: bytes) -> None:
    stats = tmp_path / "stats.csv"
    stats.write_bytes(content)
    assert sipp._int(sipp._last_stats(stats), "SuccessfulCall(C)") == 0
    assert sipp._last_stats(tmp_path / "missing.csv") == {}
    assert sipp._last_stats(tmp_path) == {}  # a directory


def test_a_result_is_ok_only_with_all_calls_successful() -> None:
    good = sipp.SippResult("uac", 0, 3, 0, 3, 1.0, 3.0, ())
    assert good.ok and "3 successful, 0 failed" in good.summary()
    assert not sipp.SippResult("uac", 1, 2, 1, 3, 1.0, 3.0, ()).ok
    killed = sipp.SippResult("uas", None, 0, 0, 0, 0.0, 9.0, ())
    assert not killed.ok and "killed at the deadline" in killed.summary()


def test_manager_conf_keeps_ami_on_loopback() -> None:
    text = ami.manager_conf("tester", "pw")
    assert "bindaddr = 127.0.0.1" in text and "permit = 127.0.0.1/" in text


def test_ami_messages_and_user_events_are_parsed() -> None:
    left, right = socket.socketpair()
    with left, right:
        client = ami.Ami(left)
        right.sendall(b"Event: UserEvent\r\nUserEvent: ExpandMenu\r\nmenu: diurno\r\n\r\n"
                      b"Event: Newexten\r\nAppData: a: b\r\n\r\n")
        right.close()
        client._read_forever()
    events = client.snapshot()
    assert events[1]["AppData"] == "a: b"
    assert client.snapshot(ami.user_event("ExpandMenu", menu="diurno")) == [events[0]]
    assert client.snapshot(ami.user_event("ExpandMenu", menu="fax")) == []
    with pytest.raises(ExpandError, match=r"0 of 1 awaited events.*seen: ExpandMenu"):
        client.wait_for(ami.user_event("ExpandFax"), timeout=0.2)

