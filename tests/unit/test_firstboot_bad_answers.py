"""Bad answers files: every one rejected naming the key, exit 1, the target root unchanged."""

from __future__ import annotations

import contextlib
import io
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from appliance.cli import main
from tests.unit.firstboot_support import EXAMPLES, FIXTURES, apply_cli, seed_root, tree_hash

DELETE = object()
# (dotted key to change, new value or DELETE, key the report must name)
VARIATIONS: list[tuple[str, Any, str]] = [
    ("mode", "tertiary", "mode"),
    ("mode", DELETE, "mode"),
    ("timezone", "Mars/Olympus_Mons", "timezone"),
    ("timezone", 5, "timezone"),
    ("nodes.primary-hostname", "-bad", "nodes.primary-hostname"),
    ("nodes.primary-hostname", "two words", "nodes.primary-hostname"),
    ("nodes.secondary-hostname", "expand1", "nodes.secondary-hostname"),
    ("nodes.secondary-hostname", "x" * 64, "nodes.secondary-hostname"),
    ("interconnect.primary-address", "203.0.113.300", "interconnect.primary-address"),
    ("interconnect.primary-address", "198.51.100.20", "interconnect.primary-address"),
    ("interconnect.prefix", 31, "interconnect.prefix"),
    ("interconnect.prefix", "abc", "interconnect.prefix"),
    ("interconnect.secondary-address", "203.0.113.1", "interconnect.secondary-address"),
    ("interconnect.secondary-address", "203.0.113.9", "interconnect.secondary-address"),
    ("network.primary-ip", "198.51.100", "network.primary-ip"),
    ("network.primary-ip", DELETE, "network.primary-ip"),
    ("network.primary-ip", "198.51.100.0", "network.primary-ip"),
    ("network.netmask", "255.0.255.0", "network.netmask"),
    ("network.netmask", "255.255.255.255", "network.netmask"),
    ("network.gateway", "10.0.0.1", "network.gateway"),
    ("network.gateway", "198.51.100.11", "network.gateway"),
    ("network.gateway", DELETE, "network.gateway"),
    ("network.dns", [], "network.dns"),
    ("network.dns", ["198.51.100.53", "198.51.100.54", "198.51.100.55"], "network.dns"),
    ("network.dns", ["nope"], "network.dns"),
    ("network.dns", ["198.51.100.53", "198.51.100.53"], "network.dns"),
    ("network.pbx-domain", "bad_domain!", "network.pbx-domain"),
    ("network.secondary-ip", "198.51.100.11", "network.secondary-ip"),
    ("network.secondary-ip", "203.0.113.5", "network.secondary-ip"),
    ("network.secondary-ip", DELETE, "network.secondary-ip"),
    ("network.virtual-ip", "198.51.100.255", "network.virtual-ip"),
    ("network.virtual-ip", "10.1.1.1", "network.virtual-ip"),
    ("network.virtual-ip", "198.51.100.12", "network.virtual-ip"),
    ("network.virtual-ip", DELETE, "network.virtual-ip"),
    ("smtp.smarthost", "", "smtp.smarthost"),
    ("smtp.smarthost", "localhost", "smtp.smarthost"),
    ("smtp.smarthost", DELETE, "smtp.smarthost"),
    ("smtp.port", 70000, "smtp.port"),
    ("smtp.port", "smtp", "smtp.port"),
    ("smtp.username", "pbx user@example.com", "smtp.username"),
    ("smtp.password", "", "smtp.password"),
    ("smtp.password", "two\nlines", "smtp.password"),
    ("storage.mode", "nfs", "storage.mode"),
    ("storage.device", "", "storage.device"),
    ("storage.device", "sdb", "storage.device"),
    ("fencing.mode", "magic", "fencing.mode"),
    ("fencing.password", "", "fencing.password"),
    ("fencing.primary-target", "", "fencing.primary-target"),
    ("support.enabled", "yes", "support.enabled"),
    ("support.hub-port", 0, "support.hub-port"),
    ("support.network", "200.40.119.0/33", "support.network"),
    # By kind: what would be pasted into a config file or a command.
    ("fencing.primary-target", "10.0.0.300", "fencing.primary-target"),  # ipmi: no host name
    ("fencing.secondary-target", "bmc_2!", "fencing.secondary-target"),
    ("fencing.secondary-target", "bmc2\nlanplus=0", "fencing.secondary-target"),
    ("fencing.host", "vc..example.com", "fencing.host"),
    ("fencing.username", "fence\u0000", "fencing.username"),
    ("fencing.password", "a\u001bb", "fencing.password"),
    ("storage.device", "/dev/x; } resource evil {", "storage.device"),
    ("storage.device", "/dev/../etc/shadow", "storage.device"),
    ("storage.device", '/dev/sd"b', "storage.device"),
    ("storage.device", "/dev/disk/by-id/a b", "storage.device"),
    ("smtp.username", "pbx:admin@example.com", "smtp.username"),
    ("smtp.username", "pbx\n@example.com", "smtp.username"),
    ("smtp.password", "ends in a blank ", "smtp.password"),
    ("smtp.smarthost", "10.0.0.300", "smtp.smarthost"),
    ("network.pbx-domain", "pbx example.com", "network.pbx-domain"),
    ("network.colour", "blue", "network.colour"),
    ("bogus.key", 1, "bogus"),
]


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)


def dump(data: dict[str, Any]) -> str:
    top = [f"{k} = {toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    tables = [f"\n[{k}]\n" + "".join(f"{sk} = {toml_value(sv)}\n" for sk, sv in v.items())
              for k, v in data.items() if isinstance(v, dict)]
    return "\n".join(top) + "\n" + "".join(tables)


