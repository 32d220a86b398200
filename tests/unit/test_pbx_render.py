"""The renderers on the ACME site: what a throwaway Asterisk will count is in the text, the
files match golden copies, a re-render is byte-identical, hostile values never reach a line.

Regenerate the goldens after an intended change, then review the diff:
``UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_pbx_render.py``.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import tomllib
from pathlib import Path

import pytest

from appliance.reports import ValidationFailed
from pbx.model import E1Trunk, Site
from pbx.render import Rendered, b_channels, expected, render
from pbx.secrets_store import Secrets, complete
from pbx.site import load_site, parse_site

REPO = Path(__file__).resolve().parents[2]
ACME = REPO / "examples" / "site" / "acme.toml"
GOLDEN = REPO / "tests" / "unit" / "fixtures" / "pbx" / "acme"


def fixed_secrets(site: Site) -> Secrets:
    """Deterministic stand-ins for generated secrets, so the goldens are stable."""
    counter = itertools.count(1)

    def generate(kind: str) -> str:
        n = next(counter)
        return f"GoldenSecret{n:04d}xyz" if kind == "sip" else f"{n:06d}"
    secrets, _ = complete(site, {}, generate)
    return secrets


@pytest.fixture(scope="module")
def acme() -> Site:
    return load_site(ACME)


@pytest.fixture(scope="module")
def files(acme: Site) -> dict[str, Rendered]:
    return render(acme, fixed_secrets(acme), source=str(ACME))


def text(files: dict[str, Rendered], name: str) -> str:
    path = name if name.startswith("/") else f"/etc/asterisk/{name}"
    return files[path].content


def sections(conf: str) -> list[tuple[str, dict[str, list[str]]]]:
    """A small reader of the Asterisk config format: (name, key → values) per section,
    templates ``(!)`` applied, comments dropped."""
    found: list[tuple[str, dict[str, list[str]]]] = []
    templates: dict[str, dict[str, list[str]]] = {}
    for raw in conf.splitlines():
        line = re.sub(r"(?<!\\);.*", "", raw).strip()
        if not line:
            continue
        head = re.fullmatch(r"\[([^\]]+)\](?:\(([^)]*)\))?", line)
        if head:
            body: dict[str, list[str]] = {}
            for parent in (head[2] or "").split(","):
                if parent and parent != "!":
                    body.update({k: list(v) for k, v in templates[parent].items()})
            if head[2] == "!":
                templates[head[1]] = body
            else:
                found.append((head[1], body))
            continue
        key, _, value = re.split(r"\s*(=>?)\s*", line, maxsplit=1)
        body.setdefault(key, []).append(value)
    return found


def _endpoint(secs: list[tuple[str, dict[str, list[str]]]], name: str) -> dict[str, list[str]]:
    return next(b for n, b in secs if n == name and b.get("type") == ["endpoint"])


def test_acme_renders_every_file(files: dict[str, Rendered]) -> None:
    assert sorted(files) == [
        "/etc/asterisk/chan_dahdi.conf", "/etc/asterisk/expand-fax-to-mail",
        "/etc/asterisk/expand-pins", "/etc/asterisk/extensions.conf",
        "/etc/asterisk/logger.conf", "/etc/asterisk/modules.conf",
        "/etc/asterisk/musiconhold.conf", "/etc/asterisk/pjsip.conf",
        "/etc/asterisk/pjsip_notify.conf", "/etc/asterisk/queues.conf",
        "/etc/asterisk/res_fax.conf",
        "/etc/asterisk/voicemail.conf", "/etc/dahdi/system.conf"]
    assert files["/etc/asterisk/expand-pins"].mode == 0o600
    assert files["/etc/asterisk/pjsip.conf"].mode == 0o640
    assert files["/etc/asterisk/expand-fax-to-mail"].mode == 0o755


def test_pjsip_has_six_extensions_as_explicit_objects(files: dict[str, Rendered]) -> None:
    secs = sections(text(files, "pjsip.conf"))
    endpoints = [n for n, body in secs if body.get("type") == ["endpoint"]]
    assert endpoints == ["550", "551", "770", "771", "601", "772", "trunk-gsm"]
    for number in ("550", "551", "770", "771", "601", "772"):
        kinds = sorted(body["type"][0] for n, body in secs if n in (number, f"{number}-auth"))
        assert kinds == ["aor", "auth", "endpoint"]
    endpoint = _endpoint(secs, "550")
    assert endpoint["dtmf_mode"] == ["rfc4733"]
    assert endpoint["callerid"] == ['"Ana Díaz" <550>']
    assert endpoint["allow"] == ["alaw,ulaw,gsm"]  # GSM recordings: GSM legs need no transcode
    assert "wizard" not in {body.get("type", [""])[0] for _, body in secs}
    transport = dict(secs)["transport-udp"]
    assert transport["bind"] == ["0.0.0.0:5060"]
    assert {n for n, b in secs if b.get("type") == ["identify"]} == {"trunk-gsm"}


def test_bind_address_is_a_parameter(acme: Site) -> None:
    got = render(acme, fixed_secrets(acme), bind="198.51.100.10:5060")
    assert "bind = 198.51.100.10:5060\n" in text(got, "pjsip.conf")


def test_registering_trunk_has_registration_auth_endpoint_aor_identify(acme: Site) -> None:
    trunk = dataclasses.replace(acme.sip_trunks[0], register=True, username="acme",
                                secret="Provider-pass1")
    site = dataclasses.replace(acme, sip_trunks=(trunk,))
    secs = sections(text(render(site, fixed_secrets(site)), "pjsip.conf"))
    kinds = sorted(b["type"][0] for n, b in secs if n.startswith("trunk-gsm"))
    assert kinds == ["aor", "auth", "endpoint", "identify", "registration"]
    reg = next(b for n, b in secs if b.get("type") == ["registration"])
    assert reg["client_uri"] == ["sip:acme@198.51.100.20:5060"]


def test_dialplan_has_ivr_schedule_menus_and_queues(files: dict[str, Rendered],
                                                    acme: Site) -> None:
    dialplan = text(files, "extensions.conf")
    contexts = re.findall(r"^\[([^\]]+)\]", dialplan, re.M)
    assert set(expected(acme)["contexts"]) == set(contexts) - {"general", "globals"}
    for ctx in ("expand-ivr-acme", "expand-schedule-atencion", "expand-menu-diurno",
                "expand-menu-nocturno", "expand-menu-fax", "expand-queue-recl",
                "expand-queue-prov", "expand-fax-callcenter", "expand-outbound"):
        assert ctx in contexts
    tz = "America/Montevideo"
    assert f"GotoIfTime(09:00-11:59,mon-fri,*,*,{tz}?v0)" in dialplan
    assert f"GotoIfTime(12:00-17:59,mon-fri,*,*,{tz}?v1)" in dialplan
    assert "Set(EXPAND_VALUE=Nocturno)" in dialplan
    for prompt in ("msjBienvenida", "msjBienvenidaNocturno", "msjMenuFAX", "msjOpcionInvalida",
                   "msjInternoInvalido", "msjInternoNC", "msjInternoOcupado",
                   "msjEntradaCola", "msjSalidaCola", "msjDejeMsj"):
        assert f"/var/lib/expand/pbx/audio/{prompt})" in dialplan, prompt
    for event in ("ExpandIvrChoice", "ExpandSchedule", "ExpandQueueEnter", "ExpandRoute",
                  "ExpandPinRefused", "ExpandIvrInvalid", "ExpandIvrTimeout",
                  "ExpandExtensionInvalid", "ExpandDialResult", "ExpandFax"):
        assert f"UserEvent({event}," in dialplan, event
    assert "Authenticate(${EXPAND_ETC}/expand-pins,,12)" in dialplan
    assert "ReceiveFAX(${EXPAND_FAX})" in dialplan


def _context(dialplan: str, name: str) -> str:
    return dialplan.split(f"[{name}]", 1)[1].split("\n[", 1)[0]


def test_only_the_international_route_asks_a_pin_and_records(files: dict[str, Rendered]) -> None:
    outbound = _context(text(files, "extensions.conf"), "expand-outbound")
    routes = re.split(r"\n(?=exten => _)", outbound)
    by_pattern = {r.split(",", 1)[0].split()[-1]: r for r in routes if "exten => _" in r}
    assert set(by_pattern) == {"_[24]XXXXXXX", "_09XXXXXXX", "_00X."}
    assert "Authenticate" in by_pattern["_00X."] and "MixMonitor" in by_pattern["_00X."]
    for other in ("_[24]XXXXXXX", "_09XXXXXXX"):
        assert "Authenticate" not in by_pattern[other]
        assert "MixMonitor" not in by_pattern[other]
    assert "Dial(DAHDI/g1/${EXTEN},60)" in by_pattern["_00X."]
    assert "Dial(PJSIP/${EXTEN}@trunk-gsm,60)" in by_pattern["_09XXXXXXX"]


def test_menu_invalid_timeout_and_dial_by_extension(files: dict[str, Rendered]) -> None:
    dialplan = text(files, "extensions.conf")
    diurno = _context(dialplan, "expand-menu-diurno")
    assert "exten => 1,1,UserEvent(ExpandIvrChoice,menu: diurno,digits: 1,target: queue:recl)" \
        in diurno
    assert "Goto(expand-queue-recl,s,1)" in diurno
    assert "exten => i,1," in diurno and "exten => t,1," in diurno
    assert {"_5XX", "_6XX", "_7XX"} <= set(re.findall(r"exten => (_\w+),", diurno))
    dial = _context(dialplan, "expand-menu-diurno-dial")
    assert "BUSY" in dial and "CHANUNAVAIL" in dial and "msjInternoNC" in dial
    assert "expand-menu-fax-dial" not in dialplan  # the fax menu dials no extension
    nocturno = _context(dialplan, "expand-menu-nocturno")
    assert "msjDejeMsj" in nocturno and "Goto(expand-voicemail,550,1)" in nocturno


def test_queues_recl_and_prov_with_their_members(files: dict[str, Rendered],
                                                 acme: Site) -> None:
    secs = dict(sections(text(files, "queues.conf")))
    for queue in ("recl", "prov"):
        assert secs[queue]["strategy"] == ["rrmemory"]
        assert secs[queue]["musicclass"] == ["default"]
        assert secs[queue]["member"] == ["PJSIP/550,0,Ana Díaz", "PJSIP/551,0,Diego Bueno"]
    assert expected(acme)["queues"] == {
        q: {"strategy": "rrmemory", "members": ["PJSIP/550", "PJSIP/551"]}
        for q in ("recl", "prov")}


def test_voicemail_box_per_extension_mails_the_user(files: dict[str, Rendered]) -> None:
    boxes = dict(sections(text(files, "voicemail.conf")))["expand"]
    assert sorted(boxes) == ["550", "551", "601", "770", "771", "772"]
    assert boxes["550"][0].split(",")[1:3] == ["Ana Díaz", "adiaz@empresa.com"]
    assert "attach=yes" in boxes["550"][0]


def test_e1_link_of_the_seed(files: dict[str, Rendered]) -> None:
    system = text(files, "/etc/dahdi/system.conf")
    assert "span=1,1,0,ccs,hdb3\n" in system  # clock from the remote end, no CRC4
    assert "bchan=1-15,17-31\ndchan=16\n" in system
    dahdi = text(files, "chan_dahdi.conf")
    assert "signalling = pri_cpe\nswitchtype = euroisdn\n" in dahdi
    assert "channel => 1-15,17-31\n" in dahdi
    assert b_channels(dataclasses.replace(_e1(), span=2)) == ("32-46,48-62", "47")


def _e1() -> E1Trunk:
    return load_site(ACME).e1_trunks[0]


def test_modules_keep_the_wizard_out(files: dict[str, Rendered]) -> None:
    assert "noload => res_pjsip_config_wizard.so\n" in text(files, "modules.conf")


def test_fax_mailer_knows_the_departments_and_is_valid_python(files: dict[str, Rendered]
                                                              ) -> None:
    script = text(files, "expand-fax-to-mail")
    compile(script, "expand-fax-to-mail", "exec")
    assert '"callcenter": ("callcenter@empresa.com", "Callcenter")' in script
    assert 'RELAY = ("localhost", 25)' in script


def test_pins_file_holds_each_pin(acme: Site, files: dict[str, Rendered]) -> None:
    secrets = fixed_secrets(acme)
    assert text(files, "expand-pins").split() == [secrets.get("pins", p.id) for p in acme.pins]


@pytest.mark.parametrize("name", [
    "etc/asterisk/chan_dahdi.conf", "etc/asterisk/expand-fax-to-mail",
    "etc/asterisk/expand-pins", "etc/asterisk/extensions.conf", "etc/asterisk/logger.conf",
    "etc/asterisk/modules.conf", "etc/asterisk/musiconhold.conf", "etc/asterisk/pjsip.conf",
    "etc/asterisk/pjsip_notify.conf", "etc/asterisk/queues.conf", "etc/asterisk/res_fax.conf",
    "etc/asterisk/voicemail.conf",
    "etc/dahdi/system.conf"])
def test_matches_golden(files: dict[str, Rendered], name: str) -> None:
    got = files["/" + name].content
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(got)
    assert golden.exists(), f"{golden} missing: run with UPDATE_GOLDEN=1"
    assert got == golden.read_text(), f"{name} differs from {golden}; if intended, " \
                                      "regenerate with UPDATE_GOLDEN=1"


def test_rerender_is_byte_identical(acme: Site, files: dict[str, Rendered]) -> None:
    again = render(load_site(ACME), fixed_secrets(acme), source=str(ACME))
    assert again == files


# --- hostile values ---------------------------------------------------------------------
def _acme_with(edit: dict[str, object]) -> tuple[Site | None, list[str]]:
    data = tomllib.loads(ACME.read_text())
    for dotted, value in edit.items():
        *path, last = dotted.split(".")
        table = data
        for part in path:
            table = table[part]
        table[last] = value
    site, reports = parse_site(data, "acme.toml")
    return site, [str(r) for r in reports]


def test_newline_in_a_caller_id_is_refused_by_validation() -> None:
    site, reports = _acme_with({"extensions.550.callerid": "Ana\n[550]\ntype = endpoint"})
    assert site is None
    assert any("extensions.550.callerid" in r for r in reports)


def test_semicolon_in_a_name_is_escaped() -> None:
    site, _ = _acme_with({"users.adiaz.name": "Ana; Díaz", "extensions.550.callerid": ""})
    assert site is not None
    got = render(site, fixed_secrets(site))
    assert 'callerid = "Ana\\; Díaz" <550>' in text(got, "pjsip.conf")
    assert "PJSIP/550,0,Ana\\; Díaz\n" in text(got, "queues.conf")
    assert "550 => 000007,Ana\\; Díaz," in text(got, "voicemail.conf")
    endpoint = _endpoint(sections(text(got, "pjsip.conf")), "550")
    assert endpoint["callerid"] == ['"Ana\\; Díaz" <550>']  # not cut at the ';'


@pytest.mark.parametrize(("edit", "key"), [
    ({"extensions.550.callerid": 'Ana "the boss" Díaz'}, "extensions.550.callerid"),
    ({"extensions.550.callerid": "Díaz, Ana"}, "extensions.550.callerid"),
    ({"users.adiaz.name": "Díaz, Ana"}, "users.adiaz.name"),
    ({"schedules.atencion.values": ["Matutino", "Vespertino", "Noc${SHELL}"],
      "schedules.atencion.default": "Noc${SHELL}",
      "ivr.acme.menus": {"Matutino": "diurno", "Noc${SHELL}": "nocturno"}},
     "schedules.atencion.values"),
    ({"routes.local.prepend": "0;1"}, "routes.local.prepend"),
    ({"site.audio-dir": "/srv/audio,x)"}, "site.audio-dir"),
    ({"fax.relay": "smtp host:25"}, "fax.relay"),
])
def test_values_a_line_cannot_carry_are_refused(edit: dict[str, object], key: str) -> None:
    site, reports = _acme_with(edit)
    assert site is not None, reports
    with pytest.raises(ValidationFailed) as failed:
        render(site, fixed_secrets(site), source="acme.toml")
    keys = [r.key for r in failed.value.reports]
    assert key in keys, keys
    assert all(str(r).startswith("acme.toml: ") for r in failed.value.reports)


def test_every_problem_at_once() -> None:
    site, _ = _acme_with({"users.adiaz.name": "Díaz, Ana", "routes.local.prepend": "x"})
    assert site is not None
    with pytest.raises(ValidationFailed) as failed:
        render(site, fixed_secrets(site))
    assert {"users.adiaz.name", "routes.local.prepend"} <= {r.key for r in failed.value.reports}


# --- variants of the site ---------------------------------------------------------------
def test_inactive_schedule_always_takes_the_default(acme: Site) -> None:
    site = dataclasses.replace(acme, schedules=(
        dataclasses.replace(acme.schedules[0], active=False),))
    sched = _context(text(render(site, fixed_secrets(site)), "extensions.conf"),
                     "expand-schedule-atencion")
    assert "GotoIfTime" not in sched
    assert "exten => s,1,Set(EXPAND_VALUE=Nocturno)" in sched


def test_days_that_are_not_a_range(acme: Site) -> None:
    sched = acme.schedules[0]
    event = dataclasses.replace(sched.events[0], days=("mon", "wed", "sat"))
    site = dataclasses.replace(acme, schedules=(
        dataclasses.replace(sched, events=(event, *sched.events[1:])),))
    dialplan = text(render(site, fixed_secrets(site)), "extensions.conf")
    assert "GotoIfTime(09:00-11:59,mon&wed&sat,*,*,America/Montevideo?v0)" in dialplan


def test_ivr_without_a_schedule_goes_to_its_menu(acme: Site) -> None:
    site = dataclasses.replace(acme, ivr=(
        dataclasses.replace(acme.ivr[0], schedule="", menus=(), menu="diurno"),))
    ivr = _context(text(render(site, fixed_secrets(site)), "extensions.conf"),
                   "expand-ivr-acme")
    assert "Gosub(expand-schedule" not in ivr and "GotoIf" not in ivr
    assert ivr.rstrip().endswith("Goto(expand-menu-diurno,s,1)")


def test_internal_calls_recorded_when_the_policy_says(acme: Site) -> None:
    site = dataclasses.replace(acme, recording=dataclasses.replace(
        acme.recording, calls=("internal",), format="wav49"))
    got = render(site, fixed_secrets(site))
    dialplan = text(got, "extensions.conf")
    assert "MixMonitor(/var/spool/asterisk/monitor/internal-" in _context(dialplan,
                                                                          "expand-ring")
    assert "MixMonitor" not in _context(dialplan, "expand-inbound")
    assert "MixMonitor" not in _context(dialplan, "expand-queue-recl")
    assert ".wav49,b)" in dialplan
    assert "allow = alaw,ulaw,gsm\n" in text(got, "pjsip.conf")


def test_g711_recordings_offer_no_gsm(acme: Site) -> None:
    site = dataclasses.replace(acme, recording=dataclasses.replace(
        acme.recording, format="alaw", storage_gb=10_000))
    assert "allow = alaw,ulaw\n" in text(render(site, fixed_secrets(site)), "pjsip.conf")


def test_queue_without_max_wait_has_no_exit_prompt(acme: Site) -> None:
    queue = dataclasses.replace(acme.queues[0], max_wait=0, exit_options=(), exit_prompt="")
    site = dataclasses.replace(acme, queues=(queue, acme.queues[1]))
    recl = _context(text(render(site, fixed_secrets(site)), "extensions.conf"),
                    "expand-queue-recl")
    assert "(queue),Queue(recl,,,,)" in recl and "msjSalidaCola" not in recl


def test_no_fax_no_e1_no_pins_leave_their_files_out(acme: Site) -> None:
    menus = tuple(dataclasses.replace(m, options=tuple(o for o in m.options
                                                       if not o[1].startswith("menu:fax")))
                  for m in acme.menus if m.id != "fax")
    routes = tuple(dataclasses.replace(r, trunk="gsm", pin=False) for r in acme.routes)
    site = dataclasses.replace(acme, fax=dataclasses.replace(acme.fax, enabled=False),
                               menus=menus, e1_trunks=(), routes=routes, pins=())
    got = render(site, fixed_secrets(site))
    assert not {"/etc/asterisk/res_fax.conf", "/etc/asterisk/expand-fax-to-mail",
                "/etc/asterisk/chan_dahdi.conf", "/etc/dahdi/system.conf",
                "/etc/asterisk/expand-pins"} & set(got)
    modules = text(got, "modules.conf")
    assert "noload => chan_dahdi.so\n" in modules
    assert "noload => res_fax_spandsp.so\n" in modules
    dialplan = text(got, "extensions.conf")
    assert "expand-fax-" not in dialplan and "Authenticate" not in dialplan
    assert "exten => h," not in _context(dialplan, "expand-outbound")


def test_tcp_trunk_gets_a_tcp_transport(acme: Site) -> None:
    trunk = dataclasses.replace(acme.sip_trunks[0], transport="tcp")
    site = dataclasses.replace(acme, sip_trunks=(trunk,))
    secs = sections(text(render(site, fixed_secrets(site)), "pjsip.conf"))
    assert dict(secs)["transport-tcp"]["protocol"] == ["tcp"]
    assert _endpoint(secs, "trunk-gsm")["transport"] == ["transport-tcp"]


def test_queue_named_general_is_refused(acme: Site) -> None:
    site = dataclasses.replace(acme, queues=(dataclasses.replace(acme.queues[0], id="general"),
                                             acme.queues[1]))
    with pytest.raises(ValidationFailed) as failed:
        render(site, fixed_secrets(site))
    assert [r.key for r in failed.value.reports] == ["queues.general"]
