"""The answers model: what the first-boot wizard asks, loaded from TOML and validated.

``parse_answers`` returns the model *and* every problem found; ``load_answers`` raises
``ValidationFailed`` with all of them. Nothing here writes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any

from appliance.crosschecks import cross_check
from appliance.fields import BY_KEY, FIELDS, SECTIONS
from appliance.readers import ReadError, load_toml, show_path
from appliance.reports import Report, ValidationFailed


@dataclass(frozen=True)
class Nodes:
    primary_hostname: str
    secondary_hostname: str


@dataclass(frozen=True)
class Interconnect:
    primary_address: IPv4Address
    secondary_address: IPv4Address
    prefix: int

    @property
    def subnet(self) -> IPv4Network:
        return IPv4Interface(f"{self.primary_address}/{self.prefix}").network


@dataclass(frozen=True)
class Network:
    primary_ip: IPv4Address
    netmask: IPv4Address
    gateway: IPv4Address
    dns: tuple[IPv4Address, ...]
    pbx_domain: str
    secondary_ip: IPv4Address
    virtual_ip: IPv4Address

    @property
    def prefix(self) -> int:
        return IPv4Network(f"0.0.0.0/{self.netmask}").prefixlen

    @property
    def lan(self) -> IPv4Network:
        return IPv4Interface(f"{self.primary_ip}/{self.prefix}").network


@dataclass(frozen=True)
class Smtp:
    smarthost: str
    port: int
    username: str
    password: str = field(repr=False)

    @property
    def relayhost(self) -> str:
        """Postfix's relayhost: brackets deliver to that host itself, no MX lookup."""
        return f"[{self.smarthost}]:{self.port}"


@dataclass(frozen=True)
class Storage:
    mode: str
    device: str


@dataclass(frozen=True)
class Fencing:
    mode: str
    primary_target: str
    secondary_target: str
    host: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Cluster:
    join_code: str = field(default="", repr=False)  # secondary: the primary's join code


@dataclass(frozen=True)
class Support:
    enabled: bool
    hub_host: str
    hub_port: int
    network: IPv4Network
    hub_host_key: str = ""   # TYPE BASE64: pinned by the tunnel daemon
    forward_port: int = 0    # hub localhost:PORT; 0: not assigned yet


@dataclass(frozen=True)
class Pbx:
    site: str = ""  # the site file first boot applies; empty: no PBX configuration


@dataclass(frozen=True)
class Answers:
    mode: str
    timezone: str
    nodes: Nodes
    interconnect: Interconnect
    network: Network
    smtp: Smtp
    storage: Storage
    fencing: Fencing
    support: Support
    cluster: Cluster = field(default=Cluster())
    pbx: Pbx = field(default=Pbx())

    @property
    def is_primary(self) -> bool:
        return self.mode == "primary"

    @property
    def hostname(self) -> str:
        return self.nodes.primary_hostname if self.is_primary else self.nodes.secondary_hostname

    @property
    def peer_hostname(self) -> str:
        return self.nodes.secondary_hostname if self.is_primary else self.nodes.primary_hostname

    @property
    def lan_ip(self) -> IPv4Address:
        return self.network.primary_ip if self.is_primary else self.network.secondary_ip

    @property
    def peer_lan_ip(self) -> IPv4Address:
        return self.network.secondary_ip if self.is_primary else self.network.primary_ip

    @property
    def interconnect_ip(self) -> IPv4Address:
        ic = self.interconnect
        return ic.primary_address if self.is_primary else ic.secondary_address

    @property
    def peer_interconnect_ip(self) -> IPv4Address:
        ic = self.interconnect
        return ic.secondary_address if self.is_primary else ic.primary_address

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.smtp.password, self.fencing.password,
                                 self.cluster.join_code) if s)


def normalize_key(key: str) -> str:
    return key.replace("_", "-")


