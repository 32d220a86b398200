"""Single-value checks shared by answers files and the wizard's fields.

Each check takes the text as typed (or the TOML value) and returns ``(value, None)`` when
good or ``(None, message)`` when not; the message never repeats a secret.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import unicodedata
import zoneinfo
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from appliance.errors import ExpandError
from appliance.joincode import parse_join_code
from appliance.readers import cut, shown

Check = Callable[[Any], tuple[Any, str | None]]

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_TZ = re.compile(r"^[A-Za-z_+-]+(/[A-Za-z0-9_+-]+)*$")
_DOTTED_DIGITS = re.compile(r"[\d.]+")
# A device path pasted into drbd.d, a pcs argument and fence_sbd's comma-separated list:
# udev's names (by-id, by-path: letters, digits, '.', '_', '-', ':', '+', '@') and nothing that
# ends a token there (blanks, quotes, braces, ';', ',').
_DEVICE = re.compile(r"/dev(/[A-Za-z0-9._:+@-]+)+")
DEVICE_MAX = 255
VM_NAME_MAX = 80  # vSphere's limit for a VM name
LOGIN_MAX = 128


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) else None


def _has_control(text: str) -> bool:
    """Control and format characters (newline, NUL, ESC, bidi overrides...): none of them
    belongs in a name, and each one can end a line or a token in some config file."""
    return any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in text)


def ipv4(value: Any) -> tuple[IPv4Address | None, str | None]:
    text = _text(value)
    if not text:
        return None, f"{shown(value)} is not an IPv4 address" if text is None else "is empty"
    if not re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", text):
        return None, f"{cut(text)} is not an IPv4 address"
    try:
        addr = IPv4Address(text)
    except ipaddress.AddressValueError:
        return None, f"{cut(text)} is not an IPv4 address"
    if addr.is_unspecified or addr.is_multicast or addr.is_loopback or addr.is_reserved:
        return None, f"{cut(text)} cannot be a host address"
    return addr, None


def netmask(value: Any) -> tuple[IPv4Address | None, str | None]:
    text = _text(value)
    if not text or not re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", text):
        return None, f"{shown(value)} is not a netmask like 255.255.255.0"
    try:
        mask = IPv4Address(text)
    except ipaddress.AddressValueError:
        return None, f"{cut(text)} is not a netmask like 255.255.255.0"
    bits = int(mask)
    inverted = ~bits & 0xFFFFFFFF
    if inverted & (inverted + 1):
        return None, f"{cut(text)} is not a contiguous netmask"
    prefix = 32 - inverted.bit_length()
    if not 8 <= prefix <= 30:
        return None, f"{text} (/{prefix}) leaves no room for two nodes, a gateway and a virtual IP"
    return mask, None


def prefix(value: Any) -> tuple[int | None, str | None]:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None, f"{shown(value)} is not a prefix length"
    try:
        number = int(value)
    except ValueError:
        return None, f"{shown(value)} is not a prefix length"
    if not 8 <= number <= 30:
        return None, f"/{number} must be between /8 and /30"
    return number, None


def network(value: Any) -> tuple[IPv4Network | None, str | None]:
    text = _text(value)
    try:
        return IPv4Network(text or ""), None
    except ValueError:
        return None, f"{shown(value)} is not an IPv4 network like 200.40.119.0/24"


def hostname(value: Any) -> tuple[str | None, str | None]:
    """A short host name (one label): what corosync and /etc/hosts will carry."""
    text = _text(value)
    if not text or not _LABEL.fullmatch(text) or text.isdigit():
        return None, f"{shown(value)} is not a valid host name (letters, digits, '-', at most 63)"
    return text.lower(), None


def domain(value: Any) -> tuple[str | None, str | None]:
    """A DNS domain; empty is allowed (the seed: 'debe dejarse vacío')."""
    text = _text(value)
    if text is None:
        return None, f"{shown(value)} is not a domain name"
    if text == "":
        return "", None
    labels = text.rstrip(".").split(".")
    if len(text) > 253 or not all(_LABEL.fullmatch(lab) for lab in labels):
        return None, f"{cut(text)} is not a valid domain name"
    return text.rstrip(".").lower(), None


def host_or_ipv4(value: Any) -> tuple[str | None, str | None]:
    """An IPv4 address or a host name (RFC 1123 labels, one or more): a BMC, a vCenter.

    All digits and dots is an address or nothing: ``10.0.0.300`` is no host name."""
    text = _text(value)
    if not text:
        return None, f"{value!r} is not an IPv4 address or host name" if text is None \
            else "is empty"
    if _DOTTED_DIGITS.fullmatch(text):
        addr, problem = ipv4(text)
        return (str(addr), None) if addr else (None, problem)
    labels = text.rstrip(".").split(".")
    if len(text) > 253 or not all(_LABEL.fullmatch(lab) for lab in labels) \
            or labels[-1].isdigit():
        return None, f"{_shown(text)} is not an IPv4 address or host name"
    return text.rstrip(".").lower(), None


def optional(check: Check) -> Check:
    """``check``, with the empty string allowed (meaning: not used)."""
    def checked(value: Any) -> tuple[Any, str | None]:
        if isinstance(value, str) and not value.strip():
            return "", None
        return check(value)

    return checked


def fqdn_or_ip(value: Any) -> tuple[str | None, str | None]:
    text = _text(value)
    if not text:
        return None, "is empty: give the SMTP server's DNS name or IP address"
    if _DOTTED_DIGITS.fullmatch(text):
        addr, problem = ipv4(text)
        return (str(addr), None) if addr else (None, problem)
    name, problem = domain(text)
    if problem or not name or "." not in name:
        return None, f"{cut(text)} is not a fully qualified host name or IPv4 address"
    return name, None


def port(value: Any) -> tuple[int | None, str | None]:
    if isinstance(value, bool):
        return None, f"{shown(value)} is not a port number"
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None, f"{shown(value)} is not a port number"
    if not 1 <= number <= 65535:
        return None, f"{number} is not a port number (1-65535)"
    return number, None


def email_user(value: Any) -> tuple[str | None, str | None]:
    """The SMTP account; empty means no authentication."""
    text = _text(value)
    if text is None:
        return None, f"{shown(value)} is not a user name"
    if any(c.isspace() for c in text):
        return None, "must not contain blanks or line breaks"
    if _has_control(text):
        return None, "must not contain control characters"
    if len(text) > 254:
        return None, "is longer than 254 characters"
    # sasl_passwd holds 'user:password': the first colon ends the user name.
    if ":" in text:
        return None, "must not contain ':' (postfix's password map splits user:password there)"
    return text, None


def secret(value: Any) -> tuple[str | None, str | None]:
    if not isinstance(value, str):
        return None, "must be a string"
    if "\n" in value or "\r" in value:
        return None, "must be a single line"
    # Only real controls: XML (the CIB) and postfix's map refuse them; a format character
    # such as an emoji's zero-width joiner is fine in a password.
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        return None, "must not contain control characters"
    return value, None


def sasl_secret(value: Any) -> tuple[str | None, str | None]:
    """The SMTP password: postmap trims blanks at the end of a line, so one there is lost."""
    got, problem = secret(value)
    if got is not None and got != got.rstrip():
        return None, "must not end with a blank (postfix's password map would drop it)"
    return got, problem


def login(value: Any) -> tuple[str | None, str | None]:
    """A fencing account (IPMI user, vCenter ``DOMAIN\\user``); empty means none given."""
    text = _text(value)
    if text is None:
        return None, f"{value!r} is not a user name"
    if _has_control(text):
        return None, "must not contain control characters"
    if len(text) > LOGIN_MAX:
        return None, f"is longer than {LOGIN_MAX} characters"
    return text, None


def line(value: Any) -> tuple[str | None, str | None]:
    """Free text on one line (checked by kind later, when its meaning is known)."""
    text = _text(value)
    if text is None:
        return None, f"{value!r} is not a string"
    if _has_control(text):
        return None, "must not contain control characters"
    if len(text) > DEVICE_MAX:
        return None, f"is longer than {DEVICE_MAX} characters"
    return text, None


def device_path(value: Any) -> tuple[str | None, str | None]:
    """A block device: ``/dev/...``, absolute, no '..', nothing that ends a token in drbd.d
    or fence_sbd's device list."""
    text = _text(value)
    if not text:
        return None, "is empty: give a device path under /dev/"
    if not text.startswith("/dev/"):
        return None, f"{_shown(text)} is not a device path under /dev/"
    if len(text) > DEVICE_MAX:
        return None, f"is longer than {DEVICE_MAX} characters"
    if ".." in text.split("/") or "/./" in text + "/":
        return None, f"{_shown(text)} must not contain '.' or '..' components"
    if not _DEVICE.fullmatch(text):
        return None, (f"{_shown(text)} is not a plain device path (letters, digits and "
                      "'/._:+@-' only: no blanks, quotes, braces, ';' or ',')")
    return text, None


