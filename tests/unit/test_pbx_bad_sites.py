"""Bad site files through the real CLI: each is one clear line naming the file and the key,
exit 1, no traceback, nothing written. Each case is its own process, forked from one
interpreter that imported the CLI once (so the corpus stays fast)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.unit.bad_input_kit import MIB, Run, check_refusal, run_corpus

REPO = Path(__file__).resolve().parents[2]
ACME = (REPO / "examples" / "site" / "acme.toml").read_text()
SITE = "site.toml"


@dataclass(frozen=True)
class Case:
    make: Callable[[Path], None]  # writes site.toml (or not) into the case folder
    named: str                    # must appear in stderr: "site.toml: key" or the file
    argv: tuple[str, ...] = ("pbx", "validate", SITE)
    hidden: str = ""              # must not appear anywhere (a secret)


def edit(old: str, new: str) -> Callable[[Path], None]:
    assert old in ACME, old  # a case that no longer edits anything would pass for nothing
    text = ACME.replace(old, new, 1)

    def make(case: Path) -> None:
        (case / SITE).write_text(text)
    return make


def raw(data: bytes) -> Callable[[Path], None]:
    def make(case: Path) -> None:
        (case / SITE).write_bytes(data)
    return make


def key(name: str, old: str, new: str, hidden: str = "") -> Case:
    return Case(edit(old, new), f"{SITE}: {name}: ", hidden=hidden)


FAX_SECTION = '[fax]\nenabled = true\nattach = "pdf"\n'
PINS = tuple(f'[pins.{who}]\nuser = "{who}"\n' for who in ("adiaz", "sgaleano", "disola"))


def without(*parts: str) -> str:
    out = ACME
    for part in parts:
        assert part in out, part
        out = out.replace(part, "")
    return out


def text(content: str) -> Callable[[Path], None]:
    def make(case: Path) -> None:
        (case / SITE).write_text(content)
    return make


def _nothing(case: Path) -> None:
    pass


def _directory(case: Path) -> None:
    (case / SITE).mkdir()


def _loop(case: Path) -> None:
    (case / SITE).symlink_to(SITE)


CASES: dict[str, Case] = {
    # the file itself
    "missing": Case(_nothing, f"{SITE}: file not found"),
    "empty": Case(raw(b""), f"{SITE}: site.name: is required"),
    "directory": Case(_directory, f"{SITE}: is a directory"),
    "symlink-loop": Case(_loop, f"{SITE}: symlink loop"),
    "binary": Case(raw(b"\x7fELF\x02\x01\x01\0\0\0"), f"{SITE}: binary"),
    "not-utf8": Case(raw(b"[site]\nname = \"ACME \xe9\"\n"), f"{SITE}: not UTF-8"),
    "huge": Case(raw(b"# " + b"x" * (MIB + 10) + b"\n"), f"{SITE}: larger than 1 MiB"),
    "deep-array": Case(raw(b"a = " + b"[" * 60_000 + b"]" * 60_000 + b"\n"),
                       f"{SITE}: nested more than 64 levels deep"),
    "deep-dotted": Case(raw(b"[" + b"a." * 60_000 + b"b]\n"),
                        f"{SITE}: nested more than 64 levels deep"),
    "bad-toml": Case(raw(b"[site\nname = 1\n"), f"{SITE}: is not valid TOML"),
    "extension-twice": Case(edit("[extensions.772]", "[extensions.550]"),
                            f"{SITE}: is not valid TOML: Cannot declare ('extensions', '550') "
                            "twice"),
    "audio-not-a-folder": Case(raw(ACME.encode()), "--audio: ",
                               argv=("pbx", "validate", SITE, "--audio", "nowhere")),
    "show-bad-site": Case(edit('format = "gsm"', 'format = "mp3"'),
                          f"{SITE}: recording.format: ", argv=("pbx", "show", SITE)),
    # sections and keys
    "unknown-section": key("colours", "[fax]\n", "[colours]\nred = 1\n\n[fax]\n"),
    "unknown-key": key("site.colour", 'name = "ACME S.A."', 'name = "ACME S.A."\ncolour = 1'),
    "kebab-and-snake": key("queues.recl.max-wait", "max-wait = 120", "max-wait = 120\n"
                           "max_wait = 60"),
    "section-not-a-table": Case(text("fax = 3\n" + without(FAX_SECTION)),
                                f"{SITE}: fax: is not a table"),
    "misspelt-key": Case(edit('strategy = "rrmemory"', 'stratgy = "rrmemory"'),
                         f"{SITE}: queues.recl.stratgy: unknown key (did you mean strategy?)"),
    "record-not-a-table": key("extensions.999", "[extensions.550]", "[extensions]\n999 = 1\n\n"
                              "[extensions.550]"),
    "site-name-missing": key("site.name", 'name = "ACME S.A."\n', ""),
    "site-timezone-unknown": key("site.timezone", 'timezone = "America/Montevideo"\naudio',
                                 'timezone = "America/Punta_del_Este"\naudio'),
    "schedule-timezone-unknown": key("schedules.atencion.timezone",
                                     'timezone = "America/Montevideo"\nactive',
                                     'timezone = "GMT-3"\nactive'),
    # people
    "user-email": key("users.adiaz.email", 'email = "adiaz@empresa.com"', 'email = "adiaz"'),
    "user-department": key("users.adiaz.department", 'department = "callcenter"\nprofile',
                           'department = "soporte"\nprofile'),
    "user-profile": key("users.dbueno.profile", 'profile = "operador-callcenter"',
                        'profile = "nadie"'),
    "user-monitors": key("users.adiaz.monitors", 'monitors = ["callcenter"]',
                         'monitors = ["soporte"]'),
    "profile-permission": key("profiles.supervisor-ventas.permissions", '"campaigns",',
                              '"campanas",'),
    # extensions
    "extension-number": key("extensions.7x2", "[extensions.772]", "[extensions.7x2]"),
    "extension-user": key("extensions.550.user", '[extensions.550]\nuser = "adiaz"',
                          '[extensions.550]\nuser = "ana"'),
    "extension-secret-short": key("extensions.550.secret", "[extensions.550]\n",
                                  '[extensions.550]\nsecret = "Xy7"\n', hidden="Xy7"),
    "extension-secret-quote": key("extensions.551.secret", "[extensions.551]\n",
                                  "[extensions.551]\nsecret = \"pa'ss word 42\"\n",
                                  hidden="pa'ss word 42"),
    "extension-type": key("extensions.551.type", "[extensions.551]\n",
                          '[extensions.551]\ntype = "iax"\n'),
    # queues
    "queue-strategy": key("queues.recl.strategy", 'strategy = "rrmemory"',
                          'strategy = "roundrobin"'),
    "queue-member": key("queues.recl.members", 'members = ["550", "551"]',
                        'members = ["550", "559"]'),
    "queue-department": key("queues.recl.department", 'department = "callcenter"\nstrategy',
                            'department = "reclamos"\nstrategy'),
    "queue-number-clash": key("queues.recl.number", 'description = "Reclamos"',
                              'description = "Reclamos"\nnumber = "551"'),
    "queue-moh": key("queues.prov.music-on-hold", 'description = "Proveedores"',
                     'description = "Proveedores"\nmusic-on-hold = "a b"'),
    # schedule
    "event-end-before-start": key("schedules.atencion.events.matutino.end", 'end = "11:59"',
                                  'end = "08:59"'),
    "event-overlap": key("schedules.atencion.events.vespertino", 'start = "12:00"',
                         'start = "11:30"'),
    "event-time": key("schedules.atencion.events.matutino.start", 'start = "09:00"',
                      'start = "9h"'),
    "event-days": key("schedules.atencion.events.matutino.days", 'days = ["mon-fri"]',
                      'days = ["lun-vie"]'),
    "event-value": key("schedules.atencion.events.matutino.value", 'value = "Matutino"',
                       'value = "Mañana"'),
    "schedule-default": key("schedules.atencion.default", 'default = "Nocturno"',
                            'default = "Noche"'),
    # IVR
    "ivr-digit-nowhere": key("menus.diurno.options.2", '"2" = "extension:601"',
                             '"2" = "extension:609"'),
    "ivr-target-syntax": key("menus.diurno.options", '"1" = "queue:recl"', '"1" = "cola:recl"'),
    "ivr-key-not-a-digit": key("menus.diurno.options", '"1" = "queue:recl"', '"A" = "queue:recl"'),
    "ivr-menu-undefined": key("ivr.acme.menus.Nocturno", 'Nocturno = "nocturno" }',
                              'Nocturno = "noche" }'),
    "ivr-schedule-undefined": key("ivr.acme.schedule", 'schedule = "atencion"',
                                  'schedule = "agenda"'),
    "ivr-prompt-name": key("menus.fax.prompt", 'prompt = "msjMenuFAX"',
                           'prompt = "../msjMenuFAX"'),
    "fax-department-without-mail": key("menus.fax.options.3", 'email = "ventas@empresa.com"\n',
                                       ""),
    # recording, routes, PINs, trunks
    "recording-wav": key("recording.format", 'format = "gsm"', 'format = "wav"'),
    "recording-directory": key("recording.directory", 'format = "gsm"',
                               'format = "gsm"\ndirectory = "monitor"'),
    "audio-dir-relative": key("site.audio-dir", 'audio-dir = "/var/lib/expand/pbx/audio"',
                              'audio-dir = "audio"'),
    "recording-calls": key("recording.calls", 'calls = ["inbound", "queues"]',
                           'calls = ["everything"]'),
    "route-pattern": key("routes.mobile.patterns", '"_09XXXXXXX"', '"_09XXXXXXX.."'),
    "route-pattern-range": key("routes.local.patterns", '"_[24]XXXXXXX"', '"_[42-1]XXXXXXX"'),
    "route-trunk": key("routes.mobile.trunk", 'trunk = "gsm"', 'trunk = "antel"'),
    "pin-route-without-pins": Case(text(without(*PINS)), f"{SITE}: routes.international.pin: "),
    "pin-not-digits": key("pins.adiaz.pin", '[pins.adiaz]\nuser = "adiaz"',
                          '[pins.adiaz]\nuser = "adiaz"\npin = "12ab"', hidden="12ab"),
    "dahdi-cpe-timing-0": key("e1-trunks.pstn.timing", "timing = 1 ", "timing = 0 "),
    "dahdi-net-timing-1": key("e1-trunks.pstn.timing", 'signalling = "pri_cpe"',
                              'signalling = "pri_net"'),
    "dahdi-switchtype": key("e1-trunks.pstn.switchtype", 'switchtype = "euroisdn"',
                            'switchtype = "dms100"'),
    "dahdi-crc4": key("e1-trunks.pstn.crc4", "crc4 = false", 'crc4 = "no"'),
    "sip-host": key("sip-trunks.gsm.host", 'host = "198.51.100.20"', 'host = "not a host"'),
    "sip-match": key("sip-trunks.gsm.match", 'match = ["198.51.100.20"]',
                     'match = ["198.51.100.20/24"]'),
    "sip-register": key("sip-trunks.gsm.username", 'host = "198.51.100.20"',
                        'host = "198.51.100.20"\nregister = true'),
    "fax-attach": key("fax.attach", 'attach = "pdf"', 'attach = "doc"'),
}

def _maker(case: Case) -> Callable[[Path], Run]:
    def make(folder: Path) -> Run:
        case.make(folder)
        return Run(list(case.argv), case.named)
    return make


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    return run_corpus({name: _maker(case) for name, case in CASES.items()}, tmp_path_factory,
                      "bad-sites")


def test_the_corpus_is_large() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_site_is_one_clear_refusal(results: dict[str, Run], name: str) -> None:
    run = results[name]
    shown = check_refusal(run, exit_code=1, max_lines=3)
    assert run.result is not None
    said = (run.result.stdout + run.result.stderr).decode(errors="replace")
    assert len(said) < 2000, shown
    if CASES[name].hidden:
        assert CASES[name].hidden not in said, shown


def test_json_result_names_key(tmp_path: Path) -> None:
    (tmp_path / SITE).write_text(ACME.replace('strategy = "rrmemory"', 'strategy = "x"', 1))
    done = subprocess.run([sys.executable, "-m", "appliance.cli", "pbx", "validate", "--json",
                           SITE], capture_output=True, text=True, cwd=tmp_path, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["ok"] is False
    assert [p["key"] for p in result["problems"]] == ["queues.recl.strategy"]
