"""Fax to mail end to end: a second Asterisk sends a generated G3 TIFF to the ACME IVR's fax
menu, and the mail with the PDF reaches an SMTP sink through the relay.

Two throwaway Asterisks (pbx.throwaway.booted) share one place: an overlay on the cached
unstable root (its writes land in this test's folder, never in the cache). The appliance one
runs the rendered ACME configuration, its SIP trunk matching loopback so the sender's call is
an inbound trunk call; the sender dials it (``channel originate``), picks the fax menu (3) and
Administración's fax (2) with RFC 4733 digits, then SendFAX. Plain G.711 (A-law) audio carries
the fax, not T.38: the rendered endpoints do not enable T.38 (the E1 side and most GSM gateways
carry fax as audio), and on loopback there is no loss or jitter for T.38 to save us from.

The fax mailer (a Python script) runs with the unstable root's own python3 (in
lab.asterisk_root.PACKAGES, as the appliance, Rocky 9, has its /usr/bin/python3). The relay
is a real postfix (postfix_relay: the node root's, main.cf from the first-boot postfix step)
whose smarthost is the SMTP sink of test_pbx_render_fax_mail.
"""

from __future__ import annotations

import contextlib
import dataclasses
import email
import email.policy
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from appliance.answers import Smtp, load_answers
from appliance.runner import Runner
from appliance.wait import poll
from firstboot.steps.postfix import edit_main_cf, settings
from lab.rootfs import CACHE, rootfs_dir
from pbx.audio import write_quiet
from pbx.chroot import chroot_prefix
from pbx.render import render, write
from pbx.secrets_store import complete
from pbx.site import load_site
from pbx.throwaway import AsteriskPlace, Instance, booted
from tests.integration.asterisk_support import asterisk_root
from tests.integration.test_pbx_render_fax_mail import ROWS, WIDTH, Sink, bilevel_tiff
from tests.support import heavy_lock

REPO = Path(__file__).resolve().parents[2]
ACME = REPO / "examples" / "site" / "acme.toml"
CALLER = "59829001234"


@contextlib.contextmanager
def overlay(lower: Path, work: Path) -> Iterator[Path]:
    """``lower`` (a cached root, never written) under an overlay whose upper layer is in
    ``work``; unmounted on every path."""
    upper, scratch, merged = work / "upper", work / "scratch", work / "merged"
    for d in (upper, scratch, merged):
        d.mkdir(parents=True)
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={lower},upperdir={upper},workdir={scratch}", str(merged)],
                   check=True, timeout=30)
    try:
        yield merged
    finally:
        subprocess.run(["umount", "-l", str(merged)], check=False, timeout=30)


@contextlib.contextmanager
def postfix_relay(work: Path, smarthost: tuple[str, int]) -> Iterator[tuple[str, int]]:
    """A real postfix (the bookworm node root's, in an overlay, chrooted) as the appliance's
    relay: main.cf as the first-boot postfix step writes it with ``smarthost`` as the
    customer's smarthost, its smtpd on a free loopback port. Yields that address; stopped by
    the master's PID afterwards."""
    lower = rootfs_dir("bookworm", CACHE, "ha")
    if not (lower / "usr/sbin/postfix").is_file():
        pytest.fail(f"{lower}: no postfix in the node root (lab.rootfs builds it)")
    answers = load_answers(REPO / "examples/answers/standalone.toml")
    answers = dataclasses.replace(answers, smtp=Smtp(smarthost[0], smarthost[1], "", ""))
    port = free_port()
    runner = Runner()
    with overlay(lower, work) as merged:
        main_cf = merged / "etc/postfix/main.cf"
        main_cf.write_text(edit_main_cf(main_cf.read_text(), settings(answers)))
        prefix = chroot_prefix(merged)
        # Listen on the free port, not 25; no chroot of postfix's own (its jail lacks
        # resolv.conf and friends in a bare root).
        for change in ("-MX smtp/inet", f"-M {port}/inet={port} inet n - n - - smtpd",
                       "-F */*/chroot=n"):
            flag, value = change.split(" ", 1)
            runner.run([*prefix, "postconf", flag, value], timeout=30)
        runner.run([*prefix, "postconf", "-e", "maillog_file=/var/log/postfix.log"],
                   timeout=30)
        pidfile = merged / "var/spool/postfix/pid/master.pid"
        try:
            runner.run([*prefix, "postfix", "start"], timeout=60)
            listening, _ = poll(lambda: _accepts(port), bool, timeout=30)
            assert listening, (merged / "var/log/postfix.log").read_text(errors="replace")
            yield "127.0.0.1", port
        finally:
            runner.run([*prefix, "postfix", "stop"], check=False, timeout=60)
            with contextlib.suppress(OSError, ValueError):
                pid = int(pidfile.read_text().split()[0])
                gone, _ = poll(lambda: not Path(f"/proc/{pid}").exists(), bool, timeout=15)
                if not gone:
                    os.kill(pid, signal.SIGKILL)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])