def absolute_path_or_empty(value: Any) -> tuple[str | None, str | None]:
    """A file on the installed box (checked there, not where the answers are written)."""
    text = _text(value)
    if text is None:
        return None, f"a {type(value).__name__} is not a path (a string)"
    if text and (_has_control(text) or not text.startswith("/")):
        return None, f"{_shown(text)} is not an absolute path"
    return text, None


def vm_name(value: Any) -> tuple[str | None, str | None]:
    """A VMware VM name as fence_vmware_soap's ``plug``: no quotes, backslashes or control
    characters, at most 80 characters (vSphere's own limit)."""
    text = _text(value)
    if not text:
        return None, "is empty: give the VM's name as vSphere shows it"
    if _has_control(text):
        return None, "must not contain control characters"
    if any(c in "\"'\\" for c in text):
        return None, f"{_shown(text)} must not contain quotes or backslashes"
    if len(text) > VM_NAME_MAX:
        return None, f"is longer than {VM_NAME_MAX} characters (vSphere's limit)"
    return text, None


def _shown(text: str, limit: int = 60) -> str:
    """A value as echoed in a message: printable and cut to a readable length."""
    shown = text if len(text) <= limit else text[:limit] + "..."
    return repr(shown) if _has_control(shown) or " " in shown else shown


