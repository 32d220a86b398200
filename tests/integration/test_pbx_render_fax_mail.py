"""The rendered fax mailer (expand-fax-to-mail) against an SMTP sink on loopback: the mail
goes to the department's address with the fax attached, through fax.relay; a bad call is
exit 2 with one line naming the argument, an unreachable relay exit 1, the TIFF kept.

The PDF case converts a real G3 fax page (made here with tiffcp) with the real tiff2pdf
(libtiff-tools, in the Makefile's host packages); test_pbx_fax runs the same mailer behind a
real ReceiveFAX and postfix.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import os
import re
import socket
import socketserver
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from pbx.model import Site
from pbx.render import render
from pbx.secrets_store import complete
from pbx.site import load_site
from tests.support import require_tools

REPO = Path(__file__).resolve().parents[2]
ACME = REPO / "examples" / "site" / "acme.toml"
TIFF = b"II*\x00" + b"\x00" * 60  # a TIFF header: the mailer sends it as it is
WIDTH, ROWS = 1728, 1100  # one A4 page at standard fax resolution (204 x 98 dpi)


def bilevel_tiff(path: Path) -> None:
    """An uncompressed bilevel TIFF: 1728 px wide, 204 x 98 dpi, black bars (WhiteIsZero)."""
    row_bytes = WIDTH // 8
    rows = bytearray()
    for y in range(ROWS):
        dark = (y // 40) % 3 == 0
        rows += (b"\xff\x00" * (row_bytes // 2)) if dark else bytes(row_bytes)
    entries = [(256, 3, 1, WIDTH), (257, 3, 1, ROWS), (258, 3, 1, 1), (259, 3, 1, 1),
               (262, 3, 1, 0), (273, 4, 1, 0), (277, 3, 1, 1), (278, 3, 1, ROWS),
               (279, 4, 1, len(rows)), (282, 5, 1, 0), (283, 5, 1, 0), (296, 3, 1, 2)]
    ifd_at = 8
    extra_at = ifd_at + 2 + 12 * len(entries) + 4
    data_at = extra_at + 16
    values = {273: data_at, 282: extra_at, 283: extra_at + 8}
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        value = values.get(tag, value)
        packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    ifd += struct.pack("<I", 0)
    extra = struct.pack("<IIII", 204, 1, 98, 1)
    path.write_bytes(b"II*\x00" + struct.pack("<I", ifd_at) + ifd + extra + bytes(rows))


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


def g3_fax(tmp_path: Path) -> Path:
    """A real one-page G3 fax TIFF, as ReceiveFAX writes them."""
    require_tools("tiffcp", "tiff2pdf")
    page, fax = tmp_path / "page.tif", tmp_path / "fax.tif"
    bilevel_tiff(page)
    subprocess.run(["tiffcp", "-c", "g3", "-r", str(ROWS), str(page), str(fax)], check=True,
                   timeout=60)
    return fax


def test_pdf_is_tiff2pdfs_one_page(tmp_path: Path, sink: Sink) -> None:
    script = mailer(tmp_path, f"127.0.0.1:{sink.server_address[1]}", "pdf")
    fax = g3_fax(tmp_path)
    proc = run(script, "callcenter", str(fax), "", "1")
    assert proc.returncode == 0, proc.stderr
    (_, rcpts, data), = sink.mails
    assert rcpts == ["callcenter@empresa.com"]
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert "desconocido" in str(msg["Subject"])  # no caller number
    attachment, = list(msg.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    pdf = attachment.get_content()
    assert pdf.startswith(b"%PDF-") and b"tiff2pdf" in pdf
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 1
    assert not fax.exists()


def test_a_tiff_that_tiff2pdf_refuses_is_not_mailed(tmp_path: Path, sink: Sink) -> None:
    script = mailer(tmp_path, f"127.0.0.1:{sink.server_address[1]}", "pdf")
    require_tools("tiff2pdf")
    fax = tmp_path / "fax.tif"
    fax.write_bytes(TIFF)  # a header and no image
    proc = run(script, "ventas", str(fax), "1", "1")
    assert proc.returncode == 1 and "fax not mailed" in proc.stderr
    assert sink.mails == [] and fax.exists()


def test_an_unreachable_relay_keeps_the_fax(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]  # nothing listens once the socket is closed
    script = mailer(tmp_path, f"127.0.0.1:{closed}", "tiff")
    fax = tmp_path / "fax.tif"
    fax.write_bytes(TIFF)
    proc = run(script, "ventas", str(fax), "1", "1")
    assert proc.returncode == 1 and "fax not mailed" in proc.stderr
    assert fax.exists()  # kept for another try


def _huge(path: Path) -> None:
    with path.open("wb") as fh:
        fh.write(TIFF)
        fh.truncate(65 << 20)  # sparse: 65 MB on paper, nothing on disk


BAD_TIFFS: dict[str, tuple[Callable[[Path], object], str]] = {
    "missing": (lambda p: None, "No such file"),
    "empty": (lambda p: p.write_bytes(b""), "not a TIFF"),
    "binary": (lambda p: p.write_bytes(bytes(range(256)) * 4), "not a TIFF"),
    "huge": (_huge, "over the 64 MB"),
    "directory": (lambda p: p.mkdir(), "Is a directory"),
}


@pytest.mark.parametrize("case", sorted(BAD_TIFFS))
def test_a_bad_tiff_is_named_and_nothing_is_sent(tmp_path: Path, sink: Sink,
                                                 case: str) -> None:
    script = mailer(tmp_path, f"127.0.0.1:{sink.server_address[1]}", "pdf")
    make, said = BAD_TIFFS[case]
    fax = tmp_path / "fax.tif"
    make(fax)
    proc = run(script, "ventas", str(fax), "1", "1")
    assert proc.returncode == 2 and f"TIFF {fax}" in proc.stderr and said in proc.stderr, \
        proc.stderr
    assert "Traceback" not in proc.stderr and sink.mails == []
    assert fax.exists() == (case != "missing")


@pytest.mark.parametrize(("args", "said"), [
    (("nowhere", "{fax}", "1", "1"), "DEPARTMENT 'nowhere'"),
    (("ventas", "{fax}", "1; rm -rf /", "1"), "CALLER"),
    (("ventas", "{fax}", "1", "x"), "PAGES 'x'"),
    (("ventas", "{fax}", "1"), "expected 4 arguments, got 3"),
    (("ventas", "{fax}", "1", "1", "extra"), "expected 4 arguments, got 5"),
])
def test_a_bad_argument_is_named_and_nothing_is_sent(tmp_path: Path, sink: Sink,
                                                     args: tuple[str, ...], said: str) -> None:
    script = mailer(tmp_path, f"127.0.0.1:{sink.server_address[1]}", "tiff")
    fax = tmp_path / "fax.tif"
    fax.write_bytes(TIFF)
    proc = run(script, *(a.format(fax=fax) for a in args))
    assert proc.returncode == 2 and said in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and sink.mails == [] and fax.exists()