class Manager:
    """The appliance's AMI: every event kept, as a dict, from login on."""

    def __init__(self, address: tuple[str, int], user: str, secret: str) -> None:
        self.sock = socket.create_connection(address, timeout=10)
        self.sock.settimeout(None)
        self.events: list[dict[str, str]] = []
        self.sock.sendall(f"Action: Login\r\nUsername: {user}\r\nSecret: {secret}\r\n\r\n"
                          .encode())
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        buffer = b""
        with contextlib.suppress(OSError):
            while chunk := self.sock.recv(65536):
                buffer += chunk
                while b"\r\n\r\n" in buffer:
                    block, buffer = buffer.split(b"\r\n\r\n", 1)
                    fields = dict(line.split(": ", 1) for line in
                                  block.decode(errors="replace").split("\r\n") if ": " in line)
                    self.events.append(fields)

    def user_events(self, name: str) -> list[dict[str, str]]:
        return [e for e in list(self.events)
                if e.get("Event") == "UserEvent" and e.get("UserEvent") == name]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(timeout=5)


@dataclasses.dataclass
class Pbx:
    place: AsteriskPlace
    appliance: Instance
    sender: Instance
    manager: Manager
    sink: Sink
    fax: str  # the TIFF the sender sends, as Asterisk sees it
    relay: tuple[str, int]  # the postfix the appliance's mailer sends to

    def send(self, extension: str, endpoint: str = "appliance") -> None:
        result = self.sender.cli(f"channel originate PJSIP/{CALLER}@{endpoint} "
                                 f"extension {extension}@fax-send")
        assert result.returncode == 0, result.stderr

    def log(self) -> str:
        try:
            return self.appliance.path("log/proof.json").read_text(errors="replace")
        except OSError:
            return ""

    def spool(self) -> list[str]:
        spool = self.appliance.path("spool/fax")
        return sorted(p.name for p in spool.iterdir()) if spool.is_dir() else []


def appliance_config(out: Path, relay: str, ami_secret: str, audio: Path) -> None:
    acme = load_site(ACME)
    trunks = tuple(dataclasses.replace(t, match=("127.0.0.1",)) for t in acme.sip_trunks)
    site = dataclasses.replace(acme, sip_trunks=trunks,
                               fax=dataclasses.replace(acme.fax, relay=relay))
    secrets_, _ = complete(site, {})
    root = out / "root"
    write(render(site, secrets_, bind="127.0.0.1:5060"), root)
    etc = root / "etc/asterisk"
    (etc / "manager.conf").write_text(
        "[general]\nenabled = yes\nport = 5038\nbindaddr = 127.0.0.1\n\n"
        f"[faxtest]\nsecret = {ami_secret}\nread = all\nwrite = system\n")
    audio.mkdir(parents=True)
    for name in [*re.findall(r"prompt\s*=\s*\"(\w+)\"", ACME.read_text()), "msjMenuFAX"]:
        write_quiet(audio / f"{name}.wav")
    shutil.move(str(etc), out / "asterisk")


