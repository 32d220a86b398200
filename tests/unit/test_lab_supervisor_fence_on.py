"""The lab power switch's fence power-on: an appliance node boots after its "firmware"
delay, and any later power request for that node supersedes the pending boot."""

from __future__ import annotations

import threading
import time

import pytest

from lab import supervisor
from lab.supervisor import Supervisor


class Switch(Supervisor):
    """The supervisor's request handling, with power recorded instead of nodes booted."""

    def __init__(self, appliance: bool = True) -> None:  # no lab dir, no nodes booted
        self.nodes = {"expand1": None, "expand2": None}  # type: ignore[dict-item]
        self.appliance = appliance
        self.lock = threading.Lock()
        self.pending = {}
        self.power: dict[str, str] = {}
        self.boots: list[str] = []

    def power_on(self, name: str) -> None:
        self.power[name] = "on"
        self.boots.append(name)

    def power_off(self, name: str) -> None:
        self.power[name] = "off"

    def request(self, line: str) -> str:
        with self.lock:
            return self.handle(line)


@pytest.fixture(autouse=True)
def short_firmware(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervisor, "FIRMWARE_S", 0.2)


def test_fence_on_boots_an_appliance_node_later() -> None:
    switch = Switch()
    assert switch.request("fence-on expand1") == "ok"
    assert switch.boots == []  # answered at once, the node still in its "firmware"
    time.sleep(0.5)
    assert switch.boots == ["expand1"]


def test_a_namespace_node_boots_at_once() -> None:
    switch = Switch(appliance=False)
    switch.request("fence-on expand1")
    assert switch.boots == ["expand1"]


@pytest.mark.parametrize("later", ["off expand1", "on expand1"])
def test_a_later_request_supersedes_the_pending_boot(later: str) -> None:
    switch = Switch()
    switch.request("fence-on expand1")
    switch.request(later)
    time.sleep(0.5)
    # A node killed again (or revived by hand) must not come back from the old fence.
    assert switch.boots == (["expand1"] if later.startswith("on") else [])
    assert switch.pending == {}
