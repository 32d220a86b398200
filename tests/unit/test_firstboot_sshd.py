"""The sshd step's plan: engineers' keys, drop-in, window, firewall files (no daemon here;
tests/integration/test_sshd_lockdown.py runs the result under a real sshd and nft)."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

import pytest

from appliance.answers import Answers, load_answers
from appliance.errors import ExpandError
from appliance.runner import RecordingRunner
from firstboot import engine
from firstboot.actions import RemoveFile, RunCommand, WriteFile
from firstboot.host import load_host
from firstboot.steps import sshd_rules as rules
from firstboot.steps.sshd import DROPIN, KEYS_DIR, NFT_FILE, SshdStep
from tests.unit.firstboot_support import EXAMPLES, FIXTURES, seed_root
from tunnel.config import ENGINEERS_AUTHORIZED, ENGINEERS_FILE
from tunnel.window import engineers_lines

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0E6+mSXxqVURGmhQjqlgs3D3df5DGqRGdjvHb2kiXO"
LAN, SUPPORT = IPv4Network("198.51.100.0/24"), IPv4Network("200.40.119.0/24")


def plan(root: Path, answers: Answers | None = None, *, live: bool = False
         ) -> tuple[dict[str, str], list[str], tuple[str, ...], str]:
    """(files written, commands, warnings, detail) of the step on ``root``."""
    ctx = engine.make_context(answers or load_answers(EXAMPLES / "primary.toml"), root=root,
                              runner=RecordingRunner(), live=live,
                              host=load_host(FIXTURES / "host-two-nics.json"))
    planned = SshdStep().plan(ctx)
    files = {a.path: str(a.content) for a in planned.actions if isinstance(a, WriteFile)}
    files |= {a.path: "(removed)" for a in planned.actions if isinstance(a, RemoveFile)}
    commands = [" ".join(a.argv) for a in planned.actions if isinstance(a, RunCommand)]
    return files, commands, planned.warnings, planned.detail


def keys(root: Path, **files: str) -> None:
    folder = root / KEYS_DIR.lstrip("/")
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.pub").write_text(text)


def test_each_engineer_is_a_line_named_after_the_file(tmp_path: Path) -> None:
    root = seed_root(tmp_path, "debian12")
    keys(root, alice=f"{KEY} alice@laptop\n", bob=f"# bob's key\n{KEY}\n")
    files, commands, warnings, detail = plan(root)
    lines = [x for x in files[ENGINEERS_FILE].splitlines() if not x.startswith("#")]
    assert lines == [f"{KEY} alice", f"{KEY} bob"]
    assert engineers_lines(files[ENGINEERS_FILE]) == lines  # what the window copies
    assert ENGINEERS_AUTHORIZED not in files  # the support window's file, not this step's
    assert "LogLevel VERBOSE" in files[DROPIN]
    assert f"AuthorizedKeysFile {ENGINEERS_AUTHORIZED}" in files[DROPIN]
    assert "AuthenticationMethods publickey" in files[DROPIN]
    assert commands[-2:] == ["sshd -t", "systemctl reload-or-restart ssh.service"]
    assert f"nft -f {NFT_FILE}" in commands and "useradd" in commands[0]
    assert warnings == () and "2 engineer key(s); ssh from" in detail


@pytest.mark.parametrize(("name", "text", "named"), [
    ("alice", "", "want exactly one public key, found 0"),
    ("alice", f"{KEY}\n{KEY}\n", "found 2"),
    ("alice", f'command="sh" {KEY}\n', "not a public key line"),
    ("alice", "ssh-ed25519 !!notbase64\n", "not base64"),
    ("alice", f"ssh-rsa {KEY.split()[1]}\n", "does not match its type"),
    ("-rf", f"{KEY}\n", "file name must be the engineer's name"),
])
def test_a_bad_key_file_is_named(tmp_path: Path, name: str, text: str, named: str) -> None:
    root = seed_root(tmp_path, "debian12")
    keys(root, **{name: text})
    with pytest.raises(ExpandError, match=f"{KEYS_DIR}/{name}.pub") as caught:
        plan(root)
    assert named in str(caught.value)


@pytest.mark.parametrize("make", ["file", "binary", "huge", "directory"])
def test_unreadable_keys_are_named(tmp_path: Path, make: str) -> None:
    root = seed_root(tmp_path, "debian12")
    folder = root / KEYS_DIR.lstrip("/")
    if make == "file":
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.write_text("not a folder")
        named = f"{KEYS_DIR}: not a folder"
    else:
        folder.mkdir(parents=True)
        target = folder / "alice.pub"
        if make == "directory":
            target.mkdir()
        else:
            target.write_bytes(b"\0\0\0" if make == "binary" else b"x" * 100_000)
        named = f"{KEYS_DIR}/alice.pub"
    with pytest.raises(ExpandError, match=named):
        plan(root)


def test_no_keys_is_a_warning_not_an_error(tmp_path: Path) -> None:
    _, _, warnings, _ = plan(seed_root(tmp_path, "debian12"))
    assert any("no engineer key" in w for w in warnings)


def test_nftables_table_lets_only_lan_support_and_loopback_reach_ssh() -> None:
    text = rules.nftables_rules(LAN, SUPPORT)
    assert 'tcp dport 22 iif "lo" accept' in text
    assert "tcp dport 22 ip saddr { 198.51.100.0/24, 200.40.119.0/24 } accept" in text
    assert text.rstrip().splitlines()[-3].strip() == "tcp dport 22 counter drop"
    assert "delete table inet expand_sshd" in text  # reloadable as one file


def test_rhel_gets_a_firewalld_zone_without_blanket_ssh(tmp_path: Path) -> None:
    root = seed_root(tmp_path, "rocky9")
    files, commands, _, _ = plan(root)
    zone = files["/etc/firewalld/zones/public.xml"]
    assert '<service name="ssh" />' not in zone.split("<rule")[0]
    assert zone.count("<rule") == 2 and 'address="200.40.119.0/24"' in zone
    assert '<service name="cockpit" />' in zone
    assert "firewall-cmd --reload" in commands and "systemctl reload-or-restart sshd.service" \
        in commands
    assert not any(path.startswith("/etc/nftables") for path in files)


def test_firewalld_zone_edit_keeps_other_services_and_is_stable() -> None:
    current = ('<?xml version="1.0"?><zone><short>Public</short><service name="sip"/>'
               '<service name="ssh"/><rule family="ipv4"><source address="192.0.2.0/24"/>'
               '<service name="ssh"/><accept/></rule></zone>')
    once = rules.firewalld_public_zone(current, LAN, SUPPORT, "public.xml")
    assert '<service name="sip" />' in once and "192.0.2.0/24" not in once
    assert rules.firewalld_public_zone(once, LAN, SUPPORT, "public.xml") == once
    with pytest.raises(ExpandError, match=r"public\.xml: not valid XML"):
        rules.firewalld_public_zone("<zone", LAN, SUPPORT, "public.xml")


def test_live_without_the_tools_writes_files_and_warns(tmp_path: Path) -> None:
    files, commands, warnings, _ = plan(seed_root(tmp_path, "debian12"), live=True)
    assert commands == [] and NFT_FILE in files
    assert any("/usr/sbin/sshd is not installed" in w for w in warnings)


def test_live_with_the_tools_plans_what_a_dry_run_records(tmp_path: Path) -> None:
    root = seed_root(tmp_path, "debian12")
    for tool in ("usr/sbin/sshd", "usr/sbin/nft", "usr/sbin/useradd"):
        (root / tool).parent.mkdir(parents=True, exist_ok=True)
        (root / tool).write_text("")
    assert plan(root, live=True)[:2] == plan(root, live=False)[:2]