def variant(key: str, value: Any) -> str:
    data = tomllib.loads((EXAMPLES / "primary.toml").read_text())
    section, _, name = key.rpartition(".")
    table = data.setdefault(section, {}) if section else data
    if value is DELETE:
        del table[name]
    else:
        table[name] = value
    return dump(data)


def run_in_process(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_there_are_at_least_forty_variations() -> None:
    assert len(VARIATIONS) >= 40


def test_the_unchanged_base_is_valid(tmp_path: Path) -> None:
    base = tmp_path / "base.toml"
    base.write_text(variant("mode", "primary"))
    code, _, err = run_in_process("answers", "validate", str(base))
    assert code == 0, err


@pytest.mark.parametrize(("key", "value", "named"), VARIATIONS,
                         ids=[f"{k}={v!r}"[:50] for k, v, _ in VARIATIONS])
def test_bad_answers_rejected_naming_the_key(tmp_path: Path, key: str, value: Any,
                                             named: str) -> None:
    answers = tmp_path / "bad.toml"
    answers.write_text(variant(key, value))
    root = seed_root(tmp_path / "root", "rocky9")
    before = tree_hash(root)
    code, out, err = run_in_process(
        "firstboot", "--answers", str(answers), "--yes", "--root", str(root),
        "--host-facts", str(FIXTURES / "host-two-nics.json"))
    assert code == 1
    assert f"{answers}: {named}: " in err
    assert "nothing applied" in err
    assert "eXpand installed" not in out
    assert tree_hash(root) == before


# Fencing targets are checked by what the chosen mode makes of them.
BY_MODE: list[tuple[dict[str, Any], str]] = [
    ({"fencing.mode": "vmware", "fencing.host": "vc.example.com",
      "fencing.primary-target": 'pbx "one"'}, "fencing.primary-target"),
    ({"fencing.mode": "vmware", "fencing.host": "vc.example.com",
      "fencing.secondary-target": "pbx\\two"}, "fencing.secondary-target"),
    ({"fencing.mode": "vmware", "fencing.host": "vc.example.com",
      "fencing.secondary-target": "v" * 81}, "fencing.secondary-target"),
    ({"fencing.mode": "sbd", "fencing.primary-target": "/dev/sdb,/dev/sdc",
      "fencing.secondary-target": "/dev/sdb"}, "fencing.primary-target"),
    ({"fencing.mode": "sbd", "fencing.primary-target": "/dev/sdb",
      "fencing.secondary-target": "198.51.100.202"}, "fencing.secondary-target"),
    ({"storage.mode": "drbd", "storage.device": "/dev/vdb;"}, "storage.device"),
]
GOOD_BY_MODE: list[dict[str, Any]] = [
    {"fencing.mode": "vmware", "fencing.host": "vc.example.com",
     "fencing.primary-target": "PBX node 1", "fencing.secondary-target": "PBX node 2"},
    {"fencing.mode": "sbd", "fencing.primary-target": "/dev/disk/by-id/scsi-sbd",
     "fencing.secondary-target": "/dev/disk/by-id/scsi-sbd"},
    {"fencing.primary-target": "bmc1.example.com", "fencing.secondary-target": "bmc2"},
    {"storage.mode": "drbd",
     "storage.device": "/dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:1:0"},
]


def variants(changes: dict[str, Any]) -> str:
    data = tomllib.loads((EXAMPLES / "primary.toml").read_text())
    for key, value in changes.items():
        section, _, name = key.rpartition(".")
        data[section][name] = value
    return dump(data)


@pytest.mark.parametrize(("changes", "named"), BY_MODE,
                         ids=[str(list(c.values())[-1])[:30] for c, _ in BY_MODE])
def test_targets_are_checked_by_mode(tmp_path: Path, changes: dict[str, Any],
                                     named: str) -> None:
    answers = tmp_path / "bad.toml"
    answers.write_text(variants(changes))
    code, _, err = run_in_process("answers", "validate", str(answers))
    assert code == 1
    assert f"{answers}: {named}: " in err
    assert len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("changes", GOOD_BY_MODE)
def test_targets_of_the_right_kind_pass(tmp_path: Path, changes: dict[str, Any]) -> None:
    answers = tmp_path / "good.toml"
    answers.write_text(variants(changes))
    code, _, err = run_in_process("answers", "validate", str(answers))
    assert code == 0, err


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    data = tomllib.loads(variant("mode", "tertiary"))
    data["network"]["gateway"] = "10.0.0.1"
    data["smtp"]["port"] = 0
    answers = tmp_path / "bad.toml"
    answers.write_text(dump(data))
    root = seed_root(tmp_path / "root", "debian12")
    before = tree_hash(root)
    proc = apply_cli(answers, root)  # the real command line, as a script would run it
    assert proc.returncode == 1
    for key in ("mode", "network.gateway", "smtp.port"):
        assert f"{answers}: {key}: " in proc.stderr
    assert tree_hash(root) == before


def test_not_toml_is_rejected(tmp_path: Path) -> None:
    answers = tmp_path / "bad.toml"
    answers.write_text("mode = = primary\n")
    root = seed_root(tmp_path / "root", "rocky9")
    before = tree_hash(root)
    code, _, err = run_in_process("firstboot", "--answers", str(answers), "--yes",
                                  "--root", str(root))
    assert code == 1 and "is not valid TOML" in err
    assert tree_hash(root) == before


def test_json_lists_problems(tmp_path: Path) -> None:
    answers = tmp_path / "bad.toml"
    answers.write_text(variant("network.virtual-ip", "10.1.1.1"))
    code, out, _ = run_in_process("firstboot", "plan", str(answers), "--json",
                                  "--root", str(tmp_path))
    assert code == 1
    problems = json.loads(out)["problems"]
    assert [p["key"] for p in problems] == ["network.virtual-ip"]
