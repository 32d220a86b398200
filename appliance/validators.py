"""Single-value checks shared by answers files and the wizard's fields.

Each check takes the text as typed (or the TOML value) and returns ``(value, None)`` when
good or ``(None, message)`` when not; the message never repeats a secret.
"""

from __future__ import annotations

import ipaddress
import re
import zoneinfo
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from appliance.errors import ExpandError
from appliance.joincode import parse_join_code

Check = Callable[[Any], tuple[Any, str | None]]

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_TZ = re.compile(r"^[A-Za-z_+-]+(/[A-Za-z0-9_+-]+)*$")


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) else None


def ipv4(value: Any) -> tuple[IPv4Address | None, str | None]:
    text = _text(value)
    if not text:
        return None, f"{value!r} is not an IPv4 address" if text is None else "is empty"
    if not re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", text):
        return None, f"{text} is not an IPv4 address"
    try:
        addr = IPv4Address(text)
    except ipaddress.AddressValueError:
        return None, f"{text} is not an IPv4 address"
    if addr.is_unspecified or addr.is_multicast or addr.is_loopback or addr.is_reserved:
        return None, f"{text} cannot be a host address"
    return addr, None


def netmask(value: Any) -> tuple[IPv4Address | None, str | None]:
    text = _text(value)
    if not text or not re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", text):
        return None, f"{value!r} is not a netmask like 255.255.255.0"
    try:
        mask = IPv4Address(text)
    except ipaddress.AddressValueError:
        return None, f"{text} is not a netmask like 255.255.255.0"
    bits = int(mask)
    inverted = ~bits & 0xFFFFFFFF
    if inverted & (inverted + 1):
        return None, f"{text} is not a contiguous netmask"
    prefix = 32 - inverted.bit_length()
    if not 8 <= prefix <= 30:
        return None, f"{text} (/{prefix}) leaves no room for two nodes, a gateway and a virtual IP"
    return mask, None


def prefix(value: Any) -> tuple[int | None, str | None]:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None, f"{value!r} is not a prefix length"
    try:
        number = int(value)
    except ValueError:
        return None, f"{value!r} is not a prefix length"
    if not 8 <= number <= 30:
        return None, f"/{number} must be between /8 and /30"
    return number, None


def network(value: Any) -> tuple[IPv4Network | None, str | None]:
    text = _text(value)
    try:
        return IPv4Network(text or ""), None
    except ValueError:
        return None, f"{value!r} is not an IPv4 network like 200.40.119.0/24"


def hostname(value: Any) -> tuple[str | None, str | None]:
    """A short host name (one label): what corosync and /etc/hosts will carry."""
    text = _text(value)
    if not text or not _LABEL.fullmatch(text) or text.isdigit():
        return None, f"{value!r} is not a valid host name (letters, digits, '-', at most 63)"
    return text.lower(), None


def domain(value: Any) -> tuple[str | None, str | None]:
    """A DNS domain; empty is allowed (the seed: 'debe dejarse vacío')."""
    text = _text(value)
    if text is None:
        return None, f"{value!r} is not a domain name"
    if text == "":
        return "", None
    labels = text.rstrip(".").split(".")
    if len(text) > 253 or not all(_LABEL.fullmatch(lab) for lab in labels):
        return None, f"{text} is not a valid domain name"
    return text.rstrip(".").lower(), None


def fqdn_or_ip(value: Any) -> tuple[str | None, str | None]:
    text = _text(value)
    if not text:
        return None, "is empty: give the SMTP server's DNS name or IP address"
    if re.fullmatch(r"[\d.]+", text):
        addr, problem = ipv4(text)
        return (str(addr), None) if addr else (None, problem)
    name, problem = domain(text)
    if problem or not name or "." not in name:
        return None, f"{text} is not a fully qualified host name or IPv4 address"
    return name, None


def port(value: Any) -> tuple[int | None, str | None]:
    if isinstance(value, bool):
        return None, f"{value!r} is not a port number"
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None, f"{value!r} is not a port number"
    if not 1 <= number <= 65535:
        return None, f"{number} is not a port number (1-65535)"
    return number, None


def email_user(value: Any) -> tuple[str | None, str | None]:
    """The SMTP account; empty means no authentication."""
    text = _text(value)
    if text is None:
        return None, f"{value!r} is not a user name"
    if any(c.isspace() for c in text) or len(text) > 254:
        return None, "must not contain spaces"
    return text, None


def secret(value: Any) -> tuple[str | None, str | None]:
    if not isinstance(value, str):
        return None, "must be a string"
    if "\n" in value or "\r" in value:
        return None, "must be a single line"
    return value, None


def timezone(value: Any) -> tuple[str | None, str | None]:
    text = _text(value)
    if not text or not _TZ.fullmatch(text):
        return None, f"{value!r} is not a time zone like America/Montevideo"
    if text not in _known_zones():
        return None, f"{text} is not a known time zone"
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
        return None, f"{value!r} is not a list of name servers"
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
            return None, f"{value!r} is not one of: {', '.join(allowed)}"
        return text.lower(), None

    return check


def boolean(value: Any) -> tuple[bool | None, str | None]:
    if isinstance(value, bool):
        return value, None
    return None, f"{value!r} is not true or false"


def text(value: Any) -> tuple[str | None, str | None]:
    got = _text(value)
    return (got, None) if got is not None else (None, f"{value!r} is not a string")


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
