"""Secrets the site file leaves out, generated once and kept in a 0600 JSON file.

An extension's SIP password, its voicemail password and a route PIN are generated the first
time a site is rendered and read back on every later render, so the output stays the same
byte for byte. A secret written in the site file wins and is not stored. The file is
``/var/lib/expand/pbx/secrets.json`` under the state root (the render's ``--out`` unless
``--state`` is given); it is written through FileSink with mode 0600 before anything reads
it, and its values never reach a message: a broken file is named, not shown.
"""

from __future__ import annotations

import json
import secrets as random
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.readers import ReadError, read_text, show_path
from pbx.model import Site

SECRETS_PATH = "/var/lib/expand/pbx/secrets.json"
KINDS = ("sip", "voicemail", "pins")
_ALPHABET = string.ascii_letters + string.digits


def new_sip_secret() -> str:
    return "".join(random.choice(_ALPHABET) for _ in range(24))


def new_digits(length: int = 6) -> str:
    return "".join(random.choice(string.digits) for _ in range(length))


@dataclass(frozen=True)
class Secrets:
    """kind ("sip", "voicemail", "pins") → record id → secret."""

    values: Mapping[str, Mapping[str, str]] = field(repr=False)

    def get(self, kind: str, rid: str) -> str:
        return self.values[kind][rid]

    def all(self) -> list[str]:
        return [s for table in self.values.values() for s in table.values()]


Generator = Callable[[str], str]


def _generate(kind: str) -> str:
    return new_sip_secret() if kind == "sip" else new_digits()


def complete(site: Site, stored: Mapping[str, Mapping[str, str]],
             generate: Generator = _generate) -> tuple[Secrets, dict[str, dict[str, str]]]:
    """Every secret the render needs, and what the state file must hold afterwards (the
    generated ones only: a secret of the site file is never copied into it)."""
    wanted: dict[str, dict[str, str]] = {
        "sip": {e.id: e.secret for e in site.extensions},
        "voicemail": {e.id: "" for e in site.extensions if e.voicemail},
        "pins": {p.id: p.pin for p in site.pins},
    }
    values: dict[str, dict[str, str]] = {}
    keep: dict[str, dict[str, str]] = {}
    for kind, table in wanted.items():
        values[kind], keep[kind] = {}, {}
        for rid, given in table.items():
            if given:
                values[kind][rid] = given
                continue
            old = stored.get(kind, {}).get(rid, "")
            values[kind][rid] = keep[kind][rid] = old or generate(kind)
    return Secrets(values), keep


def _valid(kind: str, secret: object) -> bool:
    if not isinstance(secret, str):
        return False
    if kind == "sip":
        return 8 <= len(secret) <= 128 and all(c in _ALPHABET for c in secret)
    return 4 <= len(secret) <= 12 and secret.isdigit()


def load(state_root: Path) -> dict[str, dict[str, str]]:
    """The stored secrets (empty when there is no file yet). A file that is not ours is an
    ExpandError naming it; a value of the wrong shape is dropped (generated again)."""
    path = FileSink(state_root).target(SECRETS_PATH)
    try:
        text = read_text(path, what="secrets file")
    except ReadError as exc:
        if exc.missing:
            return {}
        raise
    if path.stat().st_mode & 0o077:
        raise ExpandError(f"{show_path(path)}: secrets file is readable by others "
                          "(mode must be 0600): fix its mode or remove it")
    try:
        data = json.loads(text)
    except ValueError:
        raise ExpandError(f"{show_path(path)}: secrets file is not valid JSON "
                          "(remove it: the secrets are generated again)") from None
    if not isinstance(data, dict):
        raise ExpandError(f"{show_path(path)}: secrets file is not a JSON object")
    found: dict[str, dict[str, str]] = {}
    for kind in KINDS:
        table = data.get(kind, {})
        if isinstance(table, dict):
            found[kind] = {str(k): v for k, v in table.items() if _valid(kind, v)}
    return found


def dump(keep: Mapping[str, Mapping[str, str]]) -> str:
    return json.dumps({k: dict(sorted(keep.get(k, {}).items())) for k in KINDS},
                      indent=2, sort_keys=True) + "\n"


def save(state_root: Path, keep: Mapping[str, Mapping[str, str]]) -> bool:
    """Write the state file (0600, atomically); False when it already held exactly that."""
    return FileSink(state_root).write(SECRETS_PATH, dump(keep), mode=0o600, dir_mode=0o700)
