"""Secrets the site file leaves out, generated once and kept in a 0600 JSON file.

An extension's SIP password, its voicemail password and a route PIN are generated the first
time a site is rendered and read back on every later render, so the output stays the same
byte for byte. A secret written in the site file wins and is not stored. The file is
``/var/lib/expand/pbx/secrets.json`` under the state root (the render's ``--out`` unless
``--state`` is given); it is written through FileSink with mode 0600 before anything reads
it, and its values never reach a message: a broken file is named, not shown.

In a cluster both nodes must render the same secrets (an extension's SIP secret must not
change when the service moves to the other node). So when the box has the cluster's shared
authkey (``/etc/corosync/authkey`` under the root, the same bytes on both nodes), a
generated secret is derived from it: HMAC-SHA256(authkey, "KIND:ID"), its bytes mapped onto
the same alphabet and length as a random one (bytes that would bias the mapping are skipped).
Without an authkey it is random, as on a single box. A stored secret still wins over both,
so a box that joins a cluster later keeps the secrets its phones already have.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
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
AUTHKEY_PATH = "/etc/corosync/authkey"  # ha.corosync.AUTHKEY_PATH (not imported: pbx stays apart)
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


def derived_secret(authkey: bytes, kind: str, rid: str) -> str:
    """The secret of record ``rid`` derived from the cluster's authkey (see the module
    text): the same on every node that holds the same authkey."""
    alphabet, length = (_ALPHABET, 24) if kind == "sip" else (string.digits, 6)
    limit = 256 - 256 % len(alphabet)  # bytes at or above it would favour the first symbols
    chars: list[str] = []
    block = 0
    while len(chars) < length:
        label = f"{kind}:{rid}" if block == 0 else f"{kind}:{rid}:{block}"
        digest = hmac.new(authkey, label.encode(), hashlib.sha256).digest()
        chars += [alphabet[b % len(alphabet)] for b in digest if b < limit]
        block += 1
    return "".join(chars[:length])


def cluster_key(root: Path) -> bytes | None:
    """The cluster's shared authkey under ``root``, or None on a box without one (or when
    it cannot be read: then the secrets are random, as without a cluster)."""
    path = FileSink(root).target(AUTHKEY_PATH)
    try:
        if path.is_file() and 0 < path.stat().st_size <= 4096:
            return path.read_bytes()
    except OSError:
        pass
    return None


def complete(site: Site, stored: Mapping[str, Mapping[str, str]],
             generate: Generator = _generate, *,
             authkey: bytes | None = None) -> tuple[Secrets, dict[str, dict[str, str]]]:
    """Every secret the render needs, and what the state file must hold afterwards (the
    generated ones only: a secret of the site file is never copied into it). With
    ``authkey`` (``cluster_key``) a missing secret is derived from it, not ``generate``d."""
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
            new = derived_secret(authkey, kind, rid) if authkey else ""
            values[kind][rid] = keep[kind][rid] = old or new or generate(kind)
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


# The secrets file's folder also holds what Asterisk reads as its own user: the site's audio
# folder (prompts, music on hold) and the releases. Others may traverse it, never list it;
# the secrets file itself stays 0600.
STATE_DIR_MODE = 0o711


def save(state_root: Path, keep: Mapping[str, Mapping[str, str]]) -> bool:
    """Write the state file (0600, atomically; its folder 0711, whatever it was before);
    False when it already held exactly that."""
    sink = FileSink(state_root)
    changed = sink.write(SECRETS_PATH, dump(keep), mode=0o600, dir_mode=STATE_DIR_MODE)
    os.chmod(sink.target(SECRETS_PATH).parent, STATE_DIR_MODE)
    return changed
