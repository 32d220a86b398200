"""Property tests of the single-field validators the answers files and the wizard share."""

from __future__ import annotations

from ipaddress import IPv4Address

from hypothesis import given
from hypothesis import strategies as st

from appliance import validators as v


@given(st.integers(min_value=8, max_value=30))
def test_every_contiguous_mask_is_accepted(prefix: int) -> None:
    mask = IPv4Address((0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF)
    value, problem = v.netmask(str(mask))
    assert problem is None and value == mask


@given(st.integers(min_value=0, max_value=0xFFFFFFFF))
def test_non_contiguous_masks_are_rejected(bits: int) -> None:
    inverted = ~bits & 0xFFFFFFFF
    contiguous = inverted & (inverted + 1) == 0
    _, problem = v.netmask(str(IPv4Address(bits)))
    if not contiguous:
        assert problem is not None and "contiguous" in problem


@given(st.ip_addresses(v=4))
def test_ipv4_accepts_host_addresses_and_round_trips(addr: IPv4Address) -> None:
    value, problem = v.ipv4(str(addr))
    special = addr.is_unspecified or addr.is_multicast or addr.is_loopback or addr.is_reserved
    assert (problem is not None) == special
    if not special:
        assert value == addr


@given(st.text(max_size=20))
def test_validators_never_raise_on_any_text(text: str) -> None:
    for check in (v.ipv4, v.netmask, v.hostname, v.domain, v.fqdn_or_ip, v.port,
                  v.dns_list, v.timezone, v.network, v.prefix, v.email_user, v.secret):
        value, problem = check(text)
        assert (value is None) or (problem is None)


@given(st.integers())
def test_port_range(number: int) -> None:
    _, problem = v.port(number)
    assert (problem is None) == (1 <= number <= 65535)


@given(st.text(max_size=40))
def test_kind_checks_never_raise_and_never_pass_a_token_breaker(text: str) -> None:
    for check in (v.host_or_ipv4, v.device_path, v.vm_name, v.login, v.line, v.sasl_secret):
        value, problem = check(text)
        assert (value is None) != (problem is None)
    device, _ = v.device_path(text)
    if device is not None:
        assert device.startswith("/dev/") and ".." not in device.split("/")
        assert not set(device) & set(" \t\n\"'{};,\\")
    vm, _ = v.vm_name(text)
    if vm is not None:
        assert not set(vm) & set("\"'\\\n\r\0") and len(vm) <= v.VM_NAME_MAX


@given(st.lists(st.integers(min_value=0, max_value=999), min_size=4, max_size=4))
def test_a_dotted_quad_is_an_address_or_nothing(octets: list[int]) -> None:
    text = ".".join(map(str, octets))
    value, problem = v.host_or_ipv4(text)
    if max(octets) > 255:
        assert value is None and problem == f"{text} is not an IPv4 address"


@given(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z]{2,10}){0,3}", fullmatch=True))
def test_host_names_pass_as_themselves(name: str) -> None:
    value, problem = v.host_or_ipv4(name)
    if not name.replace(".", "").isdigit():
        assert problem is None and value == name


def test_email_user_refuses_what_breaks_the_password_map() -> None:
    assert v.email_user("pbx@example.com") == ("pbx@example.com", None)
    assert v.email_user("\U0001f600@example.com")[1] is None  # outside the BMP is fine
    for bad in ("a:b@example.com", "a b", "a\tb", "a\x00b", "x" * 255):
        assert v.email_user(bad)[1] is not None, bad
