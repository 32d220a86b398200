"""Host facts as frozen data, and their JSON form (snapshots for tests and support).

Facts only say what is there; :mod:`hardware_profiles.judge` decides what it means.
Loading a snapshot checks every key and type and reports all problems at once, each
naming the file and the key (``box.json: disks[0].size_bytes: expected an integer``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.readers import ReadError, cut, parse_json, read_text, show_path, shown
from appliance.reports import Report, ValidationFailed

SCHEMA = 1


@dataclass(frozen=True)
class Cpu:
    logical: int                 # CPUs the kernel schedules on (threads / vCPUs)
    physical: int | None = None  # cores; None when unknown
    sockets: int | None = None   # distinct "physical id" values in /proc/cpuinfo
    model: str = ""


@dataclass(frozen=True)
class Memory:
    total_bytes: int                 # MemTotal: RAM minus what firmware and kernel keep
    online_bytes: int | None = None  # online memory blocks: close to the RAM installed


@dataclass(frozen=True)
class Disk:
    name: str
    size_bytes: int
    rotational: bool | None = None
    model: str = ""
    partitions: tuple[str, ...] = ()


@dataclass(frozen=True)
class MdArray:
    """One software RAID array from /proc/mdstat."""

    name: str
    level: str                        # "raid1", ...
    state: str                        # "active", "inactive", "active (auto-read-only)"
    members: tuple[str, ...] = ()     # e.g. ("sda2", "sdb2"), failed and spares included
    failed: tuple[str, ...] = ()      # members marked (F)
    spares: tuple[str, ...] = ()      # members marked (S)
    raid_disks: int | None = None     # "[2/1]" → 2
    working_disks: int | None = None  # "[2/1]" → 1
    status: str = ""                  # "[U_]" → "U_"
    sync: str = ""                    # "recovery = 12.6% ..." while rebuilding

    @property
    def degraded(self) -> bool:
        if "_" in self.status:
            return True
        return (self.raid_disks is not None and self.working_disks is not None
                and self.working_disks < self.raid_disks)


@dataclass(frozen=True)
class Nic:
    name: str
    speed_mbps: int | None = None  # None when the driver does not say (virtio, link down)
    operstate: str = ""
    driver: str = ""


@dataclass(frozen=True)
class Virtualization:
    vm: str = ""         # hypervisor ("kvm", "vmware", "microsoft", ...); "" on bare metal
    container: str = ""  # container manager ("docker", "systemd-nspawn", ...) or ""
    source: str = ""     # how it was found out

    @property
    def is_vm(self) -> bool:
        return bool(self.vm)


@dataclass(frozen=True)
class HostFacts:
    cpu: Cpu
    memory: Memory
    disks: tuple[Disk, ...] = ()
    md_arrays: tuple[MdArray, ...] = ()
    nics: tuple[Nic, ...] = ()
    virtualization: Virtualization = field(default_factory=Virtualization)
    hostname: str = ""
    notes: tuple[str, ...] = ()  # what could not be read while gathering
    schema: int = SCHEMA


def facts_to_dict(facts: HostFacts) -> dict[str, Any]:
    """Plain JSON data (lists, not tuples): what ``facts_from_dict`` reads back."""
    data: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(facts)))
    return data


def facts_to_json(facts: HostFacts) -> str:
    return json.dumps(facts_to_dict(facts), indent=2) + "\n"


def facts_from_dict(data: Any, source: str = "facts") -> HostFacts:
    """Build facts from parsed JSON; raises ValidationFailed listing every problem."""
    reports: list[Report] = []
    facts = _build(HostFacts, data, "", source, reports)
    if facts is not None and facts.schema != SCHEMA:
        reports.append(Report(source, "schema", f"version {facts.schema} is not supported "
                                                f"(this expandctl reads version {SCHEMA})"))
    if reports or facts is None:
        raise ValidationFailed(reports)
    return facts


def load_facts(path: Path) -> HostFacts:
    text = read_text(path, what="facts snapshot")  # ExpandError naming the file
    try:
        data = parse_json(text, str(path))
    except ReadError as exc:
        raise ValidationFailed([Report(exc.source, "", exc.reason)]) from None
    return facts_from_dict(data, str(path))


def save_facts(facts: HostFacts, path: Path) -> None:
    try:
        FileSink(Path("/")).write(os.path.realpath(path), facts_to_json(facts), mode=0o644)
    except OSError as exc:
        raise ExpandError(f"{show_path(path)}: cannot write the facts: "
                          f"{(exc.strerror or str(exc)).lower()}") from None


# --- strict, generic JSON → dataclass conversion --------------------------------------

T = TypeVar("T")


def _build(cls: type[T], data: Any, where: str, source: str,
           reports: list[Report]) -> T | None:
    if not isinstance(data, dict):
        reports.append(Report(source, where, "expected an object"))
        return None
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in data:
        if key not in known:
            reports.append(Report(source, _join(where, str(key)), "unknown key"))
    values: dict[str, Any] = {}
    ok = True
    for name, spec in known.items():
        key = _join(where, name)
        if name not in data:
            if (spec.default is dataclasses.MISSING
                    and spec.default_factory is dataclasses.MISSING):
                reports.append(Report(source, key, "missing"))
                ok = False
            continue
        good, value = _convert(hints[name], data[name], key, source, reports)
        ok &= good
        values[name] = value
    return cls(**values) if ok else None


def _convert(hint: Any, value: Any, key: str, source: str,
             reports: list[Report]) -> tuple[bool, Any]:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return True, None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(inner, value, key, source, reports)
    if origin is tuple:
        if not isinstance(value, list):
            reports.append(Report(source, key, "expected a list"))
            return False, None
        item_hint = typing.get_args(hint)[0]
        converted = [_convert(item_hint, item, f"{key}[{i}]", source, reports)
                     for i, item in enumerate(value)]
        return all(g for g, _ in converted), tuple(v for _, v in converted)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        built = _build(hint, value, key, source, reports)
        return built is not None, built
    expected = {int: "an integer", bool: "true or false", str: "a string"}[hint]
    # bool is an int in Python: refuse true/false where a number is meant.
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        reports.append(Report(source, key, f"expected {expected}, not {_shown(value)}"))
        return False, None
    if hint is int and value < 0:
        reports.append(Report(source, key, f"must not be negative, not {value}"))
        return False, None
    return True, value


def _shown(value: Any) -> str:
    try:
        return cut(json.dumps(value))
    except (ValueError, RecursionError):  # a 5,000-digit integer, a deep structure
        return shown(value)


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name
