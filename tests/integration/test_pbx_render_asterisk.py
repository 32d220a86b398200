"""The rendered ACME configuration on a real Asterisk 22 (Debian unstable root): it loads with
no warning about our files, shows the model's counts, and calls take the seed's paths.

Asterisk runs chrooted in the cached unstable root (``/var/cache/expand/rootfs/sid-asterisk``,
built by lab.asterisk_root / TESTBED.md "Asterisk") in a private mount namespace where a
temporary folder of this test is bound on the root's /tmp: its own configuration, spool, run
and log directories, SIP on a free loopback port, no AMI. Calls are Local channels: a caller
context sends RFC 2833-style DTMF frames (SendDTMF) into the IVR, and ``TESTTIME`` picks the
moment GotoIfTime sees. The path is read from the UserEvents in the verbose log. Asterisk is
stopped by ``core stop now`` and, if it lingers, killed by its PID.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from appliance.wait import poll
from pbx.audio import write_quiet
from pbx.render import expected, render, write
from pbx.secrets_store import complete
from pbx.site import parse_site
from tests.integration.asterisk_support import asterisk_root
from tests.support import heavy_lock

REPO = Path(__file__).resolve().parents[2]
ACME = REPO / "examples" / "site" / "acme.toml"
TZ = "America/Montevideo"
PIN = "424242"
# Private mounts: the test's folder on the root's /tmp, /proc and /dev, then chroot.
ENTER = ('mount --bind /proc "$0/proc" && mount --rbind /dev "$0/dev" '
         '&& mount --bind "$1" "$0/tmp" && shift && exec chroot "$0" "$@"')
PROMPTS = ("msjBienvenida", "msjBienvenidaNocturno", "msjDejeMsj", "msjOpcionInvalida",
           "msjEntradaCola", "msjSalidaCola", "msjMenuFAX", "msjInternoNC",
           "msjInternoOpcionNC", "msjInternoInvalido", "msjInternoOcupado",
           "msjInternoOpcionOcupado")
SCHEDULE = [("2026/12/02 08:59:00", "Nocturno"), ("2026/12/02 09:00:00", "Matutino"),
            ("2026/12/02 11:59:00", "Matutino"), ("2026/12/02 12:00:00", "Vespertino"),
            ("2026/12/02 17:59:00", "Vespertino"), ("2026/12/02 18:00:00", "Nocturno"),
            ("2026/12/05 12:00:00", "Nocturno")]  # Wednesday ... and a Saturday noon
# case → (time, digits the caller sends: w is half a second)
CALLS = {
    "queue": ("2026/12/02 10:00:00", "ww1"),
    "invalid": ("2026/12/02 10:00:00", "ww9"),
    "noext": ("2026/12/02 10:00:00", "ww599"),
    "unreg": ("2026/12/02 15:00:00", "ww550"),
    "night": ("2026/12/02 20:00:00", ""),
    "fax": ("2026/12/02 10:00:00", "ww3ww1"),
}

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])




def calls_context() -> str:
    """Test-only contexts appended to the copy Asterisk loads (never to the render)."""
    lines = ["", "[expand-test]"]
    for n, (when, _) in enumerate(SCHEDULE):
        lines += [f"exten => sched{n},1,Set(TESTTIME()={when} {TZ})",
                  " same => n,Gosub(expand-schedule-atencion,s,1)",
                  f" same => n,Log(NOTICE,SCHED {n} ${{EXPAND_VALUE}})", " same => n,Hangup()"]
    for case, (when, _) in CALLS.items():
        lines += [f"exten => {case},1,Set(TESTTIME()={when} {TZ})",
                  " same => n,Goto(expand-ivr-acme,s,1)"]
    lines += ["", "[expand-test-caller]"]
    for case, (_, digits) in CALLS.items():
        send = [f"SendDTMF({digits})"] if digits else []
        lines += [f"exten => {case},1,NoOp(caller {case})",
                  *[f" same => n,{step}" for step in send], " same => n,Wait(12)",
                  " same => n,Hangup()"]
    for case, digits in (("pinbad", "ww0000#wwwwww0000#wwwwww0000#"), ("pingood", f"ww{PIN}#")):
        lines += [f"exten => {case},1,SendDTMF({digits})", " same => n,Wait(8)",
                  " same => n,Hangup()"]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def asterisk(work: Path) -> Iterator[Path]:
    """Boot Asterisk on ``work``/etc; yields the log; stops it by PID on every path."""
    conf = "/tmp/etc/asterisk.conf"
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", ENTER,
            str(asterisk_root()), str(work)]
    log = work / "log" / "messages.log"
    proc = subprocess.Popen([*argv, "asterisk", "-f", "-n", "-vvv", "-C", conf],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def rx(command: str) -> str:
        return subprocess.run([*argv, "asterisk", "-C", conf, "-rx", command],
                              capture_output=True, text=True, timeout=30, check=False).stdout

    try:
        booted, _ = poll(lambda: rx("core waitfullybooted"),
                         lambda out: "fully booted" in out, timeout=60, interval=0.5)
        assert booted, "Asterisk did not boot"
        yield log
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            rx("core stop now")
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


def prepare(work: Path) -> tuple[dict[str, Any], int, dict[str, str]]:
    audio = work / "audio"
    audio.mkdir()
    for prompt in PROMPTS:
        write_quiet(audio / f"{prompt}.wav")
    (audio / "moh" / "default").mkdir(parents=True)
    write_quiet(audio / "moh" / "default" / "silence.wav")
    data = tomllib.loads(ACME.read_text())
    data["site"]["audio-dir"] = "/tmp/audio"  # the chroot's view of ``audio``
    data["pins"]["adiaz"]["pin"] = PIN
    site, reports = parse_site(data, "acme.toml", audio_dir=audio)
    assert site is not None, reports
    secrets, _ = complete(site, {})
    port = free_port()
    out = work / "out"
    write(render(site, secrets, bind=f"127.0.0.1:{port}", etc_dir="/tmp/etc"), out)
    etc = work / "etc"
    shutil.copytree(out / "etc/asterisk", etc)
    with (etc / "extensions.conf").open("a") as fh:
        fh.write(calls_context())
    dirs = {"astetcdir": "/tmp/etc", "astvarlibdir": "/tmp/lib", "astdbdir": "/tmp/lib",
            "astkeydir": "/tmp/lib", "astspooldir": "/tmp/spool", "astrundir": "/tmp/run",
            "astlogdir": "/tmp/log", "astdatadir": "/usr/share/asterisk",
            "astagidir": "/usr/share/asterisk/agi-bin",
            "astmoddir": "/usr/lib/x86_64-linux-gnu/asterisk/modules"}
    (etc / "asterisk.conf").write_text(
        "[directories]\n" + "".join(f"{k} => {v}\n" for k, v in dirs.items())
        + "[options]\nverbose = 3\n")
    (etc / "logger.conf").write_text(
        "[general]\n[logfiles]\nmessages.log => notice,warning,error,verbose\n")
    for sub in ("lib/keys", "spool/fax", "spool/monitor", "run", "log"):
        (work / sub).mkdir(parents=True)
    return expected(site), port, dict(secrets.values["sip"])


OUR_FILES = re.compile(r"pjsip\.conf|extensions\.conf|queues\.conf|voicemail\.conf|"
                       r"musiconhold|res_fax\.conf|modules\.conf|pbx_config|moh|"
                       r"res_pjsip|app_queue|app_voicemail\.c|config_transport|"
                       r"res_sorcery_config\.c: Could not")


@dataclass
class Booted:
    work: Path
    log: Path
    port: int
    want: dict[str, Any]
    secrets: dict[str, str]

    def rx(self, command: str) -> str:
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", ENTER,
                str(asterisk_root()), str(self.work), "asterisk", "-C", "/tmp/etc/asterisk.conf",
                "-rx"]
        return subprocess.run([*argv, command], capture_output=True, text=True, timeout=30,
                              check=False).stdout


@pytest.fixture(scope="module")
def pbx() -> Iterator[Booted]:
    asterisk_root()  # built (under the heavy lock) on first use: never skipped
    with heavy_lock(), tempfile.TemporaryDirectory(prefix="pbx-render-ast-") as tmp:
        work = Path(tmp)
        want, port, secrets = prepare(work)
        with asterisk(work) as log:
            yield Booted(work, log, port, want, secrets)


def test_loads_without_warnings_about_our_files_and_counts(pbx: Booted) -> None:
    ours = [line for line in pbx.log.read_text().splitlines()
            if re.search(r"WARNING|ERROR", line) and OUR_FILES.search(line)]
    assert ours == []
    endpoints = pbx.rx("pjsip show endpoints")
    assert "Objects found: 7" in endpoints  # six extensions and the GSM trunk
    for number in pbx.want["endpoints"]:
        assert re.search(rf"Endpoint:\s+{number}[/ ]", endpoints), number
    for queue in ("recl", "prov"):
        shown = pbx.rx(f"queue show {queue}")
        assert "in 'rrmemory' strategy" in shown
        assert "(PJSIP/550)" in shown and "(PJSIP/551)" in shown
    contexts = set(re.findall(r"\[ Context '([^']+)'", pbx.rx("dialplan show")))
    assert set(pbx.want["contexts"]) <= contexts
    assert "res_fax_spandsp.so" in pbx.rx("module show like fax")
    assert "0 modules loaded" in pbx.rx("module show like config_wizard")


def _register(port: int, user: str, password: str) -> list[int]:
    """REGISTER, answer the digest challenge once: the status codes received."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        local = sock.getsockname()[1]
        call_id, tag, uri = uuid.uuid4().hex, uuid.uuid4().hex[:8], f"sip:127.0.0.1:{port}"

        def send(cseq: int, auth: str = "") -> tuple[int, str]:
            sock.sendto((f"REGISTER {uri} SIP/2.0\r\n"
                         f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK{uuid.uuid4().hex}"
                         ";rport\r\nMax-Forwards: 70\r\n"
                         f"From: <sip:{user}@127.0.0.1>;tag={tag}\r\n"
                         f"To: <sip:{user}@127.0.0.1>\r\nCall-ID: {call_id}\r\n"
                         f"CSeq: {cseq} REGISTER\r\nContact: <sip:{user}@127.0.0.1:{local}>\r\n"
                         f"Expires: 60\r\n{auth}Content-Length: 0\r\n\r\n").encode(),
                        ("127.0.0.1", port))
            while True:
                reply = sock.recv(65535).decode(errors="replace")
                if reply.startswith("SIP/2.0 ") and f"CSeq: {cseq} REGISTER" in reply:
                    return int(reply.split()[1]), reply

        first, challenge = send(1)
        if first != 401:
            return [first]
        fields = dict(re.findall(r'(\w+)="?([^",\r\n]+)"?', challenge.split(
            "WWW-Authenticate: Digest", 1)[1].split("\r\n", 1)[0]))
        realm, nonce, cnonce = fields["realm"], fields["nonce"], uuid.uuid4().hex[:16]

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()
        ha1, ha2 = md5(f"{user}:{realm}:{password}"), md5(f"REGISTER:{uri}")
        response = md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")
        opaque = f',opaque="{fields["opaque"]}"' if "opaque" in fields else ""
        auth = (f'Authorization: Digest username="{user}",realm="{realm}",nonce="{nonce}",'
                f'uri="{uri}",response="{response}",algorithm=MD5,cnonce="{cnonce}",'
                f"nc=00000001,qop=auth{opaque}\r\n")
        second, _ = send(2, auth)
        return [first, second]