def flatten(data: Mapping[str, Any], source: str) -> tuple[dict[str, Any], list[Report]]:
    """TOML tables → ``{"section.key": value}``; unknown sections and keys are reported."""
    flat: dict[str, Any] = {}
    reports: list[Report] = []
    for raw_key, value in data.items():
        key = normalize_key(raw_key)
        if isinstance(value, Mapping):
            if key not in SECTIONS:
                reports.append(Report(source, key, f"unknown section [{raw_key}]"))
                continue
            for raw_sub, sub_value in value.items():
                full = f"{key}.{normalize_key(raw_sub)}"
                if full not in BY_KEY:
                    reports.append(Report(source, full, "unknown key"))
                elif full in flat:
                    reports.append(Report(source, full, "given twice (kebab- and snake-case)"))
                else:
                    flat[full] = sub_value
        elif key in BY_KEY:
            flat[key] = value
        else:
            reports.append(Report(source, key, "unknown key"))
    return flat, reports


def check_values(flat: Mapping[str, Any], source: str) -> tuple[dict[str, Any], list[Report]]:
    """Each field on its own: required present, value well-formed; defaults filled in."""
    values: dict[str, Any] = {}
    reports: list[Report] = []
    for fld in FIELDS:
        if fld.key not in flat:
            if fld.required:
                reports.append(Report(source, fld.key, f"is required ({fld.help})"))
            else:
                # Defaults go through the same check, so they get the same types as given values.
                values[fld.key] = None if fld.default is None else fld.check(fld.default)[0]
            continue
        value, problem = fld.check(flat[fld.key])
        if problem:
            reports.append(Report(source, fld.key, problem))
        else:
            values[fld.key] = value
    second_key = "interconnect.secondary-address"
    if second_key in values and values[second_key] is None:
        first = values.get("interconnect.primary-address")
        if isinstance(first, IPv4Address):
            values[second_key] = first + 1
    return values, reports


def parse_answers(data: Mapping[str, Any], source: str, *, secrets_left_out: bool = False
                  ) -> tuple[Answers | None, list[Report]]:
    """``secrets_left_out``: the data comes from a file the first boot saved, which never
    holds secrets, so a secret the cross-checks would require is not a problem there."""
    flat, reports = flatten(data, source)
    values, problems = check_values(flat, source)
    reports += problems
    bad_keys = {r.key for r in reports}
    if secrets_left_out:
        bad_keys |= {f.key for f in FIELDS if f.secret}
    reports += cross_check(values, source, skip=bad_keys)
    if reports:
        return None, reports
    return build(values), []


def build(values: Mapping[str, Any]) -> Answers:
    def section(name: str) -> dict[str, Any]:
        prefix = name + "."
        return {k[len(prefix):].replace("-", "_"): val
                for k, val in values.items() if k.startswith(prefix)}

    return Answers(
        mode=values["mode"],
        timezone=values["timezone"],
        nodes=Nodes(**section("nodes")),
        interconnect=Interconnect(**section("interconnect")),
        network=Network(**section("network")),
        smtp=Smtp(**section("smtp")),
        storage=Storage(**section("storage")),
        fencing=Fencing(**section("fencing")),
        support=Support(**section("support")),
        cluster=Cluster(**section("cluster")),
        pbx=Pbx(**section("pbx")),
    )


def read_toml(path: Path) -> tuple[dict[str, Any] | None, list[Report]]:
    """The file's tables, or one report naming the file (bounded: see appliance.readers)."""
    try:
        return load_toml(path, what="answers file"), []
    except ReadError as exc:
        return None, [Report(exc.source, "", exc.reason)]


def check_file(path: Path, *, secrets_left_out: bool = False
               ) -> tuple[Answers | None, list[Report]]:
    data, reports = read_toml(path)
    if data is None:
        return None, reports
    return parse_answers(data, show_path(path), secrets_left_out=secrets_left_out)


def load_answers(path: Path, *, secrets_left_out: bool = False) -> Answers:
    answers, reports = check_file(path, secrets_left_out=secrets_left_out)
    if answers is None:
        raise ValidationFailed(reports)
    return answers
