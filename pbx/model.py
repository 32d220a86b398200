"""The site model: frozen records built from a site file that passed every check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from pbx.recording import FORMATS, Format


@dataclass(frozen=True)
class SiteInfo:
    name: str
    timezone: str
    audio_dir: str
    voicemail_from: str


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    description: str
    email: str


@dataclass(frozen=True)
class Profile:
    id: str
    name: str
    permissions: tuple[str, ...]


@dataclass(frozen=True)
class User:
    id: str
    name: str
    email: str
    department: str
    profile: str
    monitors: tuple[str, ...]


@dataclass(frozen=True)
class Extension:
    id: str  # the number
    type: str
    user: str
    department: str
    callerid: str
    voicemail: bool
    secret: str = field(default="", repr=False)  # empty: generated at render time

    @property
    def number(self) -> str:
        return self.id


@dataclass(frozen=True)
class Queue:
    id: str
    description: str
    type: str
    department: str
    strategy: str
    members: tuple[str, ...]
    music_on_hold: str
    number: str
    entry_prompt: str
    exit_prompt: str
    max_wait: int
    exit_options: tuple[tuple[str, str], ...]
    record: bool


@dataclass(frozen=True)
class Event:
    id: str
    value: str
    start: str
    end: str
    days: tuple[str, ...]


@dataclass(frozen=True)
class Schedule:
    id: str
    name: str
    values: tuple[str, ...]
    default: str
    timezone: str
    active: bool
    events: tuple[Event, ...]


@dataclass(frozen=True)
class Menu:
    id: str
    prompt: str
    options: tuple[tuple[str, str], ...]
    dial_by_extension: bool
    timeout: int
    timeout_prompt: str
    timeout_target: str
    invalid_prompt: str
    invalid_retries: int
    invalid_target: str
    extension_invalid_prompt: str
    extension_noanswer_prompt: str
    extension_noanswer_options: str
    extension_busy_prompt: str
    extension_busy_options: str
    ring_seconds: int


@dataclass(frozen=True)
class Ivr:
    id: str
    name: str
    number: str
    schedule: str
    menus: tuple[tuple[str, str], ...]
    menu: str
    inbound: bool


@dataclass(frozen=True)
class Recording:
    calls: tuple[str, ...]
    directory: str
    format: str
    storage_gb: int
    minutes: int

    @property
    def stored(self) -> Format:
        return FORMATS[self.format]


@dataclass(frozen=True)
class Route:
    id: str
    patterns: tuple[str, ...]
    trunk: str
    pin: bool
    record: bool
    strip: int
    prepend: str


@dataclass(frozen=True)
class Pin:
    id: str
    user: str
    pin: str = field(default="", repr=False)  # empty: generated at render time


@dataclass(frozen=True)
class SipTrunk:
    id: str
    host: str
    port: int
    transport: str
    register: bool
    username: str
    match: tuple[str, ...]
    channels: int
    secret: str = field(default="", repr=False)


@dataclass(frozen=True)
class E1Trunk:
    id: str
    span: int
    signalling: str
    timing: int
    switchtype: str
    framing: str
    coding: str
    crc4: bool
    lbo: int


@dataclass(frozen=True)
class Fax:
    enabled: bool
    attach: str
    relay: str


@dataclass(frozen=True)
class Site:
    site: SiteInfo
    departments: tuple[Department, ...]
    profiles: tuple[Profile, ...]
    users: tuple[User, ...]
    extensions: tuple[Extension, ...]
    queues: tuple[Queue, ...]
    schedules: tuple[Schedule, ...]
    menus: tuple[Menu, ...]
    ivr: tuple[Ivr, ...]
    recording: Recording
    routes: tuple[Route, ...]
    pins: tuple[Pin, ...]
    sip_trunks: tuple[SipTrunk, ...]
    e1_trunks: tuple[E1Trunk, ...]
    fax: Fax

    def secrets(self) -> tuple[str, ...]:
        """Every secret the file gave, for a log redactor."""
        found = [e.secret for e in self.extensions] + [p.pin for p in self.pins]
        found += [t.secret for t in self.sip_trunks]
        return tuple(s for s in found if s)


T = TypeVar("T")
RECORDS: dict[str, type[Any]] = {
    "site": SiteInfo, "departments": Department, "profiles": Profile, "users": User,
    "extensions": Extension, "queues": Queue, "schedules": Schedule, "menus": Menu,
    "ivr": Ivr, "recording": Recording, "routes": Route, "pins": Pin,
    "sip-trunks": SipTrunk, "e1-trunks": E1Trunk, "fax": Fax,
}


def _record(cls: type[T], values: Mapping[str, Any], record_id: str | None) -> T:
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    kwargs = {k.replace("-", "_"): val for k, val in values.items()
              if k.replace("-", "_") in names}
    if record_id is not None:
        kwargs["id"] = record_id
    return cls(**kwargs)


def build(parsed: Mapping[str, Any]) -> Site:
    """``parsed`` (kind → record, or kind → name → record) → the model, defaults derived."""
    users = {uid: u for uid, u in parsed["users"].items()}
    built: dict[str, Any] = {}
    for kind, cls in RECORDS.items():
        if kind in ("site", "recording", "fax"):
            built[kind.replace("-", "_")] = _record(cls, parsed[kind], None)
            continue
        records = []
        for rid, values in parsed[kind].items():
            values = dict(values)
            if kind == "extensions" and not values["callerid"]:
                values["callerid"] = users[values["user"]]["name"]
            if kind == "e1-trunks" and values["timing"] is None:
                values["timing"] = 1 if values["signalling"] == "pri_cpe" else 0
            if kind == "sip-trunks" and not values["match"]:
                values["match"] = (values["host"],)
            if kind == "schedules":
                values["events"] = tuple(_record(Event, ev, eid)
                                         for eid, ev in values["events"].items())
            records.append(_record(cls, values, rid))
        built[kind.replace("-", "_")] = tuple(records)
    return Site(**built)
