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
