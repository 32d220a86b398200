"""The answers model: examples load, every problem of a bad file is reported with file and key."""

from __future__ import annotations

import tomllib
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest

from appliance.answers import check_file, load_answers, parse_answers
from appliance.answers_toml import dump_answers
from appliance.fields import BY_KEY, FIELDS
from appliance.reports import ValidationFailed

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "answers").glob("*.toml"))


def base() -> dict[str, Any]:
    return {
        "mode": "primary",
        "network": {
            "primary-ip": "198.51.100.11", "netmask": "255.255.255.0",
            "gateway": "198.51.100.1", "dns": ["198.51.100.53"],
            "secondary-ip": "198.51.100.12", "virtual-ip": "198.51.100.100",
        },
        "smtp": {"smarthost": "smtp.example.com"},
    }


def problems(data: dict[str, Any]) -> dict[str, str]:
    answers, reports = parse_answers(data, "t.toml")
    assert (answers is None) == bool(reports)
    return {r.key: r.message for r in reports}


def with_network(**changes: Any) -> dict[str, Any]:
    data = base()
    data["network"].update({k.replace("_", "-"): v for k, v in changes.items()})
    return data


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_are_valid(path: Path) -> None:
    answers, reports = check_file(path)
    assert reports == []
    assert answers is not None


def test_three_examples_exist() -> None:
    assert {p.name for p in EXAMPLES} >= {"primary.toml", "secondary.toml", "standalone.toml"}


def test_minimal_file_gets_defaults() -> None:
    answers, reports = parse_answers(base(), "t.toml")
    assert reports == [] and answers is not None
    assert answers.interconnect.primary_address == IPv4Address("169.254.200.1")
    assert answers.interconnect.secondary_address == IPv4Address("169.254.200.2")
    assert answers.support.network.with_prefixlen == "200.40.119.0/24"
    assert answers.storage.mode == "none" and answers.fencing.mode == "none"
    assert answers.network.prefix == 24
    assert answers.hostname == "expand1" and answers.peer_hostname == "expand2"


def test_secondary_takes_its_own_addresses() -> None:
    data = base() | {"mode": "secondary",
                     "cluster": {"join-code": "aeba gbaf aydq qcik bmga 2dqp cabe"}}
    answers, _ = parse_answers(data, "t.toml")
    assert answers is not None
    assert answers.cluster.join_code == "AEBAGBAFAYDQQCIKBMGA2DQPCABE"
    assert answers.cluster.join_code in answers.secrets()
    assert answers.lan_ip == IPv4Address("198.51.100.12")
    assert answers.peer_lan_ip == IPv4Address("198.51.100.11")
    assert answers.interconnect_ip == IPv4Address("169.254.200.2")


def test_example_message_format() -> None:
    _, reports = parse_answers(with_network(virtual_ip="198.51.100.300"), "primary.toml")
    assert [str(r) for r in reports] == [
        "primary.toml: network.virtual-ip: 198.51.100.300 is not an IPv4 address"]


def test_all_problems_reported_at_once() -> None:
    data = with_network(netmask="255.0.255.0", virtual_ip="x", gateway="1.2.3.4.5")
    data["smtp"]["port"] = 0
    data["colour"] = "blue"
    found = problems(data)
    assert set(found) == {"network.netmask", "network.virtual-ip", "network.gateway",
                          "smtp.port", "colour"}


