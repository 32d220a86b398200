"""The ACME site (the seed's boot camp) as a model: people, extensions, queues, schedule."""

from __future__ import annotations

import datetime
import subprocess
import sys
import tomllib
import zoneinfo
from pathlib import Path

import pytest

from pbx.model import Site
from pbx.recording import FORMATS, SEED_MINUTES, SEED_STORAGE_GB, budget_kbit_s, fits
from pbx.schedule import gotoiftime_range, value_at, value_at_time
from pbx.show import dump_site, site_data
from pbx.site import check_file, load_site, parse_site

REPO = Path(__file__).resolve().parents[2]
ACME = REPO / "examples" / "site" / "acme.toml"


@pytest.fixture(scope="module")
def acme() -> Site:
    return load_site(ACME)


def test_acme_validates() -> None:
    site, reports = check_file(ACME)
    assert reports == [] and site is not None


def test_acme_has_the_seeds_departments_and_people(acme: Site) -> None:
    assert [d.name for d in acme.departments] == [
        "Callcenter", "Callcenter Ventas", "Administración"]
    assert [d.description for d in acme.departments] == ["Técnico", "Ventas", "Admin"]
    people = {u.id: (u.name, u.email, u.department, u.profile) for u in acme.users}
    assert people == {
        "adiaz": ("Ana Díaz", "adiaz@empresa.com", "callcenter", "supervisor-callcenter"),
        "dbueno": ("Diego Bueno", "dbueno@empresa.com", "callcenter", "operador-callcenter"),
        "sgaleano": ("Sebastián Galeano", "sgaleano@empresa.com", "ventas", "supervisor-ventas"),
        "mmato": ("Martín Mato", "mmato@empresa.com", "ventas", "operador-ventas"),
        "lgianoni": ("Lorena Gianoni", "lgianoni@empresa.com", "ventas", "operador-ventas"),
        "disola": ("Dario Isola", "disola@empresa.com", "administracion",
                   "supervisor-administracion"),
    }


def test_acme_extensions_are_the_seeds(acme: Site) -> None:
    got = {e.number: (e.user, e.department, e.type, e.callerid) for e in acme.extensions}
    assert got == {
        "550": ("adiaz", "callcenter", "sip", "Ana Díaz"),
        "551": ("dbueno", "callcenter", "sip", "Diego Bueno"),
        "770": ("sgaleano", "ventas", "sip", "Sebastián Galeano"),
        "771": ("mmato", "ventas", "sip", "Martín Mato"),
        "601": ("disola", "administracion", "sip", "Dario Isola"),
        "772": ("lgianoni", "ventas", "sip", "Lorena Gianoni"),
    }
    assert all(e.voicemail and e.secret == "" for e in acme.extensions)  # generated later


def test_acme_profiles_have_the_seeds_resources(acme: Site) -> None:
    got = {p.name: set(p.permissions) for p in acme.profiles}
    assert got == {
        "Supervisor Callcenter": {"monitor-extensions", "queue-analysis", "call-analysis",
                                  "download-recordings", "listen-recordings",
                                  "agent-analysis", "control-panel"},
        "Operador Callcenter": {"monitor-extensions", "listen-recordings"},
        "Supervisor Ventas": {"monitor-extensions", "campaigns", "call-analysis",
                              "listen-recordings", "control-panel", "agent-analysis"},
        "Operador Ventas": {"monitor-extensions", "listen-recordings"},
        "Supervisor Administración": {"report-admin", "cost-admin", "extension-admin",
                                      "call-analysis", "listen-recordings", "queue-analysis"},
    }


def test_acme_queues_recl_and_prov_in_rrmemory(acme: Site) -> None:
    got = {q.id: (q.description, q.department, q.strategy, q.members) for q in acme.queues}
    assert got == {"recl": ("Reclamos", "callcenter", "rrmemory", ("550", "551")),
                   "prov": ("Proveedores", "callcenter", "rrmemory", ("550", "551"))}
    assert {q.entry_prompt for q in acme.queues} == {"msjEntradaCola"}
    assert {q.exit_prompt for q in acme.queues} == {"msjSalidaCola"}


def test_acme_schedule(acme: Site) -> None:
    (sched,) = acme.schedules
    assert sched.values == ("Matutino", "Vespertino", "Nocturno")
    assert sched.default == "Nocturno" and sched.timezone == "America/Montevideo"
    weekdays = ("mon", "tue", "wed", "thu", "fri")
    assert {(e.value, e.start, e.end, e.days) for e in sched.events} == {
        ("Matutino", "09:00", "11:59", weekdays), ("Vespertino", "12:00", "17:59", weekdays)}


@pytest.mark.parametrize(("day", "hhmm", "value"), [
    ("mon", "08:59", "Nocturno"), ("mon", "09:00", "Matutino"), ("wed", "11:59", "Matutino"),
    ("thu", "12:00", "Vespertino"), ("fri", "17:59", "Vespertino"), ("fri", "18:00", "Nocturno"),
    ("sat", "12:00", "Nocturno"), ("sun", "10:00", "Nocturno"), ("tue", "00:00", "Nocturno"),
])
def test_schedule_value_at_the_seeds_edges(acme: Site, day: str, hhmm: str, value: str) -> None:
    hours, mins = map(int, hhmm.split(":"))
    assert value_at(acme.schedules[0], day, hours * 60 + mins) == value


