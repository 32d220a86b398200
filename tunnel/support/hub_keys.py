"""Appliance public keys and the tunnel user's authorized_keys lines.

An appliance's key may do one thing on the hub: listen on its own ``localhost:PORT``.
``restrict`` turns every other right off (pty, agent, X11, user rc, forwarding) and
``port-forwarding`` gives forwarding back; ``permitlisten`` pins the one listen address
(sshd matches the literal "localhost", sshd.8); the forced ``command`` is the reclaim, so the
key runs nothing else even when it asks to.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass

from appliance.errors import ExpandError
from appliance.readers import cut, shown

KEY_TYPE = "ssh-ed25519"
ED25519_KEY_BYTES = 32
SITE_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?")
COMMENT_PREFIX = "expand-"
# Characters a forced command may hold inside the option's double quotes: no quote, no
# backslash (sshd would unescape them), nothing that needs a shell to mean it.
SAFE_COMMAND = re.compile(r"[A-Za-z0-9_./ :=+-]+")


@dataclass(frozen=True)
class PublicKey:
    """An ed25519 public key: ``blob`` is the base64 text of the wire-format key."""

    blob: str

    @property
    def text(self) -> str:
        return f"{KEY_TYPE} {self.blob}"

    @property
    def fingerprint(self) -> str:
        """As ``ssh-keygen -l`` prints it: SHA256, base64 without padding."""
        digest = hashlib.sha256(base64.b64decode(self.blob)).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def check_site(site: str, what: str = "SITE") -> str:
    if not SITE_PATTERN.fullmatch(site):
        raise ExpandError(f"{what}: {shown(site)} is not a site name (1-32 of a-z, 0-9 and '-', "
                          "starting and ending with a letter or digit)")
    return site


def parse_public_key(text: str, source: str) -> PublicKey:
    """The one ed25519 key of ``text`` (a public key line, as ``ssh-keygen`` writes it or the
    appliance's first boot prints it); ExpandError naming ``source`` otherwise."""
    if "PRIVATE KEY" in text:  # never echo any of it
        raise ExpandError(f"{source}: a private key; give the public key line (the .pub "
                          "file), and keep the private key on the appliance")
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise ExpandError(f"{source}: no public key (empty)")
    if len(lines) > 1:
        raise ExpandError(f"{source}: {len(lines)} lines; give exactly one public key line")
    fields = lines[0].split()
    if len(fields) < 2:
        raise ExpandError(f"{source}: {shown(lines[0])} is not a public key line "
                          f"('{KEY_TYPE} AAAA... comment')")
    if fields[0] != KEY_TYPE:
        kind = "an authorized_keys line with options" if "=" in fields[0] or "," in fields[0] \
            else f"key type {shown(fields[0])}"
        raise ExpandError(f"{source}: {kind}; the appliance key must be a bare {KEY_TYPE} "
                          "public key line")
    return PublicKey(_check_blob(fields[1], source))


def _check_blob(blob: str, source: str) -> str:
    try:
        raw = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        raise ExpandError(f"{source}: key data {shown(blob, 30)} is not base64") from None
    try:
        name, rest = _ssh_string(raw)
        key, tail = _ssh_string(rest)
    except ValueError:
        raise ExpandError(f"{source}: key data is not an {KEY_TYPE} key (truncated)") from None
    if name != KEY_TYPE.encode() or len(key) != ED25519_KEY_BYTES or tail:
        raise ExpandError(f"{source}: key data is not an {KEY_TYPE} key "
                          f"(type {shown(cut(name.decode('latin-1'), 20))}, "
                          f"{len(key)} key bytes)")
    return blob


def _ssh_string(data: bytes) -> tuple[bytes, bytes]:
    """One RFC 4251 string: a 32-bit length, then that many bytes."""
    if len(data) < 4:
        raise ValueError("short")
    (length,) = struct.unpack(">I", data[:4])
    if len(data) < 4 + length:
        raise ValueError("short")
    return data[4:4 + length], data[4 + length:]


def check_claim_command(command: str) -> str:
    if not SAFE_COMMAND.fullmatch(command):
        raise ExpandError(f"--claim-command: {shown(command)} may hold only letters, digits, "
                          "spaces and _ . / : = + -")
    return command


def site_comment(site: str) -> str:
    return f"{COMMENT_PREFIX}{site}"


def key_line(site: str, port: int, key: PublicKey, claim_command: str) -> str:
    """The authorized_keys line of one appliance."""
    options = ",".join(("restrict", "port-forwarding", f'permitlisten="localhost:{port}"',
                        f'command="{claim_command} {port}"'))
    return f"{options} {key.text} {site_comment(site)}"


@dataclass(frozen=True)
class KeyLine:
    """One line of an authorized_keys file as sshd reads it: options, key, comment."""

    number: int
    text: str
    blob: str | None  # None for blank lines, comments and lines we cannot parse
    comment: str

    @property
    def site(self) -> str | None:
        """The site of a line hub-add wrote, by its ``expand-SITE`` comment."""
        if self.blob is None or not self.comment.startswith(COMMENT_PREFIX):
            return None
        site = self.comment[len(COMMENT_PREFIX):]
        return site if SITE_PATTERN.fullmatch(site) else None


def parse_authorized_keys(text: str) -> list[KeyLine]:
    return [_parse_line(number, line) for number, line in enumerate(text.splitlines(), 1)]


def _parse_line(number: int, line: str) -> KeyLine:
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return KeyLine(number, line, None, "")
    rest = stripped if _starts_with_key_type(stripped) else _after_options(stripped)
    fields = rest.split(None, 2)
    if len(fields) < 2:
        return KeyLine(number, line, None, "")
    return KeyLine(number, line, fields[1], fields[2].strip() if len(fields) > 2 else "")


def _starts_with_key_type(text: str) -> bool:
    word = text.split(None, 1)[0]
    return word.startswith(("ssh-", "ecdsa-", "sk-")) and "=" not in word and "," not in word


def _after_options(text: str) -> str:
    """The text after the options field: it ends at the first space outside double quotes
    (a backslash escapes a quote inside them), as sshd's auth_options parser reads it."""
    quoted = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quoted:
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch in " \t" and not quoted:
            return text[i:].lstrip()
        i += 1
    return ""


HOST_KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                  "ecdsa-sha2-nistp521", "ssh-rsa")


def parse_host_key(text: str, source: str) -> str:
    """An appliance sshd's host public key (``/etc/ssh/ssh_host_ed25519_key.pub``) as
    ``TYPE BASE64``, for the engineers' known_hosts; any comment is dropped."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise ExpandError(f"{source}: give exactly one host key line "
                          f"({'empty' if not lines else f'{len(lines)} lines'})")
    fields = lines[0].split()
    if len(fields) < 2 or fields[0] not in HOST_KEY_TYPES:
        raise ExpandError(f"{source}: {shown(lines[0])} is not a host public key line "
                          f"(types: {', '.join(HOST_KEY_TYPES)})")
    try:
        name, _ = _ssh_string(base64.b64decode(fields[1], validate=True))
    except (binascii.Error, ValueError):
        raise ExpandError(f"{source}: host key data is not base64 of a key") from None
    if name != fields[0].encode():
        raise ExpandError(f"{source}: host key data is a {shown(name.decode('latin-1'))} key, "
                          f"not {fields[0]}")
    return f"{fields[0]} {fields[1]}"
