"""Bad input to the fleet and verify commands: the registry, --hub-known-hosts, --identity,
--known-hosts, the keys folder of the sshd step. One clear line naming the file, exit 1,
no traceback, nothing written, and no connection tried (every case fails before one)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.bad_input_kit import Maker, Run, check_refusal, run_corpus, write
from tests.unit.test_bad_inputs import DEEP_TOML_ARRAY, DEEP_TOML_TABLE, FILE_KINDS
from tunnel.support.hub_keys import parse_public_key

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0E6+mSXxqVURGmhQjqlgs3D3df5DGqRGdjvHb2kiXO"
REGISTRY_KINDS: dict[str, Callable[[Path], None]] = {
    **FILE_KINDS,
    "deep-array": write(DEEP_TOML_ARRAY),
    "deep-table": write(DEEP_TOML_TABLE),
    "not-toml": write(b"[[sites]\n"),
    "site-incomplete": write(b"version = 1\n[sites.acme]\nport = 20017\n"),
}
TUNNEL_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPPgaljMINfTrpZvRYW+DBVhKp3z4JUH28tpv3ATiA/9"
FINGERPRINT = parse_public_key(TUNNEL_KEY, "test").fingerprint


def _good(case: Path) -> tuple[Path, Path]:
    known = case / "good_known_hosts"
    known.write_text(f"203.0.113.129 {KEY}\n")
    registry = case / "good_registry.toml"
    registry.write_text(f'version = 1\n[sites.acme]\nport = 20017\nfingerprint = "{FINGERPRINT}"\n'
                        f'key = "{TUNNEL_KEY}"\nhost-key = "{KEY}"\nadded = "2026-12-01"\n')
    return known, registry


def support_run(bad: str, kind: Callable[[Path], None]) -> Maker:
    def make(case: Path) -> Run:
        known, registry = _good(case)
        path = case / "bad"
        kind(path)
        files = {"registry": registry, "hub-known-hosts": known, "identity": None}
        files[bad] = path
        argv = ["support", "run", "--all", "--hub", "eng@203.0.113.129"]
        argv += [a for k, v in files.items() if v is not None for a in (f"--{k}", str(v))]
        return Run([*argv, "--", "true"], str(path))
    return make


def verify_known_hosts(kind: Callable[[Path], None]) -> Maker:
    def make(case: Path) -> Run:
        path = case / "known_hosts"
        kind(path)
        return Run(["verify", "--host", "ssh://root@203.0.113.140", "--known-hosts",
                    str(path)], str(path))
    return make


CASES: dict[str, Maker] = {
    **{f"registry-{k}": support_run("registry", f) for k, f in REGISTRY_KINDS.items()},
    **{f"hub-known-hosts-{k}": support_run("hub-known-hosts", f) for k, f in FILE_KINDS.items()},
    **{f"identity-{k}": support_run("identity", f) for k, f in FILE_KINDS.items()
       if k != "empty"},
    **{f"verify-known-hosts-{k}": verify_known_hosts(f) for k, f in FILE_KINDS.items()},
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    return run_corpus(CASES, tmp_path_factory, "fleet-bad")


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_clear_refusal(results: dict[str, Run], name: str) -> None:
    check_refusal(results[name], exit_code=1, max_lines=1)