def test_schedule_reads_time_in_its_own_zone(acme: Site) -> None:
    # 12:30 UTC on a Monday is 09:30 in Montevideo (UTC-3): Matutino, not Vespertino.
    when = datetime.datetime(2026, 3, 2, 12, 30, tzinfo=zoneinfo.ZoneInfo("UTC"))
    assert value_at_time(acme.schedules[0], when) == "Matutino"
    assert gotoiftime_range("09:00", "11:59", ("mon", "tue", "wed", "thu", "fri")) == (
        "09:00-11:59", "mon-fri")
    assert gotoiftime_range("09:00", "10:00", ("mon", "wed")) == ("09:00-10:00", "mon&wed")


def test_acme_ivr_follows_anexo_d(acme: Site) -> None:
    menus = {m.id: m for m in acme.menus}
    assert dict(menus["diurno"].options) == {"1": "queue:recl", "2": "extension:601",
                                             "3": "menu:fax"}
    assert menus["diurno"].dial_by_extension and menus["nocturno"].dial_by_extension
    assert menus["nocturno"].prompt == "msjBienvenidaNocturno"
    assert menus["nocturno"].timeout_prompt == "msjDejeMsj"
    assert menus["fax"].prompt == "msjMenuFAX"
    assert {t for _, t in menus["fax"].options} >= {"fax:callcenter", "fax:administracion"}
    assert menus["diurno"].invalid_prompt == "msjOpcionInvalida"
    assert menus["diurno"].extension_invalid_prompt == "msjInternoInvalido"
    assert menus["diurno"].extension_noanswer_prompt == "msjInternoNC"
    assert menus["diurno"].extension_busy_prompt == "msjInternoOcupado"
    (ivr,) = acme.ivr
    assert dict(ivr.menus) == {"Matutino": "diurno", "Vespertino": "diurno",
                               "Nocturno": "nocturno"}


def test_acme_trunks_routes_and_recording(acme: Site) -> None:
    (e1,) = acme.e1_trunks
    assert (e1.switchtype, e1.framing, e1.coding, e1.crc4, e1.signalling, e1.timing) == (
        "euroisdn", "ccs", "hdb3", False, "pri_cpe", 1)
    routes = {r.id: r for r in acme.routes}
    assert routes["international"].pin and routes["international"].record
    assert not routes["local"].pin and acme.pins
    assert acme.recording.format == "gsm"
    assert "13 kbit/s" in acme.recording.stored.stores


def test_sizing_rule_gsm_fits_and_wav_does_not() -> None:
    assert round(budget_kbit_s(SEED_STORAGE_GB, SEED_MINUTES), 1) == 22.2
    assert fits(FORMATS["gsm"], SEED_STORAGE_GB, SEED_MINUTES)
    assert fits(FORMATS["wav49"], SEED_STORAGE_GB, SEED_MINUTES)
    for name in ("wav", "ulaw", "alaw"):
        assert not fits(FORMATS[name], SEED_STORAGE_GB, SEED_MINUTES)


def test_show_round_trips_and_leaves_secrets_out(tmp_path: Path) -> None:
    text = ACME.read_text().replace('[extensions.550]\n',
                                    '[extensions.550]\nsecret = "Sup3r-s3cret-550"\n')
    text = text.replace('[pins.adiaz]\n', '[pins.adiaz]\npin = "918273"\n')
    site_file = tmp_path / "acme.toml"
    site_file.write_text(text)
    site = load_site(site_file)
    assert set(site.secrets()) == {"Sup3r-s3cret-550", "918273"}
    shown = dump_site(site)
    assert "Sup3r-s3cret-550" not in shown and "918273" not in shown
    assert "Sup3r-s3cret-550" not in repr(site) and "918273" not in str(site_data(site))
    again, reports = parse_site(tomllib.loads(shown), "shown.toml")
    assert reports == []
    assert again == load_site(ACME)  # the same model, secrets aside


def test_cli_show_and_keys() -> None:
    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "appliance.cli", "pbx", *argv],
                              capture_output=True, text=True, cwd=REPO, timeout=60,
                              check=False)

    shown = run("show", str(ACME))
    assert shown.returncode == 0 and "[extensions.550]" in shown.stdout
    assert 'callerid = "Ana Díaz"' in shown.stdout
    as_json = run("show", "--json", str(ACME))
    assert as_json.returncode == 0 and '"rrmemory"' in as_json.stdout
    keys = run("keys")
    assert keys.returncode == 0 and "queues.NAME.strategy" in keys.stdout
    valid = run("validate", str(ACME))
    assert valid.returncode == 0 and valid.stderr == ""


def test_readme_site_key_table_matches_the_field_tables() -> None:
    from pbx.cli import keys_markdown

    readme = (REPO / "README.md").read_text()
    begin, end = "<!-- site-keys:begin -->\n", "<!-- site-keys:end -->"
    table = readme[readme.index(begin) + len(begin):readme.index(end)]
    assert table == keys_markdown(), (
        "README.md site key table is stale: regenerate with `expandctl pbx keys --markdown`")
