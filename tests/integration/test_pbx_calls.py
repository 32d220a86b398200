"""Calls with sipp against the rendered ACME site on a real Asterisk 22 (throwaway, booted
once for the module): registration, the IVR and its prompt, RFC 2833 digits to a queue, an
extension and the fax menu, an unknown extension, the timeout path, the queue's round robin
and the PIN route out through a trunk.

The path a call took is read from AMI (a manager.conf with a generated secret is added to
the copy): the dialplan sends ``UserEvent(Expand...)`` at every decision, ``Newexten`` says
which prompt played, ``AgentConnect`` which queue member answered. Phones are sipp
processes on loopback (pbx.sipp): UACs that call as extension 772 or 601, UASes registered
as 550/551/770 that answer, and a UAS standing in for the carrier behind trunk ``gsm``
(moved to loopback in the test's copy of the site). The IVR is entered through two
test-only numbers appended to the copy's dialplan (5001 at a weekday 10:00, 5002 at 20:00:
TESTTIME), so the schedule does not depend on when the test runs; schedule routing itself
is test_pbx_render_asterisk.py's.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import socket
import threading
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pbx import ami, call_lab, sipp
from pbx.throwaway import Instance
from tests.integration.asterisk_support import asterisk_place

ACME = Path(__file__).resolve().parents[2] / "examples" / "site" / "acme.toml"
TZ = "America/Montevideo"
PIN = "4826"
DAY, NIGHT = "5001", "5002"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Pbx:
    lab: call_lab.CallLab
    carrier_port: int

    @property
    def instance(self) -> Instance:
        return self.lab.instance

    @property
    def events(self) -> ami.Ami:
        return self.lab.events

    @property
    def sip(self) -> tuple[str, int]:
        return self.lab.sip

    def register(self, extension: str, secret: str | None = None, *, port: int = 0,
                 expires: int = 600) -> sipp.SippResult:
        who = sipp.Credentials(extension,
                               self.lab.secrets[extension] if secret is None else secret)
        return sipp.run("register", self.sip, params={"expires": expires}, credentials=who,
                        local_port=port, deadline=15)

    def call(self, number: str, digits: str = "", *, caller: str = "772", lead_ms: int = 1500,
             hold_ms: int = 4000, sdp_port: str = "[media_port]") -> sipp.SippResult:
        return self.lab.call(number, digits, caller=caller, lead_ms=lead_ms, hold_ms=hold_ms,
                             sdp_port=sdp_port)

    def mark(self) -> int:
        return len(self.events.snapshot())

    def since(self, mark: int) -> list[ami.Event]:
        return self.events.snapshot()[mark:]

    @contextlib.contextmanager
    def answering(self, extension: str, ring_ms: int = 300) -> Iterator[sipp.Sipp]:
        """A sipp UAS registered as ``extension`` (its binding removed afterwards)."""
        port = free_port()
        assert self.register(extension, port=port).ok
        try:
            with sipp.running("uas", None, params={"ring_ms": ring_ms}, local_port=port,
                              calls=0, deadline=120) as uas:
                assert sipp.listening(uas, port)
                yield uas
        finally:
            self.register(extension, port=port, expires=0)


def user_events(events: list[ami.Event], name: str) -> list[dict[str, str]]:
    return [{k.lower(): v for k, v in e.items()} for e in events
            if e.get("Event") == "UserEvent" and e.get("UserEvent") == name]


def played(events: list[ami.Event], prompt: str) -> bool:
    return any(e.get("Event") == "Newexten"
               and e.get("Application", "").lower() in ("playback", "background")
               and e.get("AppData", "").endswith(f"/{prompt}") for e in events)


def carrier_on_loopback(port: int) -> Callable[[Path], None]:
    """The carrier is a sipp UAS on loopback (a site may not name a loopback host); the
    trunk's inbound identify must not catch the phones' address."""
    def edit(etc: Path) -> None:
        pjsip = (etc / "pjsip.conf").read_text()
        (etc / "pjsip.conf").write_text(
            pjsip.replace("sip:198.51.100.20:5060", f"sip:127.0.0.1:{port}")
            .replace("match = 198.51.100.20", "match = 127.0.0.2"))
    return edit


@pytest.fixture(scope="module")
def pbx() -> Iterator[Pbx]:
    data = tomllib.loads(ACME.read_text())
    data["pins"]["adiaz"]["pin"] = PIN
    data["routes"]["international"]["trunk"] = "gsm"
    carrier_port = free_port()
    numbers = {DAY: "2026/12/02 10:00:00", NIGHT: "2026/12/02 20:00:00"}  # a Wednesday
    with (asterisk_place() as place,
          call_lab.booted_site(place, data, dialplan=call_lab.testtime_numbers(numbers, "acme", TZ),
                            edit=carrier_on_loopback(carrier_port)) as lab):
        yield Pbx(lab, carrier_port)


class RtpSink:
    """A UDP socket counting the RTP packets that reach it (the SDP's audio port)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.port = int(self.sock.getsockname()[1])
        self.packets = 0
        self.payload_types: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._count, daemon=True)
        self._thread.start()

    def _count(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(2048)
            except TimeoutError:
                continue
            if len(data) >= 12 and data[0] >> 6 == 2:
                self.packets += 1
                self.payload_types.add(data[1] & 0x7F)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


def test_an_extension_registers_with_its_secret_and_not_a_wrong_one(pbx: Pbx) -> None:
    wrong = pbx.register("551", "not-the-secret", expires=60)
    assert not wrong.ok and wrong.failed == 1 and wrong.successful == 0, wrong.summary()
    assert "551/sip:551@127.0.0.1" not in pbx.instance.cli("pjsip show contacts").stdout
    right = pbx.register("551", expires=60)
    assert right.ok, (right.summary(), right.errors)
    assert "551/sip:551@127.0.0.1" in pbx.instance.cli("pjsip show contacts").stdout
    assert pbx.register("551", expires=0).ok


def test_the_ivr_answers_plays_its_prompt_and_a_silent_caller_takes_the_timeout(
        pbx: Pbx) -> None:
    sink = RtpSink()
    mark = pbx.mark()
    try:
        result = pbx.call(NIGHT, hold_ms=9000, sdp_port=str(sink.port))
    finally:
        sink.close()
    assert result.ok, (result.summary(), result.errors)
    assert sink.packets > 50 and sink.payload_types & {0, 8}, (sink.packets,
                                                              sink.payload_types)
    events = pbx.since(mark)
    assert user_events(events, "ExpandIvr")[0]["ivr"] == "acme"
    assert user_events(events, "ExpandSchedule")[0]["value"] == "Nocturno"
    assert [e["menu"] for e in user_events(events, "ExpandMenu")] == ["nocturno"]
    assert played(events, "msjBienvenidaNocturno")
    timeout = user_events(events, "ExpandIvrTimeout")
    assert [(e["menu"], e["target"]) for e in timeout] == [("nocturno", "voicemail:550")]
    assert played(events, "msjDejeMsj")


def test_a_digit_selects_the_queue(pbx: Pbx) -> None:
    mark = pbx.mark()
    assert pbx.call(DAY, "1", hold_ms=2500).ok
    events = pbx.since(mark)
    assert user_events(events, "ExpandSchedule")[0]["value"] == "Matutino"
    choice = user_events(events, "ExpandIvrChoice")
    assert [(e["menu"], e["digits"], e["target"]) for e in choice] == [
        ("diurno", "1", "queue:recl")]
    assert [e["queue"] for e in user_events(events, "ExpandQueueEnter")] == ["recl"]
    assert played(events, "msjEntradaCola")


def test_dial_by_extension_reaches_the_registered_phone(pbx: Pbx) -> None:
    with pbx.answering("770") as phone:
        mark = pbx.mark()
        assert pbx.call(DAY, "770", hold_ms=4000).ok
        answered = phone.stop()
    events = pbx.since(mark)
    choice = user_events(events, "ExpandIvrChoice")
    assert [(e["digits"], e["target"]) for e in choice] == [("770", "extension")]
    assert answered.successful == 1, answered.summary()


def test_a_digit_selects_the_fax_menu(pbx: Pbx) -> None:
    mark = pbx.mark()
    assert pbx.call(DAY, "3", hold_ms=2500).ok
    events = pbx.since(mark)
    choice = user_events(events, "ExpandIvrChoice")
    assert [(e["digits"], e["target"]) for e in choice] == [("3", "menu:fax")]
    assert [e["menu"] for e in user_events(events, "ExpandMenu")] == ["diurno", "fax"]
    assert played(events, "msjMenuFAX")


def test_an_unknown_extension_gets_msjInternoInvalido(pbx: Pbx) -> None:
    mark = pbx.mark()
    assert pbx.call(DAY, "599", hold_ms=3000).ok
    events = pbx.since(mark)
    invalid = user_events(events, "ExpandExtensionInvalid")
    assert [(e["menu"], e["digits"]) for e in invalid] == [("diurno", "599")]
    assert played(events, "msjInternoInvalido")
    assert user_events(events, "ExpandDialResult") == []


def test_queue_calls_reach_the_members_in_round_robin(pbx: Pbx) -> None:
    with pbx.answering("550") as first, pbx.answering("551") as second:
        mark = pbx.mark()
        for _ in range(4):
            assert pbx.call(DAY, "1", hold_ms=4500).ok
        first.stop()
        second.stop()
    connects = [e for e in pbx.since(mark) if e.get("Event") == "AgentConnect"]
    members = [re.sub(r"^PJSIP/", "", e.get("Interface", e.get("MemberName", "")))
               for e in connects]
    assert len(members) == 4, members
    assert set(members) == {"550", "551"}
    assert all(a != b for a, b in itertools.pairwise(members)), members


def test_an_international_call_needs_the_pin(pbx: Pbx) -> None:
    with sipp.running("uas", None, params={"ring_ms": 100}, local_port=pbx.carrier_port,
                      calls=0, deadline=60) as carrier:
        assert sipp.listening(carrier, pbx.carrier_port)
        mark = pbx.mark()
        assert pbx.call("0059899123456", "0000#", caller="601", lead_ms=2000,
                        hold_ms=2000).ok
        refused = pbx.events.wait_for(ami.user_event("ExpandPinRefused"), timeout=10)
        assert carrier.counts().get("IncomingCall(C)", "0") == "0"
        assert pbx.call("0059899123457", f"{PIN}#", caller="601", lead_ms=2000,
                        hold_ms=3000).ok
        outgoing = carrier.stop()
    events = pbx.since(mark)
    route = user_events(events, "ExpandRoute")
    assert [(e["route"], e["pin"]) for e in route] == [("international", "yes")] * 2
    assert len(refused) == 1
    assert [e["route"] for e in user_events(events, "ExpandPinAccepted")] == ["international"]
    assert outgoing.successful == 1, outgoing.summary()
