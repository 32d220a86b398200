"""The fleet commands' pure parts: registry reading, known_hosts, pinning, argument checks."""

from __future__ import annotations

from pathlib import Path

import paramiko
import pytest
from fabric import Connection

from appliance.cli import build_parser
from appliance.errors import ExpandError
from tunnel.support.fleet import Hub, pinned, run_everywhere
from tunnel.support.fleet_cli import parse_hub, pinned_sites, site_ssh_config, split_run_words
from tunnel.support.fleet_registry import Site, find, known_hosts, load_sites
from tunnel.support.hub_keys import parse_public_key

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0E6+mSXxqVURGmhQjqlgs3D3df5DGqRGdjvHb2kiXO"
KEY2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPPgaljMINfTrpZvRYW+DBVhKp3z4JUH28tpv3ATiA/9"
FINGERPRINT = parse_public_key(KEY, "test").fingerprint
FINGERPRINT2 = parse_public_key(KEY2, "test").fingerprint
GOOD = f"""
version = 1

[sites.bravo]
port = 20018
fingerprint = "{FINGERPRINT}"
key = "{KEY} tunnel-bravo"
added = "2026-12-01T13:00:00Z"

[sites.acme]
port = 20017
fingerprint = "{FINGERPRINT2}"
key = "{KEY2}"
host-key = "{KEY} comment"
added = "2026-12-01T13:00:00Z"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "registry.toml"
    path.write_text(text)
    return path


def test_registry_sites_and_known_hosts(tmp_path: Path) -> None:
    sites = load_sites(write(tmp_path, GOOD))
    assert sites == [Site("acme", 20017, FINGERPRINT2, KEY),
                     Site("bravo", 20018, FINGERPRINT, "")]
    assert known_hosts(sites) == f"[localhost]:20017 {KEY}\n"  # bravo: nothing to pin
    assert find(sites, "bravo").port == 20018
    with pytest.raises(ExpandError, match="'zulu' is not in the support registry"):
        find(sites, "zulu")


@pytest.mark.parametrize(("host_key", "named"), [
    ("nope", "sites.acme.host-key: not a public key"),
    ("ssh-ed25519 !!!", "sites.acme.host-key: the key is not base64"),
])
def test_a_bad_host_key_is_named(tmp_path: Path, host_key: str, named: str) -> None:
    text = GOOD.replace(f'host-key = "{KEY} comment"', f'host-key = "{host_key}"')
    with pytest.raises(ExpandError, match=r"registry\.toml") as caught:
        load_sites(write(tmp_path, text))
    assert named in str(caught.value) and "\n" not in str(caught.value)


def test_pinned_connection_rejects_unknown_keys(tmp_path: Path) -> None:
    """fabric's Connection comes with AutoAddPolicy; pinned() leaves only our file's keys."""
    known = tmp_path / "known_hosts"
    known.write_text(f"[localhost]:20017 {KEY}\n")
    conn = Connection("localhost", port=20017)
    assert isinstance(conn.client._policy, paramiko.AutoAddPolicy)
    pinned(conn, known)
    assert isinstance(conn.client._policy, paramiko.RejectPolicy)
    assert conn.client.get_host_keys().lookup("[localhost]:20017") is not None


def test_no_sites_no_connection(tmp_path: Path) -> None:
    hub = Hub("203.0.113.129", 22, "eng", tmp_path / "none")
    assert run_everywhere(hub, [], "true", user="support", known_hosts=tmp_path) == []


@pytest.mark.parametrize(("value", "parsed"), [
    ("eng@hub.example.com", ("eng", "hub.example.com", 22)),
    ("ssh://eng@203.0.113.129:2222", ("eng", "203.0.113.129", 2222)),
])
def test_hub_argument(value: str, parsed: tuple[str, str, int]) -> None:
    assert parse_hub(value) == parsed


@pytest.mark.parametrize("value", ["", "hub", "eng@hub:0", "eng@hub:99999", "-oProxy=x@h",
                                   "eng@h;ls"])
def test_bad_hub_argument(value: str) -> None:
    with pytest.raises(ExpandError, match="--hub"):
        parse_hub(value)


def test_site_ssh_config_jumps_through_the_hub_pinned(tmp_path: Path) -> None:
    hub = Hub("203.0.113.129", 2222, "eng", tmp_path / "hub_kh", tmp_path / "id")
    text = site_ssh_config(hub, Site("acme", 20017, "", KEY), "support", tmp_path / "kh")
    assert text.index("Host acme") < text.index("Host *")  # first value wins in ssh_config
    for line in ("HostName localhost", "Port 20017", "ProxyJump expand-hub", "User support",
                 "StrictHostKeyChecking yes", f"UserKnownHostsFile {tmp_path / 'kh'}"):
        assert f"  {line}\n" in text


def test_a_site_without_host_key_is_refused_not_trusted(tmp_path: Path) -> None:
    with pytest.raises(ExpandError, match="no host-key for bravo: its host key cannot be pinned"):
        pinned_sites(write(tmp_path, GOOD))


@pytest.mark.parametrize(("argv", "site", "command", "json_out"), [
    (["acme", "--", "uptime"], "acme", ["uptime"], False),
    (["--json", "acme", "--", "ls", "-l"], "acme", ["ls", "-l"], True),
    (["acme", "--json", "--timeout", "5", "--", "df", "--", "x"], "acme", ["df", "--", "x"],
     True),
    (["--all", "--", "uptime"], None, ["uptime"], False),
    (["--all", "uptime"], None, ["uptime"], False),
    (["acme", "ls", "-l"], "acme", ["ls", "-l"], False),
])
def test_run_words(argv: list[str], site: str | None, command: list[str],
                   json_out: bool) -> None:
    args = build_parser().parse_args(["support", "run", *argv])
    assert split_run_words(args) == (site, command)
    assert args.json is json_out


@pytest.mark.parametrize(("argv", "named"), [
    (["acme", "--bogus", "--", "x"], "unknown option '--bogus'"),
    (["acme", "bravo", "--", "x"], "give SITE -- CMD"),
    (["--all", "acme", "--", "x"], "give SITE -- CMD"),
    (["acme", "--timeout", "soon", "--", "x"], "--timeout"),
])
def test_bad_run_words(argv: list[str], named: str) -> None:
    args = build_parser().parse_args(["support", "run", *argv])
    with pytest.raises(ExpandError, match=named):
        split_run_words(args)
