"""The field tables of the site file: one per record kind. They drive parsing, `pbx keys`
and the README table.

A site file holds singletons (``[site]``, ``[recording]``, ``[fax]``) and collections keyed by
name (``[users.adiaz]``, ``[extensions.550]``, ``[schedules.atencion.events.matutino]``).
Field names are kebab- or snake-case; record names are taken as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from appliance import validators as v
from appliance.fields import REQUIRED, Field
from pbx import checks as c
from pbx.recording import FORMATS, SEED_MINUTES, SEED_STORAGE_GB

PERMISSIONS: dict[str, str] = {
    "monitor-extensions": "Monitoreo Extensiones",
    "listen-recordings": "Escuchar audio",
    "download-recordings": "Descargar audio",
    "queue-analysis": "Análisis de Cola",
    "agent-analysis": "Análisis de Agentes",
    "call-analysis": "Análisis de Llamadas",
    "campaigns": "Campañas",
    "control-panel": "Panel de Control",
    "report-admin": "ABM-Reports",
    "cost-admin": "ABM-Costos",
    "extension-admin": "ABM-Extensiones",
}
RECORDED_CALLS = ("inbound", "queues", "internal")


@dataclass(frozen=True)
class Kind:
    key: str                       # the TOML table: "users", or "events" inside a schedule
    fields: tuple[Field, ...]
    help: str
    collection: bool = True        # a table of NAME → record, or one record
    id_check: v.Check = c.ident
    children: tuple[Kind, ...] = ()

    @property
    def by_key(self) -> dict[str, Field]:
        return {f.key: f for f in self.fields}


def _f(key: str, check: v.Check, default: Any, help: str, secret: bool = False) -> Field:
    return Field(key, check, default, help, secret)


SITE = Kind("site", (
    _f("name", c.name, REQUIRED, "the customer's name, as callers hear it (ACME S.A.)"),
    _f("timezone", v.timezone, REQUIRED,
       "time zone of the schedules, checked against zoneinfo (Asterisk would silently use GMT "
       "for an unknown one)"),
    _f("audio-dir", c.optional_abs_path, "",
       "absolute folder of the customer's prompts (NAME.wav, mono 8 kHz 16-bit); checked "
       "when it exists"),
    _f("voicemail-from", c.optional_email, "", "sender of voicemail and fax mails "
       "(default: the appliance's SMTP account)"),
), "the customer", collection=False)

DEPARTMENTS = Kind("departments", (
    _f("name", c.name, REQUIRED, "department name (Callcenter)"),
    _f("description", c.description, "", "what it does"),
    _f("email", c.optional_email, "", "address that receives the department's faxes"),
), "departments (Administración / Departamentos)")

PROFILES = Kind("profiles", (
    _f("name", c.name, REQUIRED, "profile name (Supervisor Callcenter)"),
    _f("permissions", c.choices(*PERMISSIONS), REQUIRED,
       "resources the profile opens: " + ", ".join(f"{k} ({s})" for k, s in PERMISSIONS.items())),
), "access profiles (Perfiles de acceso)")

USERS = Kind("users", (
    _f("name", c.name, REQUIRED, "the person's full name; also the extension's caller ID"),
    _f("email", c.email, REQUIRED, "mail address: voicemail goes there"),
    _f("department", c.ident, REQUIRED, "the department the user works in"),
    _f("profile", c.ident, REQUIRED, "the access profile"),
    _f("monitors", c.list_of(c.ident), (), "departments whose statistics and reports the user "
       "sees (Monitoreo de Departamentos)"),
), "users, named by login (adiaz)")

EXTENSIONS = Kind("extensions", (
    _f("type", v.choice("sip"), "sip", "channel type: SIP (PJSIP endpoint)"),
    _f("user", c.ident, REQUIRED, "the user who answers it"),
    _f("department", c.ident, REQUIRED, "the department it belongs to"),
    _f("callerid", c.description, "", "caller ID name (default: the user's name)"),
    _f("secret", c.sip_secret, "", "SIP password; leave it out: it is generated (kept 0600, "
       "never logged or shown)", secret=True),
    _f("voicemail", v.boolean, True, "voicemail box, mailed to the user's address"),
), "extensions, named by number (550)", id_check=c.number)

QUEUES = Kind("queues", (
    _f("description", c.description, "", "what the queue is for (Reclamos)"),
    _f("type", v.choice("callcenter"), "callcenter", "queue type (Tipo de cola)"),
    _f("department", c.ident, REQUIRED, "the department it belongs to"),
    _f("strategy", v.choice(*c.STRATEGIES), "ringall",
       "how calls are given to members (Asterisk: " + ", ".join(c.STRATEGIES) + ")"),
    _f("members", c.list_of(c.number), (), "extensions that answer it (one may be in several)"),
    _f("music-on-hold", c.moh_class, "default", "music-on-hold class callers hear"),
    _f("number", c.optional_number, "", "number that dials the queue directly (optional)"),
    _f("entry-prompt", c.optional_prompt, "", "played on entering (msjEntradaCola)"),
    _f("exit-prompt", c.optional_prompt, "", "played after max-wait (msjSalidaCola)"),
    _f("max-wait", c.count(0, 3600), 0, "seconds before the exit prompt (0: wait for ever)"),
    _f("exit-options", c.digit_map, (), "digit = target after the exit prompt"),
    _f("record", v.boolean, True, "record the queue's calls (when recording.calls has queues)"),
), "call-center queues (Colas)")

EVENTS = Kind("events", (
    _f("value", c.name, REQUIRED, "the schedule value it sets (Matutino)"),
    _f("start", c.clock_time, REQUIRED, "first minute, HH:MM"),
    _f("end", c.clock_time, REQUIRED, "last minute, HH:MM, included (11:59)"),
    _f("days", c.days, REQUIRED, "week days it repeats on: [\"mon-fri\"]"),
), "weekly events of a schedule")

SCHEDULES = Kind("schedules", (
    _f("name", c.name, REQUIRED, "schedule name (Atención al cliente)"),
    _f("values", c.list_of(c.name, allow_empty=False), REQUIRED,
       "its possible values (Matutino, Vespertino, Nocturno)"),
    _f("default", c.name, REQUIRED, "value for the rest of the week (Nocturno)"),
    _f("timezone", v.timezone, REQUIRED, "time zone the events are in, checked against zoneinfo"),
    _f("active", v.boolean, True, "calendar active (inactive: always the default)"),
), "schedules (Agendas)", children=(EVENTS,))

MENUS = Kind("menus", (
    _f("prompt", c.prompt, REQUIRED, "the menu's prompt"),
    _f("options", c.digit_map, (), "digit = target: queue:NAME, extension:N, menu:NAME, "
       "ivr:NAME, voicemail:N, fax:DEPARTMENT, hangup"),
    _f("dial-by-extension", v.boolean, False, "callers may dial an extension number"),
    _f("timeout", c.count(1, 60), 5, "seconds to wait for a digit"),
    _f("timeout-prompt", c.optional_prompt, "", "played before the timeout target (msjDejeMsj)"),
    _f("timeout-target", c.target, "hangup", "where a caller who presses nothing goes"),
    _f("invalid-prompt", c.prompt, "msjOpcionInvalida", "played for a key with no option"),
    _f("invalid-retries", c.count(1, 9), 3, "wrong keys before the invalid target"),
    _f("invalid-target", c.target, "hangup", "where a caller goes after the last wrong key"),
    _f("extension-invalid-prompt", c.prompt, "msjInternoInvalido",
       "dialled extension does not exist; then back to this menu"),
    _f("extension-noanswer-prompt", c.prompt, "msjInternoNC", "dialled extension did not answer"),
    _f("extension-noanswer-options", c.optional_prompt, "msjInternoOpcionNC",
       "then: 1 leaves a message, 0 dials another extension"),
    _f("extension-busy-prompt", c.prompt, "msjInternoOcupado", "dialled extension is busy"),
    _f("extension-busy-options", c.optional_prompt, "msjInternoOpcionOcupado",
       "then: 1 leaves a message, 0 dials another extension"),
    _f("ring-seconds", c.count(5, 120), 20, "how long a dialled extension rings"),
), "IVR menus")

IVR = Kind("ivr", (
    _f("name", c.name, REQUIRED, "name of the entry point (ACME)"),
    _f("number", c.optional_number, "", "number that reaches it from inside (optional)"),
    _f("schedule", c.optional_ident, "",
       "schedule whose value picks the menu (empty: always `menu`)"),
    _f("menus", c.value_map, (), "schedule value = menu"),
    _f("menu", c.ident, REQUIRED, "menu without a schedule, or for a value not listed"),
    _f("inbound", v.boolean, True, "calls from the trunks land here"),
), "IVR entry points: schedule value → menu")

RECORDING = Kind("recording", (
    _f("calls", c.choices(*RECORDED_CALLS), ("inbound", "queues"),
       "which calls are recorded: " + ", ".join(RECORDED_CALLS) + " (outbound: per route)"),
    _f("directory", c.abs_path, "/var/spool/asterisk/monitor", "where recordings are kept "
       "(on the cluster's shared data)"),
    _f("format", v.choice(*FORMATS), "gsm", "file format: " + "; ".join(
        f"{f.name}: {f.stores}" for f in FORMATS.values())),
    _f("storage-gb", c.count(1, 1_000_000), SEED_STORAGE_GB, "space for recordings, GB"),
    _f("minutes", c.count(1, 10**10), SEED_MINUTES,
       "minutes that space must hold (the seed: 500 GB ≈ 3,000,000 minutes ≈ 22 kbit/s)"),
), "call recording policy", collection=False)

ROUTES = Kind("routes", (
    _f("patterns", c.list_of(c.dial_pattern, allow_empty=False), REQUIRED,
       "Asterisk dial patterns (_[24]XXXXXXX, _09XXXXXXX, _00X.)"),
    _f("trunk", c.ident, REQUIRED, "trunk the calls leave by (sip-trunks or e1-trunks)"),
    _f("pin", v.boolean, False, "a PIN of the pins list is asked first"),
    _f("record", v.boolean, False, "record these calls"),
    _f("strip", c.count(0, 8), 0, "leading digits removed before dialling"),
    _f("prepend", c.description, "", "digits put in front before dialling"),
), "outbound routes")

PINS = Kind("pins", (
    _f("user", c.optional_ident, "", "who the PIN belongs to (a user, optional)"),
    _f("pin", c.pin, "", "4-12 digits; leave it out: it is generated (kept 0600, never logged)",
       secret=True),
), "PINs for routes with pin = true")

SIP_TRUNKS = Kind("sip-trunks", (
    _f("host", v.fqdn_or_ip, REQUIRED, "provider or gateway address"),
    _f("port", c.count(1, 65535), 5060, "its SIP port"),
    _f("transport", v.choice("udp", "tcp"), "udp", "SIP transport"),
    _f("register", v.boolean, False, "send a PJSIP registration (needs username and secret)"),
    _f("username", v.text, "", "account at the provider"),
    _f("secret", c.sip_secret, "", "password at the provider (never logged or shown)",
       secret=True),
    _f("match", c.network_list, (), "networks calls come from (PJSIP identify; default host)"),
    _f("channels", c.count(1, 1000), 30, "simultaneous calls"),
), "SIP trunks (PJSIP endpoint, aor, auth, registration, identify)")

E1_TRUNKS = Kind("e1-trunks", (
    _f("span", c.count(1, 32), 1, "DAHDI span number"),
    _f("signalling", v.choice("pri_cpe", "pri_net"), "pri_cpe",
       "pri_cpe: we are the customer side and take the clock from the remote end"),
    _f("timing", c.count(0, 32), None, "span timing: 1 = clock from the remote end (pri_cpe), "
       "0 = we give the clock (pri_net); default from signalling"),
    _f("switchtype", v.choice("euroisdn", "national", "qsig"), "euroisdn", "ISDN variant"),
    _f("framing", v.choice("ccs", "cas"), "ccs", "E1 framing"),
    _f("coding", v.choice("hdb3", "ami"), "hdb3", "line coding"),
    _f("crc4", v.boolean, False, "CRC4 error checking (the seed's link: none)"),
    _f("lbo", c.count(0, 7), 0, "line build-out"),
), "E1/PRI trunks through DAHDI (the seed's Anexo C link)")

FAX = Kind("fax", (
    _f("enabled", v.boolean, True, "receive faxes (res_fax_spandsp) and mail them"),
    _f("attach", v.choice("pdf", "tiff"), "pdf", "attachment format of the mail"),
    _f("relay", v.text, "localhost:25", "SMTP relay of the appliance the mail goes through"),
), "fax to mail: the department of a fax:DEPARTMENT target receives it", collection=False)

KINDS: tuple[Kind, ...] = (
    SITE, DEPARTMENTS, PROFILES, USERS, EXTENSIONS, QUEUES, SCHEDULES, MENUS, IVR, RECORDING,
    ROUTES, PINS, SIP_TRUNKS, E1_TRUNKS, FAX,
)
BY_KEY: dict[str, Kind] = {k.key: k for k in KINDS}


def all_fields() -> list[tuple[str, Field]]:
    """``(dotted key, field)`` for every field, as `pbx keys` lists them."""
    rows: list[tuple[str, Field]] = []

    def walk(kind: Kind, prefix: str) -> None:
        base = f"{prefix}{kind.key}" + (".NAME" if kind.collection else "")
        rows.extend((f"{base}.{f.key}", f) for f in kind.fields)
        for child in kind.children:
            walk(child, base + ".")

    for kind in KINDS:
        walk(kind, "")
    return rows