@pytest.mark.parametrize(("changes", "key", "fragment"), [
    ({"gateway": "198.51.101.1"}, "network.gateway", "outside the LAN"),
    ({"gateway": "198.51.100.0"}, "network.gateway", "network address"),
    ({"gateway": "198.51.100.255"}, "network.gateway", "broadcast address"),
    ({"virtual_ip": "203.0.113.100"}, "network.virtual-ip", "outside the LAN"),
    ({"virtual_ip": "198.51.100.11"}, "network.virtual-ip", "already used by network.primary-ip"),
    ({"virtual_ip": "198.51.100.1"}, "network.virtual-ip", "already used by network.gateway"),
    ({"secondary_ip": "198.51.100.11"}, "network.secondary-ip", "already used"),
    ({"secondary_ip": "198.51.99.12"}, "network.secondary-ip", "outside the LAN"),
    ({"netmask": "255.255.255.253"}, "network.netmask", "contiguous"),
    ({"netmask": "255.255.255.255"}, "network.netmask", "no room"),
    ({"dns": ["1.1.1.1", "8.8.8.8", "9.9.9.9"]}, "network.dns", "one or two"),
    ({"dns": "198.51.100.53, 198.51.100.53"}, "network.dns", "twice"),
    ({"dns": ["nameserver"]}, "network.dns", "not an IPv4"),
    ({"primary_ip": "127.0.0.1"}, "network.primary-ip", "cannot be a host"),
    ({"primary_ip": "198.51.100.0"}, "network.primary-ip", "network or broadcast"),
    ({"pbx_domain": "bad_domain!"}, "network.pbx-domain", "not a valid domain"),
])
def test_network_rules(changes: dict[str, Any], key: str, fragment: str) -> None:
    found = problems(with_network(**changes))
    assert key in found, found
    assert fragment in found[key]


@pytest.mark.parametrize(("section", "values", "key", "fragment"), [
    ("smtp", {"username": "pbx@example.com"}, "smtp.password", "required when smtp.username"),
    ("smtp", {"password": "s3cret"}, "smtp.username", "required when smtp.password"),
    ("smtp", {"smarthost": "mail"}, "smtp.smarthost", "fully qualified"),
    ("smtp", {"port": 65536}, "smtp.port", "1-65535"),
    ("smtp", {"port": True}, "smtp.port", "not a port"),
    ("interconnect", {"primary-address": "198.51.100.200", "prefix": 24},
     "interconnect.primary-address", "overlaps the LAN"),
    ("interconnect", {"primary-address": "203.0.113.1", "secondary-address": "203.0.113.1"},
     "interconnect.secondary-address", "primary's address"),
    ("interconnect", {"primary-address": "203.0.113.1", "secondary-address": "203.0.113.9"},
     "interconnect.secondary-address", "outside the interconnect"),
    ("interconnect", {"prefix": 31}, "interconnect.prefix", "between"),
    ("nodes", {"primary-hostname": "pbx", "secondary-hostname": "PBX"},
     "nodes.secondary-hostname", "host name too"),
    ("nodes", {"primary-hostname": "-bad"}, "nodes.primary-hostname", "not a valid host name"),
    ("storage", {"mode": "san"}, "storage.device", "required when storage.mode is san"),
    ("storage", {"mode": "drbd", "device": "sdb"}, "storage.device", "under /dev/"),
    ("storage", {"mode": "nfs"}, "storage.mode", "not one of"),
    ("fencing", {"mode": "ipmi", "primary-target": "a", "secondary-target": "b"},
     "fencing.password", "required when fencing.mode is ipmi"),
    ("fencing", {"mode": "vmware", "primary-target": "a", "secondary-target": "b",
                 "username": "u", "password": "p"}, "fencing.host", "required"),
    ("fencing", {"mode": "sbd", "primary-target": "sdb", "secondary-target": "/dev/sdb"},
     "fencing.primary-target", "device path"),
    ("support", {"network": "200.40.119.0/33"}, "support.network", "not an IPv4 network"),
    ("support", {"hub-port": "ssh"}, "support.hub-port", "not a port"),
    ("support", {"enabled": "yes"}, "support.enabled", "true or false"),
    ("nodes", {"tertiary-hostname": "x"}, "nodes.tertiary-hostname", "unknown key"),
    ("cluster", {"join-code": "AEBA-GBAF-AYDQ-QCIK-BMGA-2DQP-CABE"}, "cluster.join-code",
     "only for the secondary"),
    ("cluster", {"join-code": "AEBA-GBAF-AYDQ-QCIK-BMGA-2DQP-CABF"}, "cluster.join-code",
     "does not check out"),
])