def test_an_extension_registers_with_its_secret_only(pbx: Booted) -> None:
    assert _register(pbx.port, "551", "not-the-secret") in ([401, 401], [401, 403])
    assert "551/sip:551@127.0.0.1" not in pbx.rx("pjsip show contacts")
    assert _register(pbx.port, "551", pbx.secrets["551"]) == [401, 200]
    assert "551/sip:551@127.0.0.1" in pbx.rx("pjsip show contacts")


def test_calls_take_the_seeds_paths(pbx: Booted) -> None:
    for n in range(len(SCHEDULE)):
        pbx.rx(f"channel originate Local/sched{n}@expand-test application Wait 1")
    for case in CALLS:
        pbx.rx(f"channel originate Local/{case}@expand-test extension {case}@expand-test-caller")
    pbx.rx("channel originate Local/0059899123456@expand-internal extension "
           "pinbad@expand-test-caller")
    pbx.rx("channel originate Local/0059899123457@expand-internal extension "
           "pingood@expand-test-caller")

    def settled(text: str) -> bool:
        return (text.count("ExpandIvrTimeout,menu: nocturno") >= 1
                and "ExpandPinRefused" in text and "ExpandPinAccepted" in text
                and "ExpandFax,department: callcenter,status" in text)
    done, text = poll(pbx.log.read_text, settled, timeout=45, interval=0.5)
    assert done, "\n".join(line for line in text.splitlines() if "Expand" in line)[-4000:]
    for n, (_, value) in enumerate(SCHEDULE):
        assert f"SCHED {n} {value}" in text, (n, value)

    def path(case: str) -> str:
        return "\n".join(line for line in text.splitlines()
                         if f"Local/{case}@expand-test-" in line and ";2" in line)
    queue = path("queue")
    assert "value: Matutino" in queue and "ExpandMenu,menu: diurno" in queue
    assert "digits: 1,target: queue:recl" in queue
    assert "ExpandQueueEnter,queue: recl" in queue
    assert "/tmp/audio/msjEntradaCola" in queue
    invalid = path("invalid")
    assert "ExpandIvrInvalid,menu: diurno,digits: 9" in invalid
    assert "/tmp/audio/msjOpcionInvalida" in invalid
    noext = path("noext")
    assert "ExpandExtensionInvalid,menu: diurno,digits: 599" in noext
    assert "/tmp/audio/msjInternoInvalido" in noext
    unreg = path("unreg")
    assert "value: Vespertino" in unreg
    assert "ExpandDialResult,menu: diurno,extension: 550,status: CHANUNAVAIL" in unreg
    assert "/tmp/audio/msjInternoInvalido" in unreg
    night = path("night")
    assert "value: Nocturno" in night
    assert "ExpandIvrTimeout,menu: nocturno,target: voicemail:550" in night
    assert "/tmp/audio/msjDejeMsj" in night
    fax = path("fax")
    assert "target: menu:fax" in fax and "target: fax:callcenter" in fax
    assert "ReceiveFAX" in fax
    assert "route: international,pin: yes,record: yes" in text
    refused = [line for line in text.splitlines() if "ExpandPinRefused" in line]
    accepted = [line for line in text.splitlines() if "ExpandPinAccepted" in line]
    assert len(refused) == 1 and "0059899123456" in refused[0]
    assert len(accepted) == 1 and "0059899123457" in accepted[0]
