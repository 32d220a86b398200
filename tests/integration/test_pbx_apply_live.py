"""``pbx apply`` on a box whose real Asterisk 22 runs: an overlay of the unstable root.

Each test mounts an overlayfs (lower: the cached root, read-only; upper: a temporary folder;
the cached root itself is never written) and, where the test needs a running box, starts
Asterisk in it as a box does (``asterisk -U asterisk -G asterisk``, its default
/etc/asterisk) through ``chroot_prefix``. Then ``expandctl pbx apply SITE --root OVERLAY
--in-root OVERLAY`` runs as a process. SIP binds a free loopback port (``--bind``); the
box's packaged AMI is switched off and its other listeners noloaded, so nothing listens
beyond loopback. Asterisk is stopped by PID and the overlay unmounted in a finally.

A call in progress during an apply is real sipp (pbx.sipp): a UAS registered as 551 answers
and streams audio (RTP, PCMU), a UAC calls 551 as 772 with its SDP port on a socket of the
test that counts the RTP packets Asterisk relays; the apply runs while they talk.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from appliance.wait import poll
from lab.asterisk_box import AsteriskBox, overlay_box
from pbx import sipp
from tests.integration.asterisk_support import asterisk_root
from tests.integration.test_pbx_render_asterisk import free_port
from tests.support import heavy_lock

REPO = Path(__file__).resolve().parents[2]
ACME = REPO / "examples" / "site" / "acme.toml"
RELEASES = "var/lib/expand/pbx/releases"
SECRETS = "var/lib/expand/pbx/secrets.json"
HOLD_S = 45  # the call lasts this long: the proof and the reloads fit in it


def sites(folder: Path) -> dict[str, Path]:
    """ACME without its E1 trunk (routes over the SIP trunk), the same with one queue member
    and one extension more, and ACME itself (the E1 trunk: a DAHDI change)."""
    text = ACME.read_text()
    no_e1 = re.sub(r"\[e1-trunks\.pstn\]\n(?:[^\[\n].*\n|\n)*?(?=\[)", "",
                   text.replace('trunk = "pstn"', 'trunk = "gsm"'))
    changed = no_e1.replace('members = ["550", "551"]', 'members = ["550", "551", "770"]', 1)
    changed = changed.replace("[extensions.772]", '[extensions.773]\nuser = "lgianoni"\n'
                              'department = "ventas"\n\n[extensions.772]')
    out = {"base": no_e1, "changed": changed, "e1": text}
    paths = {}
    for name, body in out.items():
        paths[name] = folder / f"{name}.toml"
        paths[name].write_text(body)
    return paths


@dataclass
class Box:
    asterisk: AsteriskBox
    sites: dict[str, Path]
    bind: str

    @property
    def root(self) -> Path:
        return self.asterisk.root

    def cli(self, command: str) -> str:
        return self.asterisk.cli(command)

    def start(self) -> None:
        self.asterisk.start()

    def stop(self) -> None:
        self.asterisk.stop()

    def apply(self, site: str, *extra: str) -> tuple[int, dict[str, Any], str]:
        done = subprocess.run(
            [sys.executable, "-m", "appliance.cli", "pbx", "apply", str(self.sites[site]),
             "--root", str(self.root), "--in-root", str(self.root), "--bind", self.bind,
             "--json", *extra], capture_output=True, text=True, timeout=300, cwd=REPO,
            check=False)
        data = json.loads(done.stdout) if done.stdout.strip() else {}
        return done.returncode, data, done.stderr

    def live(self) -> str | None:
        link = self.root / "etc/asterisk"
        return os.readlink(link).rsplit("/", 1)[-1] if link.is_symlink() else None

    def releases(self) -> list[str]:
        folder = self.root / RELEASES
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


@pytest.fixture
def overlay(tmp_path: Path) -> Iterator[Box]:
    lower = asterisk_root()
    with heavy_lock(), overlay_box(lower, tmp_path / "box") as asterisk:
        yield Box(asterisk, sites(tmp_path), f"127.0.0.1:{free_port()}")


@pytest.fixture
def box(overlay: Box) -> Box:
    overlay.start()
    return overlay


def _endpoints(box: Box) -> int:
    found = re.search(r"Objects found:\s*(\d+)", box.cli("pjsip show endpoints"))
    return int(found.group(1)) if found else -1


def test_apply_goes_live_and_a_rerun_changes_nothing(box: Box) -> None:
    code, report, err = box.apply("base")
    assert code == 0, (report, err)
    assert report["status"] == "applied", report
    assert report["problems"] == []
    assert report["counts"]["endpoints"] == 7  # six extensions and the SIP trunk
    assert set(report["counts"]["queues"]) == {"recl", "prov"}
    assert _endpoints(box) == 7  # read here apart from pbx apply's own check
    live = box.live()
    assert live is not None and live == report["release"]
    assert len(box.releases()) == 2  # the box's own /etc/asterisk (0001) and ours
    assert (box.root / RELEASES / box.releases()[0] / "asterisk.conf").is_file()
    assert "proof: throwaway Asterisk: ok" in err and "flip:" in err
    secrets = box.root / SECRETS
    assert secrets.stat().st_mode & 0o777 == 0o600
    assert secrets.parent.stat().st_mode & 0o777 == 0o711  # traversable, not listable
    assert "/audio/moh/default/silence" in box.cli("moh show files")  # its user reads it
    for value in json.loads(secrets.read_text())["sip"].values():
        assert value not in err and value not in json.dumps(report)
    stamp = (box.root / RELEASES / live).stat().st_mtime_ns

    code, again, err = box.apply("base")
    assert (code, again["status"], again["reloads"]) == (0, "unchanged", [])
    assert box.live() == live and len(box.releases()) == 2
    assert (box.root / RELEASES / live).stat().st_mtime_ns == stamp
    assert "reload:" not in err


def test_a_changed_site_reloads_only_its_modules(box: Box) -> None:
    assert box.apply("base")[0] == 0
    code, report, err = box.apply("changed")
    assert code == 0, (report, err)
    reloads = set(report["reloads"])
    assert {"module reload res_pjsip.so", "module reload app_queue.so",
            "dialplan reload"} <= reloads
    assert not reloads & {"module reload res_musiconhold.so", "module reload res_fax.so",
                          "logger reload", "module reload res_pjsip_notify.so"}
    assert _endpoints(box) == 8
    assert "PJSIP/770" in box.cli("queue show recl")
    assert sorted(report["counts"]["queues"]["recl"]["members"]) == [
        "PJSIP/550", "PJSIP/551", "PJSIP/770"]  # rrmemory lists them from its last pick


def _sip_answers(box: Box, bind: str) -> bool:
    """One OPTIONS to ``bind`` as extension 550, answered 200 after the challenge."""
    secret = json.loads((box.root / SECRETS).read_text())["sip"]["550"]
    host, port = bind.rsplit(":", 1)
    return sipp.run("options", (host, int(port)), params={"answer_ms": 2000},
                    credentials=sipp.Credentials("550", secret), deadline=5).ok


def test_a_new_bind_is_heard_after_the_reload(box: Box) -> None:
    """A new virtual IP (here a new loopback port) reaches the running Asterisk by the
    res_pjsip reload alone: the transport is reloadable, no restart, the same process."""
    assert box.apply("base")[0] == 0
    assert _sip_answers(box, box.bind)
    pid = box.asterisk.process.pid if box.asterisk.process else None
    moved = f"127.0.0.1:{free_port()}"
    code, report, err = box.apply("base", "--bind", moved)
    assert (code, report["status"]) == (0, "applied"), (report, err)
    assert "module reload res_pjsip.so" in report["reloads"]
    assert _sip_answers(box, moved)
    assert not _sip_answers(box, box.bind)  # the old address is let go
    assert box.asterisk.process is not None and box.asterisk.process.pid == pid
    assert box.asterisk.process.alive()


def test_a_release_the_throwaway_rejects_leaves_the_box_untouched(box: Box) -> None:
    assert box.apply("base")[0] == 0
    live = box.live()
    # A site the model accepts (its audio folder is not on this host to check) whose music
    # on hold the box lacks: Asterisk rejects musiconhold.conf.
    moh = box.root / "var/lib/expand/pbx/audio/moh/default"
    (moh / "silence.wav").unlink()
    moh.rmdir()
    code, report, err = box.apply("changed")
    assert code == 1, (report, err)
    assert report["status"] == "rejected"
    assert "throwaway Asterisk rejected it" in report["reason"]
    assert any(p.startswith("musiconhold.conf") for p in report["problems"]), report
    assert box.live() == live and len(box.releases()) == 2
    assert _endpoints(box) == 7 and "PJSIP/770" not in box.cli("queue show recl")


def test_a_dahdi_change_is_staged_as_restart_required(box: Box) -> None:
    assert box.apply("base")[0] == 0
    live = box.live()
    code, report, err = box.apply("e1")
    assert code == 3, (report, err)
    assert report["status"] == "restart-required"
    assert any(r.startswith("/etc/dahdi/system.conf") for r in report["restart_required"])
    assert any(r.startswith("chan_dahdi.conf") for r in report["restart_required"])
    assert box.live() == live and report["reloads"] == []
    assert not (box.root / "etc/dahdi/system.conf").exists()
    staged = report["release"]
    assert staged in box.releases()
    pending = json.loads((box.root / "var/lib/expand/pbx/pending.json").read_text())
    assert pending["release"] == staged
    again = box.apply("e1")
    assert again[0] == 3 and again[1]["release"] == staged and len(box.releases()) == 3
    status = subprocess.run(
        [sys.executable, "-m", "appliance.cli", "pbx", "status", "--root", str(box.root),
         "--in-root", str(box.root), "--json"], capture_output=True, text=True, timeout=120,
        cwd=REPO, check=True)
    data = json.loads(status.stdout)
    assert data["release"] == live and data["asterisk"] == "running"
    assert data["pending_restart"]["release"] == staged
    assert data["counts"]["endpoints"] == data["expected"]["endpoints"] == 7
    assert data["differences"] == []


def test_without_a_running_asterisk_the_release_goes_live_on_disk(overlay: Box) -> None:
    code, report, err = overlay.apply("e1")
    assert code == 0, (report, err)
    assert report["status"] == "on-disk" and report["reloads"] == []
    assert overlay.live() == report["release"]
    assert (overlay.root / "etc/dahdi/system.conf").is_file()
    assert "no Asterisk runs here" in report["reason"]


@dataclass
class Call:
    """A call in progress: its two sipp processes and when each RTP packet reached the
    caller (monotonic seconds)."""

    uac: sipp.Sipp
    uas: sipp.Sipp
    arrivals: list[float] = field(default_factory=list)

    def packets_since(self, moment: float) -> int:
        return sum(1 for t in list(self.arrivals) if t > moment)

    def longest_gap(self, start: float, end: float) -> float:
        seen = [t for t in list(self.arrivals) if start <= t <= end]
        return max((b - a for a, b in zip([start, *seen], [*seen, end], strict=True)),
                   default=end - start)


def _count_rtp(sock: socket.socket, arrivals: list[float], stop: threading.Event) -> None:
    sock.settimeout(0.2)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            sock.recv(2048)
            arrivals.append(time.monotonic())


@contextlib.contextmanager
def call_in_progress(box: Box, folder: Path) -> Iterator[Call]:
    """772 calls 551 (a sipp UAS that answers and streams audio) on the box; yields once
    the caller hears it; the call ends with the caller's BYE after ``HOLD_S``."""
    secrets = json.loads((box.root / SECRETS).read_text())["sip"]
    host, port = box.bind.rsplit(":", 1)
    target = (host, int(port))
    uas_port = sipp.free_udp_port()
    registered = sipp.run("register", target, params={"expires": 600}, local_port=uas_port,
                          credentials=sipp.Credentials("551", secrets["551"]), deadline=15)
    assert registered.ok, registered.summary()
    audio = folder / "tone.ulaw"
    audio.write_bytes(bytes(range(256)) * 64)  # any PCMU bytes: 2 s, looped
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind(("127.0.0.1", sipp.free_udp_port()))
    stop = threading.Event()
    arrivals: list[float] = []
    counter = threading.Thread(target=_count_rtp, args=(rtp, arrivals, stop), daemon=True)
    counter.start()
    try:
        with sipp.running("uas", None, params={"ring_ms": 200,
                                                "media_step": sipp.stream_step(audio)},
                          local_port=uas_port, calls=0, deadline=HOLD_S + 60) as uas:
            # calls=0: Asterisk's qualify OPTIONS would count as sipp's one call otherwise.
            assert sipp.listening(uas, uas_port)
            params = {"lead_ms": 0, "hold_ms": HOLD_S * 1000, "dtmf_step": "",
                      "sdp_port": rtp.getsockname()[1]}
            with sipp.running("uac", target, params=params, service="551",
                              credentials=sipp.Credentials("772", secrets["772"]),
                              deadline=HOLD_S + 30) as uac:
                call = Call(uac, uas, arrivals)
                heard, _ = poll(lambda: call.packets_since(0) > 25, bool, timeout=20,
                                interval=0.2)
                assert heard, ("no audio reached the caller", uac.counts(), uas.counts())
                yield call
    finally:
        stop.set()
        counter.join(timeout=5)
        rtp.close()


