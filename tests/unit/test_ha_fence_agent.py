"""The lab fence agent's protocol, against a stand-in power switch on a real unix socket."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.fence_agent import (
    EXIT_FAIL,
    EXIT_OFF,
    EXIT_OK,
    SOCKET_NAME,
    options_from,
    parse_stdin,
    run_action,
)

AGENT = Path(__file__).resolve().parents[2] / "lab" / "fence_expand_lab"


class PowerSwitch:
    """Answers like the lab supervisor; remembers each node's power and every request."""

    def __init__(self, state_dir: Path) -> None:
        self.power = {"expand1": "on", "expand2": "on"}
        self.requests: list[str] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(state_dir / SOCKET_NAME))
        self.sock.listen(4)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                verb, node = conn.makefile().readline().split()
                self.requests.append(f"{verb} {node}")
                if verb == "status":
                    answer = self.power[node]
                else:
                    self.power[node] = "on" if verb == "fence-on" else verb
                    answer = "ok"
                conn.sendall(answer.encode() + b"\n")


@pytest.fixture
def switch(tmp_path: Path) -> Iterator[PowerSwitch]:
    sw = PowerSwitch(tmp_path)
    yield sw
    sw.sock.close()


def test_stdin_options_as_pacemaker_sends_them() -> None:
    opts = parse_stdin("# comment\naction=off\nplug=expand2\n\nnodename=expand2\n")
    assert opts == {"action": "off", "plug": "expand2", "nodename": "expand2"}
    assert options_from(["-o", "status", "-n", "expand1"], "")["plug"] == "expand1"


def test_metadata_is_valid_xml_with_the_actions() -> None:
    code, text = run_action({"action": "metadata"})
    assert code == EXIT_OK
    root = ET.fromstring(text.encode())
    actions = {a.get("name") for a in root.iter("action")}
    assert {"on", "off", "reboot", "status", "monitor", "metadata"} <= actions


def test_off_status_on(switch: PowerSwitch, tmp_path: Path) -> None:
    base = {"state_dir": str(tmp_path), "plug": "expand2"}
    assert run_action({**base, "action": "off"})[0] == EXIT_OK
    assert run_action({**base, "action": "status"})[0] == EXIT_OFF
    assert run_action({**base, "action": "on"})[0] == EXIT_OK
    assert run_action({**base, "action": "status"})[0] == EXIT_OK
    assert run_action({**base, "action": "monitor"})[0] == EXIT_OK


def test_reboot_power_cycles_a_running_node_but_leaves_a_dead_one_off(
        switch: PowerSwitch, tmp_path: Path) -> None:
    base = {"state_dir": str(tmp_path), "action": "reboot"}
    assert run_action({**base, "port": "expand1"})[0] == EXIT_OK
    assert switch.power["expand1"] == "on"
    assert switch.requests == ["status expand1", "off expand1", "fence-on expand1"]
    switch.power["expand2"] = "off"
    assert run_action({**base, "plug": "expand2"})[0] == EXIT_OK
    assert switch.power["expand2"] == "off"


def test_failures_are_reported(tmp_path: Path) -> None:
    assert run_action({"state_dir": str(tmp_path), "action": "monitor"})[0] == EXIT_FAIL
    assert run_action({"state_dir": str(tmp_path), "action": "off"})[0] == EXIT_FAIL
    code, message = run_action({"state_dir": str(tmp_path), "action": "off", "plug": "x"})
    assert code == EXIT_FAIL and "unreachable" in message


def test_the_installed_script_speaks_stdin(switch: PowerSwitch, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(AGENT)], input=f"action=off\nplug=expand1\n"
                          f"state_dir={tmp_path}\n", capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert switch.power["expand1"] == "off"
