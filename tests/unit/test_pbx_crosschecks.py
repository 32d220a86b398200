"""Every cross-check of the site file, each on the ACME site with one thing broken."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pbx.checks import pattern_regex
from pbx.crosschecks import prompts_used
from pbx.site import checked_values, parse_site

REPO = Path(__file__).resolve().parents[2]
ACME_DATA = tomllib.loads((REPO / "examples" / "site" / "acme.toml").read_text())

Change = Callable[[dict[str, Any]], None]


def problems(change: Change, audio_dir: Path | None = None) -> list[str]:
    data = copy.deepcopy(ACME_DATA)
    change(data)
    site, reports = parse_site(data, "acme.toml", audio_dir=audio_dir)
    assert (site is None) == bool(reports)
    return [str(r) for r in reports]


def _set(path: str, value: Any) -> Change:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        for part in parents:
            data = data[part]
        data[last] = value
    return change


def _drop(path: str) -> Change:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        for part in parents:
            data = data[part]
        del data[last]
    return change


def _both(*changes: Change) -> Change:
    def change(data: dict[str, Any]) -> None:
        for each in changes:
            each(data)
    return change


CASES: dict[str, tuple[Change, str]] = {
    "queue member no extension": (
        _set("queues/recl/members", ["550", "559"]),
        "acme.toml: queues.recl.members: member '559' is no extension"),
    "queue number is an extension": (
        _set("queues/recl/number", "551"),
        "acme.toml: queues.recl.number: 551 is already used by extensions.551"),
    "ivr number is a queue's": (
        _both(_set("queues/recl/number", "500"), _set("ivr/acme/number", "500")),
        "acme.toml: ivr.acme.number: 500 is already used by queues.recl"),
    "user department undefined": (
        _set("users/adiaz/department", "soporte"),
        "acme.toml: users.adiaz.department: department 'soporte' is not defined"),
    "user profile undefined": (
        _set("users/dbueno/profile", "jefe"),
        "acme.toml: users.dbueno.profile: profile 'jefe' is not defined"),
    "monitored department undefined": (
        _set("users/mmato/monitors", ["ventas", "compras"]),
        "acme.toml: users.mmato.monitors: department 'compras' is not defined"),
    "extension user undefined": (
        _set("extensions/601/user", "dario"),
        "acme.toml: extensions.601.user: user 'dario' is not defined"),
    "extension department undefined": (
        _set("extensions/601/department", "admin"),
        "acme.toml: extensions.601.department: department 'admin' is not defined"),
    "event ends before it starts": (
        _set("schedules/atencion/events/matutino/end", "08:30"),
        "acme.toml: schedules.atencion.events.matutino.end: 08:30 is before the start 09:00"),
    "events of two values overlap": (
        _set("schedules/atencion/events/vespertino/start", "11:30"),
        "acme.toml: schedules.atencion.events.vespertino: overlaps event 'matutino' "
        "(value 'Matutino') on mon"),
    "overlap on one shared day only": (
        _both(_set("schedules/atencion/events/vespertino/start", "11:00"),
              _set("schedules/atencion/events/vespertino/days", ["sat", "fri"])),
        "schedules.atencion.events.vespertino: overlaps event 'matutino' (value 'Matutino') "
        "on fri"),
    "event value not in the schedule": (
        _set("schedules/atencion/events/matutino/value", "Mañana"),
        "acme.toml: schedules.atencion.events.matutino.value: 'Mañana' is not one of"),
    "default value not in the schedule": (
        _set("schedules/atencion/default", "Noche"),
        "acme.toml: schedules.atencion.default: 'Noche' is not one of its values"),
    "ivr digit to a missing extension": (
        _set("menus/diurno/options", {"1": "queue:recl", "2": "extension:609"}),
        "acme.toml: menus.diurno.options.2: extension:609 points nowhere"),
    "ivr digit to a missing menu": (
        _set("menus/nocturno/options", {"3": "menu:faxes"}),
        "acme.toml: menus.nocturno.options.3: menu:faxes points nowhere"),
    "ivr timeout to a missing queue": (
        _set("menus/diurno/timeout-target", "queue:ventas"),
        "acme.toml: menus.diurno.timeout-target: queue:ventas points nowhere"),
    "voicemail of an extension without one": (
        _set("extensions/550/voicemail", False),
        "acme.toml: menus.nocturno.timeout-target: voicemail:550: extension 550 has "
        "voicemail = false"),
    "fax to a department without mail": (
        _drop("departments/ventas/email"),
        "acme.toml: menus.fax.options.3: fax:ventas: department 'ventas' has no email"),
    "fax target with fax disabled": (
        _set("fax/enabled", False),
        "acme.toml: fax.enabled: is false but menu 'fax' sends callers to a fax target"),
    "queue exit option nowhere": (
        _set("queues/prov/exit-options", {"1": "voicemail:999"}),
        "acme.toml: queues.prov.exit-options.1: voicemail:999 points nowhere"),
    "ivr menu for a value undefined": (
        _set("ivr/acme/menus", {"Matutino": "diurno", "Nocturno": "noche"}),
        "acme.toml: ivr.acme.menus.Nocturno: menu 'noche' is not defined"),
    "ivr value not in the schedule": (
        _set("ivr/acme/menus", {"Tarde": "diurno"}),
        "acme.toml: ivr.acme.menus.Tarde: 'Tarde' is not a value of schedule 'atencion'"),
    "ivr schedule undefined": (
        _set("ivr/acme/schedule", "agenda"),
        "acme.toml: ivr.acme.schedule: schedule 'agenda' is not defined"),
    "pin route without pins": (
        _drop("pins"),
        "acme.toml: routes.international.pin: is true but no PINs are defined under [pins]"),
    "route pattern swallows an extension": (
        _set("routes/local/patterns", ["_[24]XXXXXXX", "_[5-7]XX"]),
        "acme.toml: routes.local.patterns: _[5-7]XX matches the internal number 550 "
        "(extension): those calls would go out"),
    "route pattern given twice": (
        _set("routes/mobile/patterns", ["_09XXXXXXX", "_00X."]),
        "acme.toml: routes.international.patterns: _00X. is also in routes.mobile"),
    "route trunk undefined": (
        _set("routes/mobile/trunk", "antel"),
        "acme.toml: routes.mobile.trunk: trunk 'antel' is not defined"),
    "pri_cpe with timing 0": (
        _set("e1-trunks/pstn/timing", 0),
        "acme.toml: e1-trunks.pstn.timing: 0 (we give the clock) contradicts pri_cpe"),
    "pri_net with timing 1": (
        _set("e1-trunks/pstn/signalling", "pri_net"),
        "acme.toml: e1-trunks.pstn.timing: 1 (clock from the remote end) contradicts pri_net"),
    "two E1 trunks on one span": (
        _set("e1-trunks/pstn2", {"span": 1}),
        "acme.toml: e1-trunks.pstn2.span: span 1 is already e1-trunks.pstn"),
    "SIP registration without account": (
        _set("sip-trunks/gsm/register", True),
        "acme.toml: sip-trunks.gsm.username: is required when register is true"),
    "recording in WAV does not fit": (
        _set("recording/format", "wav"),
        "acme.toml: recording.format: wav needs 128 kbit/s but 3000000 minutes in 500 GB "
        "allow 22.2 kbit/s"),
    "queue exit options without prompt": (
        _drop("queues/recl/exit-prompt"),
        "acme.toml: queues.recl.exit-prompt: is required when exit-options are given"),
}


@pytest.mark.parametrize(("pattern", "number", "matches"), [
    ("_09XXXXXXX", "099123456", True), ("_09XXXXXXX", "09912345", False),
    ("_[24]XXXXXXX", "29001234", True), ("_[24]XXXXXXX", "39001234", False),
    ("_00X.", "0034911", True), ("_00X.", "003", False), ("_NXX", "199", False),
    ("_ZX!", "12", True), ("_ZX!", "1", False), ("911", "911", True), ("_5[0-5]X", "560", False),
])
def test_pattern_regex(pattern: str, number: str, matches: bool) -> None:
    assert bool(pattern_regex(pattern).fullmatch(number)) is matches


def test_acme_is_clean() -> None:
    assert problems(lambda data: None) == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_cross_check(name: str) -> None:
    change, expected = CASES[name]
    found = problems(change)
    assert any(expected in line for line in found), found
    assert len(found) <= 3, found  # one mistake: a report per key that uses it


def test_pri_net_with_timing_0_is_fine() -> None:
    assert problems(_both(_set("e1-trunks/pstn/signalling", "pri_net"),
                          _set("e1-trunks/pstn/timing", 0))) == []


def test_timing_defaults_from_signalling() -> None:
    assert problems(_both(_set("e1-trunks/pstn/signalling", "pri_net"),
                          _drop("e1-trunks/pstn/timing"))) == []


def test_same_value_may_overlap_itself() -> None:
    extra = {"value": "Matutino", "start": "10:00", "end": "10:30", "days": ["mon"]}
    assert problems(_set("schedules/atencion/events/extra", extra)) == []


def test_a_field_that_failed_is_not_cross_checked_again() -> None:
    found = problems(_set("queues/recl/members", ["550", "5x"]))
    assert found == ["acme.toml: queues.recl.members: '5x' is not a number of 2 to 8 digits"]


def _prompts() -> set[str]:
    parsed, reports = checked_values(copy.deepcopy(ACME_DATA), "acme.toml")
    assert reports == []
    return {name for _, name in prompts_used(parsed)}


def test_the_seeds_prompts_are_the_ones_played() -> None:
    assert _prompts() == {
        "msjBienvenida", "msjBienvenidaNocturno", "msjDejeMsj", "msjOpcionInvalida",
        "msjEntradaCola", "msjSalidaCola", "msjMenuFAX", "msjInternoNC", "msjInternoOpcionNC",
        "msjInternoInvalido", "msjInternoOcupado", "msjInternoOpcionOcupado"}


def test_audio_folder_with_every_prompt_is_clean(tmp_path: Path) -> None:
    for name in _prompts():
        (tmp_path / f"{name}.wav").write_bytes(b"RIFF")
    assert problems(lambda data: None, audio_dir=tmp_path) == []


def test_audio_folder_lacking_a_prompt(tmp_path: Path) -> None:
    for name in _prompts() - {"msjMenuFAX", "msjOpcionInvalida"}:
        (tmp_path / f"{name}.wav").write_bytes(b"RIFF")
    (tmp_path / "msjOpcionInvalida.WAV").write_bytes(b"RIFF")  # Asterisk wants .wav
    found = problems(lambda data: None, audio_dir=tmp_path)
    assert found == [
        f"acme.toml: menus.diurno.invalid-prompt: prompt 'msjOpcionInvalida': "
        f"{tmp_path}/msjOpcionInvalida.wav is missing (played at 2 other key(s) too)",
        f"acme.toml: menus.fax.prompt: prompt 'msjMenuFAX': {tmp_path}/msjMenuFAX.wav is missing",
    ]


def test_site_audio_dir_is_checked_only_when_it_exists(tmp_path: Path) -> None:
    assert problems(_set("site/audio-dir", str(tmp_path / "absent"))) == []
    found = problems(_set("site/audio-dir", str(tmp_path)))
    assert len(found) == len(_prompts()) and all("is missing" in line for line in found)
