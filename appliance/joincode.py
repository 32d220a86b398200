"""The join code: how the secondary gets the cluster authkey without copying a file.

The primary's first boot draws 128 random bits, shows them once in its final report as a
code like ``K7QM-2XWA-...-R4`` (base32, groups of four, two check characters against
typos), and derives the corosync authkey from it (HKDF-SHA256, 256 bytes). The technician
types it into the secondary's first boot, which derives the same key. Whoever has the code
can join the cluster: it is shown on the primary's console, never logged, never in the
answers or reports; the primary keeps it only root-readable next to the authkey it equals
in worth (0600, see firstboot/steps/cluster.py for why), for ``expandctl ha join-code``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable

from appliance.errors import ExpandError

# corosync's authkey size; the key is derived here, so the size lives here (no import of
# appliance imports nothing from ha).
AUTHKEY_BYTES = 256
SECRET_BYTES = 16
CHECK_CHARS = 2
INFO = b"expand corosync authkey v1"


def _check(body: str) -> str:
    digest = hashlib.sha256(body.encode()).digest()
    return base64.b32encode(digest).decode()[:CHECK_CHARS]


def new_join_code(random_bytes: Callable[[int], bytes] = os.urandom) -> str:
    body = base64.b32encode(random_bytes(SECRET_BYTES)).decode().rstrip("=")
    full = body + _check(body)
    return "-".join(full[i:i + 4] for i in range(0, len(full), 4))


def parse_join_code(text: str) -> bytes:
    """The secret behind a typed code; forgives case, spaces and dashes, not typos."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    cleaned = cleaned.replace("0", "O").replace("1", "I").replace("8", "B")
    bad = sorted(set(cleaned) - set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"))
    if bad:
        raise ExpandError(f"join code has characters that are never in a code: {''.join(bad)}")
    body_len = len(base64.b32encode(bytes(SECRET_BYTES)).decode().rstrip("="))
    if len(cleaned) != body_len + CHECK_CHARS:
        raise ExpandError(f"join code has {len(cleaned)} letters/digits, expected "
                          f"{body_len + CHECK_CHARS}: copy it again from the primary's report")
    body, check = cleaned[:body_len], cleaned[body_len:]
    if not hmac.compare_digest(_check(body), check):
        raise ExpandError("join code does not check out (a typo?): copy it again from the "
                          "primary's report")
    padded = body + "=" * (-len(body) % 8)
    return base64.b32decode(padded)


def authkey_from_secret(secret: bytes) -> bytes:
    """HKDF-SHA256 (RFC 5869) with an empty salt: the same secret gives the same key."""
    prk = hmac.new(b"\0" * 32, secret, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < AUTHKEY_BYTES:
        block = hmac.new(prk, block + INFO + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:AUTHKEY_BYTES]


def authkey_from_code(code: str) -> bytes:
    return authkey_from_secret(parse_join_code(code))
