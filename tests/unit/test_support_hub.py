"""The hub's registry, key lines, sshd block and /proc parsing, in process."""

from __future__ import annotations

import base64
import os
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

from appliance.errors import ExpandError
from tunnel.support import hub_proc
from tunnel.support.hub import HubFiles, add_site, remove_site
from tunnel.support.hub_config import SETTINGS, expected_effective, match_block
from tunnel.support.hub_install import claim_archive
from tunnel.support.hub_keys import (
    key_line,
    parse_authorized_keys,
    parse_host_key,
    parse_public_key,
)
from tunnel.support.registry import Registry, load_registry, parse_registry, render_registry

pytestmark = pytest.mark.unit
CLAIM = "/usr/local/libexec/expand-claim"


def new_key() -> str:
    public = Ed25519PrivateKey.generate().public_key()
    return public.public_bytes(serialization.Encoding.OpenSSH,
                               serialization.PublicFormat.OpenSSH).decode() + " root@box"


def files(tmp_path: Path) -> HubFiles:
    return HubFiles(tmp_path / "hub" / "registry.toml", tmp_path / "hub" / "authorized_keys")


# --- keys -----------------------------------------------------------------------------------

def test_an_ed25519_line_gives_the_key_and_ssh_keygen_fingerprint_shape() -> None:
    line = new_key()
    key = parse_public_key(line + "\n", "PUBKEY")
    assert key.text == " ".join(line.split()[:2])
    assert key.fingerprint.startswith("SHA256:") and len(key.fingerprint) == 7 + 43


def test_a_known_key_has_the_fingerprint_ssh_keygen_printed() -> None:
    # ssh-keygen -lf of this key printed SHA256:jFvvXhEoEosGD8LRKahk/asp/Abi/avDl6JcR1y2yQk
    line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhtKsoaJo+7WaITmAIADo2EAvS2RcFaiElK10P/Y/VC"
    assert parse_public_key(line, "k").fingerprint == \
        "SHA256:jFvvXhEoEosGD8LRKahk/asp/Abi/avDl6JcR1y2yQk"


def _blob(*parts: bytes) -> str:
    return base64.b64encode(b"".join(struct.pack(">I", len(p)) + p for p in parts)).decode()


RSA_LINE = generate_private_key(public_exponent=65537, key_size=1024).public_key() \
    .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