def _talking_through(box: Box, call: Call, started: float, applied: float) -> None:
    """The call outlived the apply: audio after it, no silence across it, both sipp
    processes count it successful (the caller's BYE came after the apply)."""
    assert call.packets_since(applied + 1) > 50, "no audio after the apply"
    assert call.longest_gap(started, applied) < 2, "the audio stopped during the apply"
    assert call.uac.proc.poll() is None, "the call ended before the apply did"
    caller, callee = call.uac.wait(), call.uas.stop()
    assert caller.ok, (caller.summary(), caller.errors)
    assert callee.successful == 1 and callee.failed == 0, (callee.summary(), callee.errors)


def test_a_call_survives_the_apply_of_a_changed_site(box: Box, tmp_path: Path) -> None:
    assert box.apply("base")[0] == 0
    with call_in_progress(box, tmp_path) as call:
        started = time.monotonic()
        code, report, err = box.apply("changed")
        applied = time.monotonic()
        assert code == 0, (report, err)
        assert {"module reload res_pjsip.so", "module reload app_queue.so",
                "dialplan reload"} <= set(report["reloads"])
        assert applied - started < HOLD_S - 5, "the apply outlasted the call"
        time.sleep(3)  # audio after the reloads
        _talking_through(box, call, started, applied)
    assert _endpoints(box) == 8


def test_a_rejected_site_during_a_call_leaves_call_and_config(box: Box,
                                                               tmp_path: Path) -> None:
    assert box.apply("base")[0] == 0
    live = box.live()
    moh = box.root / "var/lib/expand/pbx/audio/moh/default"
    with call_in_progress(box, tmp_path) as call:
        (moh / "silence.wav").unlink()
        moh.rmdir()  # the throwaway rejects musiconhold.conf (as above)
        started = time.monotonic()
        code, report, err = box.apply("changed")
        applied = time.monotonic()
        assert (code, report.get("status")) == (1, "rejected"), (report, err)
        assert not report.get("reloads"), report
        time.sleep(3)
        _talking_through(box, call, started, applied)
    assert box.live() == live and len(box.releases()) == 2
    assert _endpoints(box) == 7 and "PJSIP/770" not in box.cli("queue show recl")
