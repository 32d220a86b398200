"""Current network facts from real ``ip -j`` output (saved from a namespace) and resolv.conf."""

from __future__ import annotations

import json
from ipaddress import IPv4Address
from pathlib import Path

from appliance.runner import RecordingRunner, Result
from firstboot.current import (
    NetworkFacts,
    default_route,
    facts_from,
    read_facts,
    resolv_nameservers,
)

FIXTURES = Path(__file__).parent / "fixtures/wizard"
ADDRS = (FIXTURES / "ip-addr-dhcp.json").read_text()
ROUTES = (FIXTURES / "ip-route-dhcp.json").read_text()


def test_dhcp_lease_on_the_default_route_nic() -> None:
    facts = facts_from(ADDRS, ROUTES, "search example.com\nnameserver 198.51.100.53\n")
    assert facts == NetworkFacts("eth0", IPv4Address("198.51.100.37"),
                                 IPv4Address("255.255.255.0"), IPv4Address("198.51.100.1"),
                                 (IPv4Address("198.51.100.53"),), dhcp=True)


def test_static_address_is_not_called_dhcp() -> None:
    data = json.loads(ADDRS)
    for link in data:
        for info in link["addr_info"]:
            info.pop("dynamic", None)
    assert facts_from(json.dumps(data), ROUTES, "").dhcp is False


def test_lowest_metric_default_route_wins() -> None:
    routes = json.dumps([
        {"dst": "default", "gateway": "198.51.100.254", "dev": "eth1", "metric": 200},
        {"dst": "default", "gateway": "198.51.100.1", "dev": "eth0", "metric": 100}])
    assert default_route(routes) == ("eth0", IPv4Address("198.51.100.1"))


def test_resolv_conf_keeps_two_ipv4_servers_without_loopback() -> None:
    text = ("nameserver 127.0.0.53\nnameserver 2001:db8::1\nnameserver 198.51.100.53\n"
            "nameserver 198.51.100.53\nnameserver 198.51.100.54\nnameserver 198.51.100.55\n")
    assert resolv_nameservers(text) == (IPv4Address("198.51.100.53"),
                                        IPv4Address("198.51.100.54"))


def test_read_facts_goes_through_the_runner() -> None:
    runner = RecordingRunner(answers={
        ("ip", "-j", "-4", "addr"): Result((), 0, ADDRS, ""),
        ("ip", "-j", "-4", "route"): Result((), 0, ROUTES, "")})
    facts = read_facts(runner, "nameserver 198.51.100.53\n")
    assert facts.address == IPv4Address("198.51.100.37")
    assert runner.calls == [("ip", "-j", "-4", "addr", "show"), ("ip", "-j", "-4", "route", "show")]


def test_no_network_gives_empty_facts() -> None:
    runner = RecordingRunner(answers={("ip",): Result((), 1, "", "ip: not here")})
    assert read_facts(runner, "") == NetworkFacts()