def timezone(value: Any) -> tuple[str | None, str | None]:
    text = _text(value)
    if not text or not _TZ.fullmatch(text):
        return None, f"{shown(value)} is not a time zone like America/Montevideo"
    if text not in _known_zones():
        return None, f"{cut(text)} is not a known time zone"
    return text, None


def _known_zones() -> set[str]:
    zones = zoneinfo.available_timezones()
    return zones | {"UTC"}


def dns_list(value: Any) -> tuple[tuple[IPv4Address, ...] | None, str | None]:
    """One or two name servers, as a list or a comma/space separated string."""
    items: Sequence[Any]
    if isinstance(value, str):
        items = [v for v in re.split(r"[,\s]+", value.strip()) if v]
    elif isinstance(value, list):
        items = value
    else:
        return None, f"{shown(value)} is not a list of name servers"
    if not 1 <= len(items) <= 2:
        return None, f"give one or two name servers, not {len(items)}"
    found: list[IPv4Address] = []
    for item in items:
        addr, problem = ipv4(item)
        if addr is None:
            return None, problem
        found.append(addr)
    if len(set(found)) != len(found):
        return None, "the same name server is given twice"
    return tuple(found), None


def choice(*allowed: str) -> Check:
    def check(value: Any) -> tuple[str | None, str | None]:
        text = _text(value)
        if text is None or text.lower() not in allowed:
            return None, f"{shown(value)} is not one of: {', '.join(allowed)}"
        return text.lower(), None

    return check


def boolean(value: Any) -> tuple[bool | None, str | None]:
    if isinstance(value, bool):
        return value, None
    return None, f"{shown(value)} is not true or false"


def text(value: Any) -> tuple[str | None, str | None]:
    got = _text(value)
    return (got, None) if got is not None else (None, f"{shown(value)} is not a string")


def join_code(value: Any) -> tuple[str | None, str | None]:
    """The cluster join code shown on the primary; empty means none given. The message
    never repeats the code."""
    if not isinstance(value, str):
        return None, "must be a string"
    text = value.strip()
    if not text:
        return "", None
    try:
        parse_join_code(text)
    except ExpandError as exc:
        return None, str(exc)
    # Stored as typed minus spaces; the authkey derivation forgives case and dashes.
    return text.upper().replace(" ", ""), None


_SSH_KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                  "ecdsa-sha2-nistp521", "ssh-rsa")


def ssh_host_key(value: Any) -> tuple[str | None, str | None]:
    """An SSH host key as ``TYPE BASE64`` (a comment after it is dropped); empty: none.
    The base64 must decode and name the same type (a paste cut short is refused)."""
    got = _text(value)
    if got is None:
        return None, f"{shown(value)} is not a host key line"
    if not got:
        return "", None
    fields = got.split()
    if _has_control(got) or len(got) > 16384 or len(fields) < 2:
        return None, f"{cut(got)} is not a host key line ('TYPE BASE64', e.g. ssh-ed25519 AAAA...)"
    kind, blob = fields[0], fields[1]
    if kind not in _SSH_KEY_TYPES:
        return None, f"{cut(kind)} is not a host key type ({', '.join(_SSH_KEY_TYPES)})"
    try:
        raw = base64.b64decode(blob, validate=True)
        named = raw[4:4 + int.from_bytes(raw[:4], "big")].decode()
    except (ValueError, UnicodeDecodeError):
        named = ""
    if named != kind:
        return None, f"{cut(blob, 20)} is not the base64 of a {kind} key (cut short?)"
    return f"{kind} {blob}", None


def assigned_port(value: Any) -> tuple[int | None, str | None]:
    """The hub port assigned to this appliance (above 1024); 0: not assigned yet."""
    if value == 0 and not isinstance(value, bool):
        return 0, None
    number, problem = port(value)
    if problem or number is None:
        return None, problem
    if number <= 1024:
        return None, f"{number} is not a hub port above 1024 (0: not assigned yet)"
    return number, None