def test_section_rules(section: str, values: dict[str, Any], key: str, fragment: str) -> None:
    data = base()
    data.setdefault(section, {}).update(values)
    found = problems(data)
    assert key in found, found
    assert fragment in found[key]


def test_secondary_needs_the_join_code() -> None:
    _, reports = parse_answers(base() | {"mode": "secondary"}, "t.toml")
    assert [r.key for r in reports] == ["cluster.join-code"]
    assert "required when mode is secondary" in reports[0].message


@pytest.mark.parametrize(("top", "key", "fragment"), [
    ({"mode": "tertiary"}, "mode", "not one of"),
    ({"timezone": "Mars/Olympus"}, "timezone", "not a known time zone"),
    ({"wifi": {"ssid": "x"}}, "wifi", "unknown section"),
])
def test_top_level_rules(top: dict[str, Any], key: str, fragment: str) -> None:
    found = problems(base() | top)
    assert fragment in found[key]


def test_required_keys_are_named() -> None:
    found = problems({})
    required = {f.key for f in FIELDS if f.required}
    assert required <= set(found)
    assert all("is required" in found[k] for k in required)


def test_snake_case_keys_accepted_and_duplicates_rejected() -> None:
    data = base()
    data["network"]["virtual_ip"] = data["network"].pop("virtual-ip")
    assert problems(data) == {}
    data["network"]["virtual-ip"] = "198.51.100.100"
    assert "given twice" in problems(data)["network.virtual-ip"]


def test_cross_checks_skip_fields_that_already_failed() -> None:
    found = problems(with_network(primary_ip="bogus"))
    assert list(found) == ["network.primary-ip"]


def test_load_answers_raises_with_every_report(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('mode = "x"\n[network]\nnetmask = "1"\n')
    with pytest.raises(ValidationFailed) as err:
        load_answers(path)
    assert len(err.value.reports) >= 5
    assert all(str(r).startswith(f"{path}: ") for r in err.value.reports)


@pytest.mark.parametrize(("content", "fragment"), [
    (b"mode = \n", "not valid TOML"),
    (b"\xff\xfe", "not"),
])
def test_unreadable_files(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "a.toml"
    path.write_bytes(content)
    _, reports = check_file(path)
    assert len(reports) == 1 and fragment in reports[0].message


def test_missing_file(tmp_path: Path) -> None:
    _, reports = check_file(tmp_path / "nope.toml")
    assert reports[0].message == "file not found"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_dump_round_trips_without_secrets(path: Path) -> None:
    answers = load_answers(path)
    text = dump_answers(answers)
    for secret in answers.secrets():
        assert secret not in text
    again, reports = parse_answers(tomllib.loads(text), "dumped")
    if answers.secrets():
        # Without the secrets the file is incomplete on purpose, and says so by key.
        assert {r.key for r in reports} <= {"smtp.password", "fencing.password",
                                            "cluster.join-code"}
        assert reports
    else:
        assert again == answers
    full = dump_answers(answers, include_secrets=True)
    assert parse_answers(tomllib.loads(full), "full") == (answers, [])


def test_password_never_in_repr() -> None:
    data = base()
    data["smtp"].update({"username": "u@example.com", "password": "Hunter-22-secret"})
    answers, _ = parse_answers(data, "t")
    assert answers is not None
    assert "Hunter-22-secret" not in repr(answers)
    assert answers.secrets() == ("Hunter-22-secret",)


def test_field_table_is_consistent() -> None:
    assert len(BY_KEY) == len(FIELDS)
    assert all(f.key == f.key.lower() and "_" not in f.key for f in FIELDS)


@pytest.mark.parametrize("fld", [f for f in FIELDS if not f.required and f.default is not None],
                         ids=lambda f: f.key)
def test_every_default_passes_its_own_check(fld: Any) -> None:
    _, problem = fld.check(fld.default)
    assert problem is None