def sender_config(out: Path, appliance: tuple[str, int], fax: str, modules: str) -> None:
    out.mkdir()
    host, port = appliance
    (out / "modules.conf").write_text(modules)
    (out / "pjsip.conf").write_text(
        "[transport-udp]\ntype = transport\nprotocol = udp\nbind = 127.0.0.1:5060\n\n"
        f"[appliance]\ntype = aor\ncontact = sip:{host}:{port}\n\n"
        "[appliance]\ntype = endpoint\ntransport = transport-udp\ncontext = fax-send\n"
        "disallow = all\nallow = alaw\ndtmf_mode = rfc4733\ndirect_media = no\n"
        f"aors = appliance\nfrom_user = {CALLER}\n\n"
        # No From user of its own: the appliance sees "asterisk", no number (withheld).
        "[withheld]\ntype = endpoint\ntransport = transport-udp\ncontext = fax-send\n"
        "disallow = all\nallow = alaw\ndtmf_mode = rfc4733\ndirect_media = no\n"
        "aors = appliance\n")
    reach = "Wait(2)\n same => n,SendDTMF(3)\n same => n,Wait(2)\n same => n,SendDTMF(2)\n"
    (out / "extensions.conf").write_text(
        "[fax-send]\n"
        f"exten => send,1,{reach} same => n,Wait(1)\n same => n,SendFAX({fax})\n"
        " same => n,Hangup()\n"
        f"exten => hangup,1,{reach} same => n,Wait(3)\n same => n,Hangup()\n")
    (out / "res_fax.conf").write_text("[general]\nmaxrate = 14400\nminrate = 2400\n")


@pytest.fixture(scope="module")
def pbx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pbx]:
    root = asterisk_root()
    work = tmp_path_factory.mktemp("fax")
    ami_secret = secrets.token_hex(12)
    server = Sink()
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    runner = Runner()
    try:
        with (heavy_lock(),
              postfix_relay(work / "postfix", ("127.0.0.1", server.server_address[1])) as relay,
              overlay(root, work / "asterisk") as merged):
            place = AsteriskPlace(chroot_prefix(merged), merged)
            page = merged / "tmp/expand-fax-test"
            page.mkdir()
            bilevel_tiff(page / "page.tif")
            runner.run([*place.prefix, "tiffcp", "-c", "g3", "-r", str(ROWS),
                        "/tmp/expand-fax-test/page.tif", "/tmp/expand-fax-test/fax.tif"],
                       timeout=60)
            asterisk_ids = (merged / "etc/passwd").read_text().split("\nasterisk:", 1)[1]
            uid, gid = (int(x) for x in asterisk_ids.split(":")[1:3])
            os.chown(page / "fax.tif", uid, gid)
            audio = merged / load_site(ACME).site.audio_dir.lstrip("/")
            appliance_config(work / "appliance", f"{relay[0]}:{relay[1]}", ami_secret, audio)
            # The mailer where the rendered dialplan calls it (EXPAND_ETC = /etc/asterisk).
            mailer = merged / "etc/asterisk/expand-fax-to-mail"
            shutil.copy2(work / "appliance/asterisk/expand-fax-to-mail", mailer)
            mailer.chmod(0o755)
            with booted(work / "appliance/asterisk", place=place) as appliance:
                sender_config(work / "sender", appliance.address("pjsip", "transport-udp"),
                              "/tmp/expand-fax-test/fax.tif",
                              (work / "appliance/asterisk/modules.conf").read_text())
                with booted(work / "sender", place=place) as sender:
                    manager = Manager(appliance.address("manager"), "faxtest", ami_secret)
                    try:
                        yield Pbx(place, appliance, sender, manager, server,
                                  "/tmp/expand-fax-test/fax.tif", relay)
                    finally:
                        manager.close()
    finally:
        server.shutdown()
        server.server_close()
        serving.join(timeout=5)


