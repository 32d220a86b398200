"""The rendered fax mailer (expand-fax-to-mail) against an SMTP sink on loopback: the mail
goes to the department's address with the fax attached, through fax.relay; a bad call is
exit 2, an unreachable relay exit 1 with the TIFF kept.

The PDF case runs a stand-in ``tiff2pdf`` (libtiff-tools is not on this test host) that
records its arguments, so the command shape is what is checked there; the TIFF case sends the
file itself.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import os
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from pbx.model import Site
from pbx.render import render
from pbx.secrets_store import complete
from pbx.site import load_site

REPO = Path(__file__).resolve().parents[2]
ACME = REPO / "examples" / "site" / "acme.toml"
TIFF = b"II*\x00" + b"\x00" * 60


class Sink(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SmtpHandler)
        self.mails: list[tuple[str, list[str], bytes]] = []


class SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO/HELO, MAIL, RCPT, DATA, QUIT."""

    def handle(self) -> None:
        server = self.server
        assert isinstance(server, Sink)
        self.wfile.write(b"220 sink\r\n")
        sender, rcpts = "", []
        while line := self.rfile.readline():
            cmd = line.decode().strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250 sink\r\n")
            elif verb == "MAIL":
                sender = cmd.split(":", 1)[1].strip(" <>")
                self.wfile.write(b"250 ok\r\n")
            elif verb == "RCPT":
                rcpts.append(cmd.split(":", 1)[1].strip(" <>"))
                self.wfile.write(b"250 ok\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 go\r\n")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                server.mails.append((sender, rcpts, data))
                self.wfile.write(b"250 queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def mailer(tmp_path: Path, relay: str, attach: str) -> Path:
    acme = load_site(ACME)
    site: Site = dataclasses.replace(acme, fax=dataclasses.replace(acme.fax, relay=relay,
                                                                   attach=attach))
    secrets, _ = complete(site, {})
    script = tmp_path / "expand-fax-to-mail"
    script.write_text(render(site, secrets)["/etc/asterisk/expand-fax-to-mail"].content)
    return script


def run(script: Path, *args: str, path: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{path}:{os.environ['PATH']}" if path else os.environ["PATH"]}
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          env=env, timeout=60, check=False)


def test_tiff_is_mailed_to_the_department(tmp_path: Path, sink: Sink) -> None:
    script = mailer(tmp_path, f"127.0.0.1:{sink.server_address[1]}", "tiff")
    fax = tmp_path / "fax.tif"
    fax.write_bytes(TIFF)
    proc = run(script, "administracion", str(fax), "+59829001234", "2")
    assert proc.returncode == 0, proc.stderr
    (sender, rcpts, data), = sink.mails
    assert rcpts == ["administracion@empresa.com"] and sender.startswith("fax@")
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert "+59829001234" in str(msg["Subject"]) and "Administración" in str(msg["Subject"])
    attachment, = list(msg.iter_attachments())
    assert attachment.get_content_type() == "image/tiff"
    assert attachment.get_content() == TIFF
    assert not fax.exists()  # mailed: the spool copy is removed


def test_pdf_goes_through_tiff2pdf(tmp_path: Path, sink: Sink) -> None:
    script = mailer(tmp_path, f"127.0.0.1:{sink.server_address[1]}", "pdf")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "tiff2pdf"
    stand_in.write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/args"\n'
                        'printf "%%PDF-1.4 stand-in" > "$2"\n')
    stand_in.chmod(0o755)
    fax = tmp_path / "fax.tif"
    fax.write_bytes(TIFF)
    proc = run(script, "callcenter", str(fax), "", "1", path=str(bin_dir))
    assert proc.returncode == 0, proc.stderr
    args = (bin_dir / "args").read_text().split()
    assert args[0] == "-o" and args[1].endswith("fax.pdf") and args[2] == str(fax)
    (_, rcpts, data), = sink.mails
    assert rcpts == ["callcenter@empresa.com"]
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    attachment, = list(msg.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF-1.4")


def test_bad_calls_and_an_unreachable_relay(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]  # nothing listens once the socket is closed
    script = mailer(tmp_path, f"127.0.0.1:{closed}", "tiff")
    fax = tmp_path / "fax.tif"
    fax.write_bytes(TIFF)
    assert run(script, "nowhere", str(fax), "1", "1").returncode == 2
    assert run(script, "ventas", str(tmp_path / "missing.tif"), "1", "1").returncode == 2
    proc = run(script, "ventas", str(fax), "1", "1")
    assert proc.returncode == 1 and "fax not mailed" in proc.stderr
    assert fax.exists()  # kept for another try