@pytest.mark.parametrize(("text", "why"), [
    ("", "empty"),
    ("# only a comment\n", "empty"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n", "private key"),
    (RSA_LINE, "key type 'ssh-rsa'"),
    ('restrict,command="sh" ' + "ssh-ed25519 AAAA x", "options"),
    ("ssh-ed25519", "not a public key line"),
    ("ssh-ed25519 not*base64", "not base64"),
    ("ssh-ed25519 " + _blob(b"ssh-ed25519", b"\1" * 31), "31 key bytes"),
    ("ssh-ed25519 " + _blob(b"ssh-rsa", b"\1" * 32), "type 'ssh-rsa'"),
    ("ssh-ed25519 " + _blob(b"ssh-ed25519", b"\1" * 32, b"extra"), "not an ssh-ed25519"),
    ("ssh-ed25519 " + base64.b64encode(b"\0\0\0\x40ssh").decode(), "truncated"),
])
def test_a_bad_key_is_one_line_naming_the_source(text: str, why: str) -> None:
    with pytest.raises(ExpandError, match=r"^PUBKEY: ") as err:
        parse_public_key(text, "PUBKEY")
    assert why in str(err.value)
    assert "\n" not in str(err.value)


def test_two_keys_are_refused() -> None:
    with pytest.raises(ExpandError, match="2 lines"):
        parse_public_key(new_key() + "\n" + new_key(), "PUBKEY")


def test_the_key_line_restricts_to_one_listen_port_and_the_claim() -> None:
    key = parse_public_key(new_key(), "k")
    line = key_line("acme", 20017, key, CLAIM)
    assert line == (f'restrict,port-forwarding,permitlisten="localhost:20017",'
                    f'command="{CLAIM} 20017" {key.text} expand-acme')
    parsed = parse_authorized_keys(line + "\n# comment\n\n" + new_key())
    assert parsed[0].site == "acme" and parsed[0].blob == key.blob
    assert parsed[1].blob is None and parsed[3].site is None and parsed[3].blob


def test_options_with_quoted_spaces_are_skipped_as_sshd_does() -> None:
    key = parse_public_key(new_key(), "k")
    text = f'command="echo \\"a b\\" c",from="x" {key.text} expand-acme'
    assert parse_authorized_keys(text)[0].blob == key.blob


def test_a_host_key_line_is_type_and_data() -> None:
    line = new_key()
    assert parse_host_key(line, "--host-key") == " ".join(line.split()[:2])
    with pytest.raises(ExpandError, match="--host-key: host key data is a 'ssh-ed25519'"):
        parse_host_key("ssh-rsa " + line.split()[1], "--host-key")


# --- registry -------------------------------------------------------------------------------

def test_ports_are_stable_per_site_and_the_lowest_free_is_taken(tmp_path: Path) -> None:
    hub = files(tmp_path)
    keys = {name: parse_public_key(new_key(), name) for name in ("a", "b", "c")}
    assert [add_site(hub, n, keys[n], claim_command=CLAIM).port for n in "abc"] == \
        [20000, 20001, 20002]
    assert add_site(hub, "b", keys["b"], claim_command=CLAIM).port == 20001
    remove_site(hub, "a")
    assert add_site(hub, "d", parse_public_key(new_key(), "d"), claim_command=CLAIM).port \
        == 20000
    registry = load_registry(hub.registry, missing_ok=False)
    assert {n: s.port for n, s in registry.sites.items()} == {"b": 20001, "c": 20002, "d": 20000}


def test_a_re_run_writes_nothing(tmp_path: Path) -> None:
    hub = files(tmp_path)
    key = parse_public_key(new_key(), "k")
    first = add_site(hub, "acme", key, claim_command=CLAIM)
    assert first.changed
    before = {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in (hub.registry,
                                                                   hub.authorized_keys)}
    again = add_site(hub, "acme", key, claim_command=CLAIM)
    assert not again.changed and again.port == first.port
    assert "nothing changed" in again.note
    assert before == {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in before}


def test_the_same_key_for_another_site_is_refused_and_nothing_written(tmp_path: Path) -> None:
    hub = files(tmp_path)
    key = parse_public_key(new_key(), "k")
    add_site(hub, "acme", key, claim_command=CLAIM)
    state = hub.registry.read_bytes(), hub.authorized_keys.read_bytes()
    with pytest.raises(ExpandError, match="already site acme's"):
        add_site(hub, "other", key, claim_command=CLAIM)
    assert state == (hub.registry.read_bytes(), hub.authorized_keys.read_bytes())


def test_a_key_on_a_line_hub_add_did_not_write_is_refused(tmp_path: Path) -> None:
    hub = files(tmp_path)
    line = new_key()
    hub.authorized_keys.parent.mkdir()
    hub.authorized_keys.write_text(f"# admin\n{line}\n")
    with pytest.raises(ExpandError, match=r"line 2 \(a line hub-add did not write"):
        add_site(hub, "acme", parse_public_key(line, "k"), claim_command=CLAIM)
    assert not hub.registry.exists()


def test_a_new_key_replaces_the_sites_line_and_keeps_other_lines(tmp_path: Path) -> None:
    hub = files(tmp_path)
    hub.authorized_keys.parent.mkdir()
    other = new_key()
    hub.authorized_keys.write_text(other + "\n")
    hub.authorized_keys.chmod(0o600)
    old, new = parse_public_key(new_key(), "o"), parse_public_key(new_key(), "n")
    add_site(hub, "acme", old, claim_command=CLAIM)
    change = add_site(hub, "acme", new, claim_command=CLAIM)
    assert change.port == 20000 and "key replaced" in change.note
    lines = hub.authorized_keys.read_text().splitlines()
    assert lines[0] == other and len(lines) == 2
    assert new.blob in lines[1] and old.blob not in lines[1]
    assert hub.authorized_keys.stat().st_mode & 0o777 == 0o600  # the mode it had
    assert load_registry(hub.registry, missing_ok=False).sites["acme"].key == new


def test_remove_takes_the_line_and_the_entry(tmp_path: Path) -> None:
    hub = files(tmp_path)
    add_site(hub, "acme", parse_public_key(new_key(), "k"), claim_command=CLAIM)
    remove_site(hub, "acme")
    assert hub.authorized_keys.read_text() == ""
    assert load_registry(hub.registry, missing_ok=False).sites == {}
    with pytest.raises(ExpandError, match="acme: no such site"):
        remove_site(hub, "acme")


def test_the_registry_round_trips(tmp_path: Path) -> None:
    hub = files(tmp_path)
    host = new_key()
    add_site(hub, "acme", parse_public_key(new_key(), "k"), claim_command=CLAIM,
             host_key=parse_host_key(host, "h"), port=20500)
    registry = load_registry(hub.registry, missing_ok=False)
    assert registry.sites["acme"].port == 20500
    assert registry.sites["acme"].host_key == " ".join(host.split()[:2])
    assert render_registry(registry) == hub.registry.read_text()


def _registry_text(**site: object) -> dict[str, object]:
    key = new_key()
    entry = {"port": 20000, "fingerprint": parse_public_key(key, "k").fingerprint,
             "key": key, "added": "2026-01-01T00:00:00Z", **site}
    return {"version": 1, "sites": {"acme": entry}}


@pytest.mark.parametrize(("change", "message"), [
    ({"port": 80}, "sites.acme.port: 80 is not a port"),
    ({"port": 40000}, "sites.acme.port: 40000 is outside ports 20000-29999"),
    ({"fingerprint": "SHA256:x"}, "sites.acme.fingerprint: 'SHA256:x' is not the fingerprint"),
    ({"key": "ssh-rsa AAAA"}, "sites.acme.key: key type"),
    ({"colour": "red"}, "sites.acme.colour: unknown key"),
    ({"added": 5}, "sites.acme.added: 5 is not a string"),
])
def test_a_broken_registry_entry_is_named(change: dict[str, object], message: str) -> None:
    with pytest.raises(ExpandError, match=r"^reg\.toml: ") as err:
        parse_registry(_registry_text(**change), "reg.toml")
    assert message in str(err.value)


def test_two_sites_on_one_port_are_refused() -> None:
    data = _registry_text()
    other = _registry_text()["sites"]["acme"]  # type: ignore[index]
    data["sites"]["other"] = other  # type: ignore[index]
    with pytest.raises(ExpandError, match=r"sites\.other\.port: 20000 is also the port of acme"):
        parse_registry(data, "reg.toml")


def test_a_full_range_says_so() -> None:
    registry = parse_registry({"version": 1, "ports": {"first": 30000, "last": 30000}},
                              "r")
    key = parse_public_key(new_key(), "k")
    from tunnel.support.registry import Site
    full = registry.with_site(Site("a", 30000, key, "t"))
    with pytest.raises(ExpandError, match="no free port left in 30000-30000"):
        full.free_port()
    assert Registry().free_port() == 20000


# --- sshd block -----------------------------------------------------------------------------

def test_the_match_block_holds_every_setting_and_no_unused_connection_timeout() -> None:
    block = match_block("tunnel", Path("/etc/expand/support/authorized_keys"))
    lines = block.splitlines()
    assert "Match User tunnel" in lines
    assert "    AuthorizedKeysFile /etc/expand/support/authorized_keys" in lines
    for name, value in SETTINGS:
        assert f"    {name} {value}" in lines
    assert "UnusedConnectionTimeout" not in block
    assert expected_effective("tunnel")["allowstreamlocalforwarding"] == "no"


@pytest.mark.parametrize(("user", "keys", "message"), [
    ("Tunnel x", "/k", "--user"), ("tunnel", "relative/k", "--authorized-keys"),
    ("tunnel", "/with space", "--authorized-keys")])
def test_a_bad_user_or_path_is_refused(user: str, keys: str, message: str) -> None:
    with pytest.raises(ExpandError, match=message):
        match_block(user, Path(keys))


# --- /proc ----------------------------------------------------------------------------------

TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:4E31 00000000:0000 0A 00000000:00000000 00:00000000 00000000 64123        0 4242 1
   1: 8100710C:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1
   2: 0100007F:4E31 0100007F:D1A2 01 00000000:00000000 00:00000000 00000000 64123        0 0 1
"""
TCP6 = """\
  sl  local_address                         remote_address                        st
   0: 00000000000000000000000001000000:4E31 00000000000000000000000000000000:0000 0A \
00000000:00000000 00:00000000 00000000 64123        0 4243 1
"""


def test_loopback_listeners_are_read_from_both_tables(tmp_path: Path) -> None:
    (tmp_path / "net").mkdir()
    (tmp_path / "net/tcp").write_text(TCP)
    (tmp_path / "net/tcp6").write_text(TCP6)
    found = hub_proc.loopback_listeners(tmp_path)
    assert sys.byteorder == "little"  # the sample is an x86 one
    assert found == {20017: [hub_proc.Listener("127.0.0.1", 20017, 64123, 4242),
                             hub_proc.Listener("::1", 20017, 64123, 4243)]}


def test_this_process_holds_its_own_listener_by_inode() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        listener = hub_proc.loopback_listeners()[port][0]
        assert listener.uid == os.getuid()
        me = hub_proc.read_process(os.getpid())
        assert me is not None
        holders = hub_proc.socket_holders({listener.inode}, [me])
        assert holders == {listener.inode: me}
    assert hub_proc.ancestors(os.getpid())[0] == me
    assert abs(me.started - hub_proc.boot_time()) < 10 ** 9


# --- the claim program ----------------------------------------------------------------------

def test_the_claim_program_runs_with_only_its_own_modules(tmp_path: Path) -> None:
    """-IS: no site-packages, no environment; a module missing from MODULES fails here."""
    program = tmp_path / "claim"
    program.write_bytes(claim_archive(sys.executable))
    program.chmod(0o755)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: the port counts as free
    if port <= 1024:
        pytest.skip("a low ephemeral port")
    proc = subprocess.run([str(program), str(port)], capture_output=True, text=True,
                          timeout=30, check=False, env={"HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"claim {port}: port free"
    bad = subprocess.run([str(program), "22"], capture_output=True, text=True, timeout=30,
                         check=False)
    assert bad.returncode == 2 and "PORT: '22' is not a port number above 1024" in bad.stderr
    assert claim_archive(sys.executable) == program.read_bytes()  # stable bytes


def test_a_claim_record_is_trusted_only_for_the_same_live_sshd(tmp_path: Path) -> None:
    """A reused pid (another start time) or a process that is not sshd is never taken for
    the recorded session."""
    from tunnel.support.claim import _recorded

    me = hub_proc.read_process(os.getpid())
    assert me is not None
    (tmp_path / "20017").write_text(f"{me.pid} {me.start_ticks}\n")
    assert _recorded(tmp_path, 20017, comm=me.comm) == me
    assert _recorded(tmp_path, 20017) is None  # this process is not sshd
    (tmp_path / "20017").write_text(f"{me.pid} {me.start_ticks + 1}\n")
    assert _recorded(tmp_path, 20017, comm=me.comm) is None  # the pid, reused
    (tmp_path / "20017").write_text("garbage\n")
    assert _recorded(tmp_path, 20017) is None
    assert _recorded(tmp_path, 20018) is None  # no record


def test_the_list_table_says_who_is_connected_since_when_and_what_is_unregistered() -> None:
    from tunnel.support.listing import Listing, SiteState, table

    listing = Listing((SiteState("acme", 20000, True, 1_000_000.0, 42, 64123),
                       SiteState("beta", 20001, False, None, None, None)), True, (20007,))
    text = table(listing, now=1_000_000.0 + 3 * 3600 + 5 * 60)
    lines = text.splitlines()
    assert lines[0].split() == ["SITE", "PORT", "STATE", "SINCE", "FOR"]
    assert lines[1].split() == ["acme", "20000", "connected", "1970-01-12T13:46:40Z", "3h05m"]
    assert lines[2].split() == ["beta", "20001", "down", "-", "-"]
    assert "1 of 2 sites connected" in text and "held by no registered site: 20007" in text
    data = listing.as_json()
    assert data["connected"] == 1 and data["unregistered_ports"] == [20007]
    assert data["sites"][0] == {"site": "acme", "port": 20000, "connected": True,
                                "since": "1970-01-12T13:46:40Z", "session_pid": 42}


def _add_in_child(hub: HubFiles, site: str, key_text: str) -> None:
    add_site(hub, site, parse_public_key(key_text, site), claim_command=CLAIM)


def test_hub_adds_at_the_same_time_get_distinct_ports_and_lose_no_line(tmp_path: Path) -> None:
    """The registry folder's lock: eight engineers' runs at once, none overwrites another."""
    import multiprocessing

    hub = files(tmp_path)
    hub.registry.parent.mkdir()
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_add_in_child, args=(hub, f"s{i}", new_key()))
                for i in range(8)]
    for child in children:
        child.start()
    for child in children:
        child.join(30)
        assert child.exitcode == 0
    registry = load_registry(hub.registry, missing_ok=False)
    assert sorted(s.port for s in registry.sites.values()) == list(range(20000, 20008))
    lines = parse_authorized_keys(hub.authorized_keys.read_text())
    assert sorted(line.site or "" for line in lines) == sorted(f"s{i}" for i in range(8))


def test_known_hosts_lines_come_from_the_registry_host_keys(tmp_path: Path) -> None:
    from tunnel.support.registry import known_hosts_text

    hub = files(tmp_path)
    host = new_key()
    add_site(hub, "acme", parse_public_key(new_key(), "a"), claim_command=CLAIM,
             host_key=parse_host_key(host, "h"))
    add_site(hub, "beta", parse_public_key(new_key(), "b"), claim_command=CLAIM)
    text = known_hosts_text(load_registry(hub.registry, missing_ok=False))
    assert text == f"[localhost]:20000 {' '.join(host.split()[:2])}\n"