def test_generated_fax_is_a_real_g3_page(pbx: Pbx) -> None:
    info = Runner().run([*pbx.place.prefix, "tiffinfo", pbx.fax], timeout=30).stdout
    assert "CCITT Group 3" in info and f"Image Width: {WIDTH}" in info, info
    assert "Resolution: 204, 98 pixels/inch" in info, info
    assert "Bits/Sample: 1" in info, info


def test_fax_reaches_the_departments_mailbox_as_a_pdf(pbx: Pbx) -> None:
    pbx.send("send")
    mailed, events = poll(lambda: pbx.manager.user_events("ExpandFaxMail"), bool, timeout=90)
    assert mailed, f"no ExpandFaxMail event; fax events: {pbx.manager.user_events('ExpandFax')}"
    assert events[0]["status"] == "SUCCESS", pbx.log()[-3000:]
    final = [e for e in pbx.manager.user_events("ExpandFax") if "status" in e]
    assert final and final[0]["status"] == "SUCCESS" and final[0]["department"] == \
        "administracion" and final[0]["pages"] == "1", final
    # The mailer's event says postfix took the mail; postfix relays it on its own time.
    delivered, mails = poll(lambda: list(pbx.sink.mails), bool, timeout=60)
    assert delivered, "postfix did not relay the fax mail to the sink in 60 s"
    (_sender, rcpts, data), = mails
    assert rcpts == ["administracion@empresa.com"]
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert CALLER in str(msg["Subject"]) and "(1 página)" in str(msg["Subject"])
    # Through the relay: postfix took it on the port the mailer was rendered with.
    received = " ".join(str(r) for r in msg.get_all("Received") or [])
    assert "(Postfix)" in received, received
    attachment, = list(msg.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    pdf = attachment.get_content()
    assert pdf.startswith(b"%PDF-") and b"tiff2pdf" in pdf
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 1
    assert "for administracion mailed (1 pages)" in pbx.log()
    assert pbx.spool() == []  # mailed: nothing left


def test_a_fax_the_sender_abandons_mails_nothing_and_is_logged(pbx: Pbx) -> None:
    before = len(pbx.sink.mails)
    done_before = len([e for e in pbx.manager.user_events("ExpandFax") if "status" in e])
    pbx.send("hangup")
    ended, _ = poll(lambda: len([e for e in pbx.manager.user_events("ExpandFax")
                                 if "status" in e]) > done_before, bool, timeout=60)
    assert ended
    last = [e for e in pbx.manager.user_events("ExpandFax") if "status" in e][-1]
    assert last["status"] == "FAILED" and last["department"] == "administracion"
    logged, _ = poll(lambda: "for administracion not received: FAILED" in pbx.log(), bool,
                     timeout=10)
    assert logged, pbx.log()[-3000:]
    assert len(pbx.sink.mails) == before
    assert pbx.spool() == []


def test_a_fax_from_a_withheld_number_is_mailed_too(pbx: Pbx) -> None:
    before = len(pbx.sink.mails)
    mails_before = len(pbx.manager.user_events("ExpandFaxMail"))
    pbx.send("send", endpoint="withheld")
    mailed, events = poll(lambda: pbx.manager.user_events("ExpandFaxMail")[mails_before:],
                          bool, timeout=90)
    assert mailed and events[0]["status"] == "SUCCESS", pbx.log()[-3000:]
    relayed, _ = poll(lambda: len(pbx.sink.mails) == before + 1, bool, timeout=60)
    assert relayed, f"{len(pbx.sink.mails) - before} mails relayed, not 1"
    msg = email.message_from_bytes(pbx.sink.mails[-1][2], policy=email.policy.default)
    assert "FAX de desconocido (1 página)" in str(msg["Subject"])
    assert pbx.spool() == []
