"""The throwaway proof's pure parts: rebinding a copy's listeners (line numbers kept),
reading Asterisk's CLI answers, judging its JSON log lines, and counts against the model."""

from __future__ import annotations

import json
from pathlib import Path

from appliance.runner import Result
from pbx.asterisk_conf import rebind, resolved, sections, set_general
from pbx.asterisk_counts import Expect, Queue, count_problems, parse_endpoints, parse_queues
from pbx.asterisk_log import OurFiles, log_messages
from pbx.listeners import _address, exposed

PJSIP = """\
[t-udp](!)
type = transport
bind = 0.0.0.0:5060 ; the LAN
[udp](t-udp)
protocol = udp
[tcp]
type=transport
protocol=tcp
bind=0.0.0.0:5061
[550]
type = endpoint
bind = not-a-transport-key
"""


def test_rebind_moves_transports_and_keeps_line_numbers() -> None:
    out = rebind(PJSIP, lambda s, by: resolved(s, by, "type") == "transport",
                 frozenset({"bind"}), lambda s: {"bind": f"127.0.0.1:{len(s.name)}"})
    lines = out.splitlines()
    original = PJSIP.splitlines()
    # Same lines where they were, binds of transports (template included) commented out.
    assert lines[:len(original)] == [
        ";" + line if line.startswith("bind") and index < 9 else line
        for index, line in enumerate(original)]
    assert lines[len(original):] == ["", "[udp](+)", "bind=127.0.0.1:3",
                                     "", "[tcp](+)", "bind=127.0.0.1:3"]
    assert "bind = not-a-transport-key" in lines  # an endpoint's key is not touched


def test_sections_read_templates_and_comments() -> None:
    found = sections(PJSIP.splitlines())
    assert [(s.name, s.template, s.parents) for s in found] == [
        ("t-udp", True, ()), ("udp", False, ("t-udp",)), ("tcp", False, ()),
        ("550", False, ())]
    assert found[0].keys["bind"] == "0.0.0.0:5060"


def test_set_general_adds_or_merges() -> None:
    assert set_general("[admin]\nsecret=x\n", {"port": "1"}) == \
        "[admin]\nsecret=x\n\n[general]\nport=1\n"
    merged = set_general("[general]\nenabled = yes\nport = 5038\n", {"port": "1"})
    assert merged == "[general]\nenabled = yes\n;port = 5038\n\n[general](+)\nport=1\n"


def test_cli_answers() -> None:
    assert parse_endpoints(Result((), 0, "...\nObjects found: 6\n", "")) == 6
    assert parse_endpoints(Result((), 0, "No objects found.\n", "")) == 0
    shown = (
        "recl has 0 calls (max unlimited) in 'rrmemory' strategy (0s holdtime, 0s talktime),"
        " W:0, C:0, A:0, SL:0.0%, SL2:0.0% within 0s\n"
        "   Members: \n"
        "      PJSIP/550 (ringinuse enabled) (Unavailable) has taken no calls yet\n"
        "      Ana Diaz (PJSIP/551 from PJSIP/551) (ringinuse enabled) (Unavailable) has\n"
        "   No Callers\n\n"
        "prov has 0 calls (max unlimited) in 'ringall' strategy (0s holdtime, 0s talktime)\n"
        "   No Members\n   No Callers\n")
    assert parse_queues(shown) == {"recl": Queue("rrmemory", ("PJSIP/550", "PJSIP/551")),
                              "prov": Queue("ringall", ())}


def _log(tmp_path: Path, *entries: tuple[str, str, str, int]) -> Path:
    path = tmp_path / "proof.json"
    path.write_text("".join(json.dumps({
        "hostname": "h", "timestamp": "t", "identifiers": {"lwp": lwp, "callid": ""},
        "logmsg": {"location": {"filename": source, "function": "f", "line": 1},
                   "level": level, "message": message}}) + "\n"
        for level, source, message, lwp in entries) + "not json\n")
    return path


def test_log_lines_about_our_files_and_the_rest(tmp_path: Path) -> None:
    path = _log(
        tmp_path,
        ("WARNING", "pbx_config.c", "Invalid priority/label 'x' at line 8 of extensions.conf", 1),
        ("ERROR", "config_options.c", "Could not find option suitable for category '550' "
                                      "named 'nope' at line 18 of", 2),
        ("ERROR", "res_sorcery_config.c", "Unable to load config file 'geolocation.conf'", 3),
        ("ERROR", "res_sorcery_config.c", "Could not create an object of type 'aor' with id "
                                          "'550' from configuration file 'pjsip.conf'", 2),
        ("ERROR", "loader.c", "app_queue declined to load.", 4),
        ("ERROR", "loader.c", "res_pjsip_notify declined to load.", 4),
        ("ERROR", "res_pjsip/config_transport.c", "Transport 'x' failed to bind", 5),
        ("ERROR", "loader.c", "*** Failed to load module res_nope.so - Required", 4),
        ("ERROR", "loader.c", "Error loading module 'res_nope_not.so': missing", 4),
        ("NOTICE", "pbx_config.c", "not a problem", 1),
    )
    ours, others = log_messages(path, OurFiles(
        frozenset({"extensions.conf", "pjsip.conf", "queues.conf", "modules.conf"}),
        frozenset({"res_nope"})))
    assert ours == [
        "extensions.conf:8: WARNING: Invalid priority/label 'x' at line 8 of extensions.conf",
        "pjsip.conf:18: ERROR: Could not find option suitable for category '550' named "
        "'nope' at line 18 of",
        "pjsip.conf: ERROR: Could not create an object of type 'aor' with id '550' from "
        "configuration file 'pjsip.conf'",
        "queues.conf: ERROR: app_queue declined to load.",
        "pjsip.conf: ERROR: Transport 'x' failed to bind",
        "modules.conf: ERROR: *** Failed to load module res_nope.so - Required",
    ]
    assert others == [
        "res_sorcery_config.c: ERROR: Unable to load config file 'geolocation.conf'",
        "loader.c: ERROR: res_pjsip_notify declined to load.",
        "loader.c: ERROR: Error loading module 'res_nope_not.so': missing",
    ]


def test_counts_against_the_model() -> None:
    loaded = {"recl": Queue("rrmemory", ("PJSIP/551", "PJSIP/550"))}
    assert count_problems(Expect(endpoints=2, contexts=2, queues={"recl": "rrmemory"},
                                  members={"recl": ["PJSIP/550", "PJSIP/551"]}),
                           2, ["a", "b"], loaded) == []
    assert count_problems(Expect(), 0, [], {}) == []
    assert count_problems(Expect(queues={}), 0, [], loaded) == \
        ["queue recl: loaded, not expected"]


def test_listeners() -> None:
    assert _address("0100007F:1F90") == "127.0.0.1:8080"
    assert _address("00000000000000000000000001000000:13C4") == "[::1]:5060"
    assert not exposed("udp 127.0.0.1:5060")
    assert not exposed("tcp6 [::1]:5038")
    assert exposed("udp 0.0.0.0:5060")
    assert exposed("tcp 0.0.0.0:40000")  # a TCP listener is a service whatever its port
    assert not exposed("udp 0.0.0.0:40000")  # res_pjsip's own kernel-chosen sockets
