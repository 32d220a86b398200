"""The real wizard (``expandctl firstboot --root DIR``) under tmux with the real ``dialog``.

It runs inside a network namespace whose eth0 holds a lease-like address, so the "current
value was DHCP assigned" pre-fill comes from real ``ip`` output. Results are compared with
golden answers, and the tree written must equal the unattended run of the same answers
(the wizard and answers files meet at the same model).
"""

from __future__ import annotations

import os
import signal
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.backup import BACKUP_DIR
from tests.integration.wizard_support import DialogDriver, dhcp_like_netns, tree_digest
from tests.support import require_tools
from tests.unit.firstboot_support import TUNNEL_KEY_FILES

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests/unit/fixtures/wizard"
EXPANDCTL = REPO / ".venv/bin/expandctl"
HOST_FACTS = FIXTURES / "host-facts.json"
PASSWORD = "wiz-Smtp-Secret-73"
JOIN_CODE = "AEBA-GBAF-AYDQ-QCIK-BMGA-2DQP-CABE"
# The primary's join code is random, and so its authkey: compared by presence and mode.
RANDOM_SECRET_FILES = {"etc/corosync/authkey": 0o400, "var/lib/expand/cluster-join-code": 0o600}
EXIT_QUIT = 3



@pytest.fixture
def netns() -> Iterator[str]:
    require_tools("dialog", "tmux")
    with dhcp_like_netns() as name:
        yield name


def make_root(path: Path) -> Path:
    (path / "etc").mkdir(parents=True)
    (path / "etc/os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_root(tmp_path / "root")


@pytest.fixture
def wizard(netns: str, root: Path, tmp_path: Path) -> Iterator[DialogDriver]:
    yield from start(netns, root, tmp_path)


def start(netns: str, root: Path, tmp_path: Path, *extra: str) -> Iterator[DialogDriver]:
    cmd = (f"ip netns exec {netns} {EXPANDCTL} firstboot --root {root} "
           f"--host-facts {HOST_FACTS} {' '.join(extra)}")
    with DialogDriver(cmd, tmp_path, cwd=REPO) as tui:
        yield tui


def primary_screens(tui: DialogDriver, *, vip: str = "198.51.100.100",
                    smarthost: str = "smtp.example.com") -> None:
    tui.ok("Select PBX Mode 1 Primary 2 Secondary")
    tui.answer("interconnect IP address of this node", "203.0.113.1")
    tui.answer("Please enter static PBX IP address (current value was DHCP assigned)",
               "198.51.100.11")
    tui.answer("Please enter netmask (current value was DHCP assigned)")
    tui.answer("Please enter gateway (current value was DHCP assigned)")
    tui.answer("Please enter DNS")
    tui.answer("Please enter PBX domain")
    tui.answer("Please enter secondary IP address (required even if there is no secondary",
               "198.51.100.12")
    tui.answer("Please enter virtual IP address", vip)
    tui.answer("Please enter FQDN smarthost", smarthost)
    tui.answer("Please enter email username", "pbx@example.com")
    tui.password("Please enter email password", PASSWORD)
    tui.password("Please enter email password again", PASSWORD)


def confirm_and_install(tui: DialogDriver) -> str:
    """Confirm, install, leave; returns the final report's screen."""
    tui.ok("Please confirm the configuration")
    tui.ok("Press OK to restart network and start eXpand installation")
    report = tui.ok("dry run: nothing applied", timeout=60)  # --root
    tui.ok("Please remove the installation DVD")
    tui.ok("Nothing was restarted")
    assert tui.wait_exit() == 0, tui.stderr()
    return report


def saved_answers(root: Path) -> dict[str, object]:
    return tomllib.loads((root / "etc/expand/answers.toml").read_text())


def golden_answers(name: str, **changes: object) -> dict[str, object]:
    data = tomllib.loads((FIXTURES / f"{name}.answers.toml").read_text())
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        data[section][key.replace("_", "-")] = value
    return data


TUNNEL_KEYS = tuple(path.lstrip("/") for path in TUNNEL_KEY_FILES)
TUNNEL_PUB = TUNNEL_KEYS[1]


BACKUP = BACKUP_DIR.lstrip("/") + "/"


def secret_holders(root: Path, secret: str) -> list[Path]:
    """The files holding ``secret``, the upgrade backup's copies left out (each of those
    is checked to be 0600 in a 0700 folder)."""
    holders = []
    for path in (p for p in sorted(root.rglob("*")) if p.is_file()):
        if secret.encode() not in path.read_bytes():
            continue
        if str(path.relative_to(root)).startswith(BACKUP):
            assert path.stat().st_mode & 0o777 == 0o600, path
            assert path.parent.stat().st_mode & 0o777 == 0o700, path
        else:
            holders.append(path)
    return holders


def files_of(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file but the log (timestamps) and the upgrade backup (its folder is named by
    the digest of what it keeps: the random secrets differ from root to root)."""
    files = {str(p.relative_to(root)): (p.stat().st_mode & 0o7777, p.read_bytes())
             for p in sorted(root.rglob("*")) if p.is_file()
             and str(p.relative_to(root)) != "var/log/expand/firstboot.log"
             and not str(p.relative_to(root)).startswith(BACKUP)}
    if "var/lib/expand/cluster-join-code" in files:  # a primary: its own random code
        for path in RANDOM_SECRET_FILES:
            files[path] = (files[path][0], b"(random)")
    # The tunnel key pair is drawn fresh in every root: its files by size, the public key's
    # text (shown in the report) masked wherever it appears.
    public = files.get(TUNNEL_PUB, (0, b""))[1].split()[1:2]
    for path, (mode, data) in files.items():
        if path in TUNNEL_KEYS:
            files[path] = (mode, b"%d bytes" % len(data))
        elif public:
            files[path] = (mode, data.replace(public[0], b"(tunnel key)"))
    return files


def assert_same_tree_as_unattended(root: Path, tmp_path: Path) -> None:
    """The unattended path with the saved answers (+ the password) writes the same tree."""
    answers = tmp_path / "with-password.toml"
    text = (root / "etc/expand/answers.toml").read_text()
    text = text.replace("[smtp]\n", f'[smtp]\npassword = "{PASSWORD}"\n')
    if 'mode = "secondary"' in text:
        text += f'\n[cluster]\njoin-code = "{JOIN_CODE}"\n'
    answers.write_text(text)
    other = make_root(tmp_path / "unattended")
    subprocess.run([str(EXPANDCTL), "firstboot", "--answers", str(answers), "--yes", "--root",
                    str(other), "--host-facts", str(HOST_FACTS)], check=True,
                   capture_output=True)
    mine, theirs = files_of(root), files_of(other)
    assert sorted(mine) == sorted(theirs)
    for path in mine:
        assert mine[path] == theirs[path], path


def assert_password_only_in_credential_map(root: Path) -> None:
    holders = secret_holders(root, PASSWORD)
    assert [str(p.relative_to(root)) for p in holders] == ["etc/postfix/sasl_passwd"]
    assert (root / "etc/postfix/sasl_passwd").stat().st_mode & 0o077 == 0


def test_primary_happy_path(wizard: DialogDriver, root: Path, tmp_path: Path) -> None:
    primary_screens(wizard)
    summary = wizard.wait_for("Please confirm the configuration")
    assert "Email password: (entered, not shown)" in summary
    assert PASSWORD not in summary
    report = confirm_and_install(wizard)
    # The join code for the secondary: on the final screen, and in no file but its 0600 one.
    code = (root / "var/lib/expand/cluster-join-code").read_text().strip()
    assert "Join code for the secondary" in report and code in report
    assert code not in wizard.stderr()
    assert secret_holders(root, code) == [root / "var/lib/expand/cluster-join-code"]
    assert saved_answers(root) == golden_answers("primary")
    assert_password_only_in_credential_map(root)
    assert PASSWORD not in wizard.stderr()
    assert_same_tree_as_unattended(root, tmp_path)


def test_secondary_asks_its_own_ip_then_the_primary(wizard: DialogDriver, root: Path,
                                                    tmp_path: Path) -> None:
    wizard.wait_for("Select PBX Mode")
    wizard.keys("Down", "Enter")
    wizard.answer("interconnect IP address of the primary node", "203.0.113.1")
    wizard.answer("static IP address of this secondary node (current value was DHCP "
                  "assigned)", "198.51.100.12")
    wizard.answer("Please enter netmask")
    wizard.answer("Please enter gateway")
    wizard.answer("Please enter DNS")
    wizard.answer("Please enter PBX domain")
    wizard.answer("static PBX IP address of the primary node", "198.51.100.11")
    wizard.answer("Please enter virtual IP address", "198.51.100.100")
    wizard.password("Please enter the join code shown on the primary", JOIN_CODE)
    wizard.answer("Please enter FQDN smarthost", "smtp.example.com")
    wizard.answer("Please enter email username", "pbx@example.com")
    wizard.password("Please enter email password", PASSWORD)
    wizard.password("Please enter email password again", PASSWORD)
    summary = wizard.wait_for("Please confirm the configuration")
    assert "Secondary IP address: 198.51.100.12 (this node)" in summary
    assert "Join code: (entered, not shown)" in summary and JOIN_CODE not in summary
    assert "PBX mode: Secondary (host name expand2)" in summary
    confirm_and_install(wizard)
    assert saved_answers(root) == golden_answers("secondary")
    assert "expand2" in (root / "etc/hostname").read_text()
    # Written only into the upgrade backup's answers (0600 in 0700: the restored node's first
    # boot applies them unattended); the corosync authkey made from it is on the node anyway.
    assert secret_holders(root, JOIN_CODE) == []
    assert JOIN_CODE not in wizard.stderr()
    assert_same_tree_as_unattended(root, tmp_path)


def test_bad_ip_is_named_and_asked_again(wizard: DialogDriver, root: Path) -> None:
    wizard.ok("Select PBX Mode")
    wizard.answer("interconnect IP address", "203.0.113.1")
    wizard.answer("Please enter static PBX IP address", "198.51.100.300")
    wizard.ok("Static PBX IP address (primary): 198.51.100.300 is not an IPv4 address "
              "Please enter it again.")
    # Asked again, showing what was typed so it can be corrected.
    screen = wizard.wait_for("Please enter static PBX IP address")
    assert "198.51.100.300" in screen and "DHCP assigned" not in screen
    wizard.answer("Please enter static PBX IP address", "198.51.100.11")
    wizard.answer("Please enter netmask", "255.255.255.256")
    wizard.ok("Netmask: 255.255.255.256 is not a netmask like 255.255.255.0")
    wizard.answer("Please enter netmask", "255.255.255.0")
    wizard.answer("Please enter gateway")
    wizard.answer("Please enter DNS")
    wizard.answer("Please enter PBX domain")
    wizard.answer("Please enter secondary IP address", "198.51.100.12")
    wizard.answer("Please enter virtual IP address", "198.51.100.100")
    wizard.answer("Please enter FQDN smarthost", "smtp.example.com")
    wizard.answer("Please enter email username", "pbx@example.com")
    wizard.password("Please enter email password", PASSWORD)
    wizard.password("Please enter email password again", PASSWORD)
    confirm_and_install(wizard)
    assert saved_answers(root) == golden_answers("primary")


def test_password_mismatch_asks_both_again(wizard: DialogDriver, root: Path) -> None:
    primary_screens_until_password(wizard)
    wizard.password("Please enter email password", PASSWORD)
    wizard.password("Please enter email password again", PASSWORD + "x")
    wizard.ok("The two passwords do not match. Please enter them again.")
    wizard.password("Please enter email password", PASSWORD)
    wizard.password("Please enter email password again", PASSWORD)
    confirm_and_install(wizard)
    assert_password_only_in_credential_map(root)


def primary_screens_until_password(tui: DialogDriver, vip: str = "198.51.100.100") -> None:
    tui.ok("Select PBX Mode")
    tui.answer("interconnect IP address", "203.0.113.1")
    tui.answer("Please enter static PBX IP address", "198.51.100.11")
    for prompt in ("netmask", "gateway", "DNS", "PBX domain"):
        tui.answer(f"Please enter {prompt}")
    tui.answer("Please enter secondary IP address", "198.51.100.12")
    tui.answer("Please enter virtual IP address", vip)
    tui.answer("Please enter FQDN smarthost", "smtp.example.com")
    tui.answer("Please enter email username", "pbx@example.com")


def test_vip_outside_subnet_sends_back_to_vip(wizard: DialogDriver, root: Path) -> None:
    primary_screens_until_password(wizard, vip="198.51.101.100")
    wizard.password("Please enter email password", PASSWORD)
    wizard.password("Please enter email password again", PASSWORD)
    # Caught before the summary, naming the field and the subnet.
    wizard.ok("Virtual IP address: 198.51.101.100 is outside the LAN 198.51.100.0/24 "
              "Please correct it.")
    wizard.answer("Please enter virtual IP address", "198.51.100.100")
    summary = wizard.wait_for("Please confirm the configuration")
    assert "Virtual IP address: 198.51.100.100" in summary
    confirm_and_install(wizard)
    assert saved_answers(root) == golden_answers("primary")


def test_no_at_summary_asks_again_with_previous_answers(wizard: DialogDriver,
                                                       root: Path) -> None:
    primary_screens(wizard)
    wizard.no("Please confirm the configuration")
    wizard.ok("Select PBX Mode")
    wizard.answer("interconnect IP address", None)
    screen = wizard.answer("Please enter static PBX IP address", None)
    assert "198.51.100.11" in screen and "DHCP assigned" not in screen  # the previous answer
    for prompt in ("netmask", "gateway", "DNS", "PBX domain", "secondary IP address",
                   "virtual IP address"):
        wizard.answer(f"Please enter {prompt}", None)
    screen = wizard.answer("Please enter FQDN smarthost", "mail.example.net")
    assert "smtp.example.com" in screen
    wizard.answer("Please enter email username", None)
    wizard.password("Please enter email password", PASSWORD)  # never pre-filled
    wizard.password("Please enter email password again", PASSWORD)
    summary = wizard.wait_for("Please confirm the configuration")
    assert "FQDN smarthost: mail.example.net" in summary
    confirm_and_install(wizard)
    assert saved_answers(root) == golden_answers("primary", **{"smtp.smarthost":
                                                               "mail.example.net"})


def test_escape_asks_then_quits_writing_nothing(wizard: DialogDriver, root: Path) -> None:
    before = tree_digest(root)
    wizard.ok("Select PBX Mode")
    wizard.answer("interconnect IP address", None)
    wizard.wait_for("Please enter static PBX IP address")
    wizard.keys("Escape")
    wizard.no("Quit the eXpand installation? Nothing has been written.")  # Continue
    wizard.wait_for("Please enter static PBX IP address")
    wizard.keys("Escape")
    wizard.ok("Quit the eXpand installation?")
    assert wizard.wait_exit() == EXIT_QUIT
    assert tree_digest(root) == before


def test_reconfigure_prefills_from_installed_answers(netns: str, root: Path,
                                                    tmp_path: Path) -> None:
    installed = root / "etc/expand"
    installed.mkdir(parents=True)
    (installed / "answers.toml").write_text((FIXTURES / "primary.answers.toml").read_text())
    for tui in start(netns, root, tmp_path, "--reconfigure"):
        tui.ok("Select PBX Mode")
        tui.answer("interconnect IP address", None)
        screen = tui.answer("Please enter static PBX IP address (current value from the "
                            "installed configuration)", None)
        assert "198.51.100.11" in screen
        for prompt in ("netmask", "gateway", "DNS", "PBX domain", "secondary IP address",
                       "virtual IP address", "FQDN smarthost", "email username"):
            tui.answer(f"Please enter {prompt}", None)
        # The password is never saved: asked again.
        tui.password("Please enter email password", PASSWORD)
        tui.password("Please enter email password again", PASSWORD)
        confirm_and_install(tui)
    assert saved_answers(root) == golden_answers("primary")


@pytest.mark.parametrize(("keys", "kept"), [((), False), (("Enter",), True)])
def test_network_countdown_restores_unless_kept(tmp_path: Path, keys: tuple[str, ...],
                                                kept: bool) -> None:
    """The safety net's question on the real dialog: time running out means restore."""
    code = ("import sys; from firstboot.wizard_ui import DialogUI; "
            "sys.exit(0 if DialogUI().countdown('Network is up at 198.51.100.11. "
            "Keep this configuration?', 3) else 5)")
    with DialogDriver(f"{REPO}/.venv/bin/python -c \"{code}\"", tmp_path, cwd=REPO) as tui:
        screen = tui.wait_for("Network is up at 198.51.100.11. Keep this configuration?")
        assert "<Restore now> < Keep >" in screen
        if keys:
            tui.keys(*keys)
        assert tui.wait_exit(timeout=15) == (0 if kept else 5)


def test_dvd_answers_prefill_the_screens(netns: str, root: Path, tmp_path: Path) -> None:
    media = root / "etc/expand/answers.media.toml"
    media.parent.mkdir(parents=True)
    text = (FIXTURES / "secondary.answers.toml").read_text()
    media.write_text(text.replace('smarthost = "smtp.example.com"',
                                  'smarthost = "relay.example.org"'))
    for tui in start(netns, root, tmp_path):
        tui.wait_for("Select PBX Mode")
        tui.keys("Enter")  # the DVD's mode (Secondary) is the default item
        tui.answer("interconnect IP address of the primary node", None)
        screen = tui.answer("static IP address of this secondary node (value from the "
                            "installation DVD)", None)
        assert "198.51.100.12" in screen  # the DVD's value, not the DHCP lease
        for prompt in ("netmask", "gateway", "DNS", "PBX domain", "primary node",
                       "virtual IP address"):
            tui.answer(prompt, None)
        # Never on the DVD (a secret, and only known once the primary is installed).
        screen = tui.wait_for("Please enter the join code shown on the primary")
        assert "installation DVD" not in screen and "leave empty to keep" not in screen
        tui.password("Please enter the join code shown on the primary", JOIN_CODE)
        screen = tui.answer("Please enter FQDN smarthost (value from the installation DVD)",
                            None)
        assert "relay.example.org" in screen
        tui.answer("Please enter email username", None)
        tui.password("Please enter email password", PASSWORD)
        tui.password("Please enter email password again", PASSWORD)
        confirm_and_install(tui)
    assert saved_answers(root) == golden_answers("secondary",
                                                 **{"smtp.smarthost": "relay.example.org"})


def dialog_arguments(tui: DialogDriver) -> str:
    """What the dialog process below this tmux pane was given: its argv and, when
    pythondialog passes the arguments through a file (--file), that file's text."""
    pane = int(tui._tmux("display-message", "-p", "#{pane_pid}").stdout)
    children: dict[int, list[int]] = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        children.setdefault(int(fields[1]), []).append(int(stat_file.parent.name))
    todo, found = [pane], []
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        raw = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if Path(raw[0].decode()).name == "dialog":
            found.append([a.decode() for a in raw if a])
    assert len(found) == 1, found
    argv = found[0]
    text = " ".join(argv)
    if "--file" in argv:
        text += "\n" + Path(argv[argv.index("--file") + 1]).read_text()
    return text


def test_join_code_box_hides_what_is_typed_and_is_never_prefilled(wizard: DialogDriver,
                                                                  root: Path) -> None:
    before = tree_digest(root)
    typo = JOIN_CODE[:-1] + "F"
    wizard.wait_for("Select PBX Mode")
    wizard.keys("Down", "Enter")
    wizard.answer("interconnect IP address of the primary node", "203.0.113.1")
    wizard.answer("static IP address of this secondary node", "198.51.100.12")
    for prompt in ("netmask", "gateway", "DNS", "PBX domain"):
        wizard.answer(f"Please enter {prompt}")
    wizard.answer("static PBX IP address of the primary node", "198.51.100.11")
    wizard.answer("Please enter virtual IP address", "198.51.100.100")
    wizard.wait_for("Please enter the join code shown on the primary")
    wizard.type(typo)
    screen = wizard.wait_for("*" * len(typo))  # one asterisk a character: nothing readable
    assert typo not in screen and typo[:4] not in screen.replace("Please enter", "")
    wizard.keys("Enter")
    wizard.ok("Join code: join code does not check out")
    # Asked again empty: the typo went neither on dialog's argv nor into its arguments file.
    screen = wizard.wait_for("Please enter the join code shown on the primary")
    assert "*" not in screen and typo not in screen
    given = dialog_arguments(wizard)
    assert "Please enter the join code shown on the primary" in given  # the right process
    assert "--insecure" in given and "--passwordbox" in given
    assert typo not in given and typo.replace("-", "") not in given
    wizard.password("Please enter the join code shown on the primary", JOIN_CODE)
    wizard.wait_for("Please enter FQDN smarthost")
    wizard.keys("Escape")
    wizard.ok("Quit the eXpand installation?")
    assert wizard.wait_exit() == EXIT_QUIT
    assert typo not in wizard.stderr() and JOIN_CODE not in wizard.stderr()
    assert tree_digest(root) == before


@pytest.mark.parametrize("content", [b"mode = = primary\n", b"\xff\xfe\x00binary"],
                         ids=["broken-toml", "binary"])
def test_unreadable_dvd_answers_start_the_wizard_without_prefill(
        netns: str, root: Path, tmp_path: Path, content: bytes) -> None:
    media = root / "etc/expand/answers.media.toml"
    media.parent.mkdir(parents=True)
    media.write_bytes(content)
    log = tmp_path / "firstboot.log"
    cmd = (f"ip netns exec {netns} {EXPANDCTL} --log-file {log} firstboot --root {root} "
           f"--host-facts {HOST_FACTS}")
    with DialogDriver(cmd, tmp_path, cwd=REPO) as tui:
        tui.ok("Select PBX Mode")
        screen = tui.answer("interconnect IP address", None)
        # The current facts pre-fill, as without any DVD file.
        screen = tui.wait_for("Please enter static PBX IP address (current value was DHCP "
                              "assigned)")
        assert "installation DVD" not in screen
        tui.keys("Escape")
        tui.ok("Quit the eXpand installation?")
        assert tui.wait_exit() == EXIT_QUIT
    assert f"{media}: " in log.read_text()
    assert "the wizard starts without the DVD's pre-fill" in log.read_text()


OLD_LAN = "etc/systemd/network/50-dhcp.network"


def wizard_pids(root: Path) -> list[int]:
    """The expandctl process of the wizard started on ``root`` (not its dialog child)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().decode().split("\0")
        except (OSError, ValueError):
            continue
        if proc.name.isdigit() and any(a.endswith("/expandctl") for a in argv[:2]) \
                and str(root) in argv and Path(argv[0]).name not in ("ip", "dialog"):
            pids.append(int(proc.name))
    return pids


def network_files(root: Path) -> dict[str, tuple[int, bytes]]:
    return {p: v for p, v in files_of(root).items()
            if p.startswith(("etc/systemd/network/", "etc/resolv.conf"))}


def test_killed_during_the_countdown_the_next_wizard_restores_the_old_network(
        netns: str, root: Path, tmp_path: Path) -> None:
    """The countdown on the real dialog, right after the network step (before postfix and
    the cluster); SIGKILL there, like a power loss; the next wizard restores the old network
    before its first screen."""
    old = root / OLD_LAN
    old.parent.mkdir(parents=True)
    old.write_text("[Match]\nName=eth0\n[Network]\nDHCP=yes\n")
    old.chmod(0o640)
    before = network_files(root)
    for tui in start(netns, root, tmp_path, "--confirm-timeout", "60"):
        primary_screens(tui)
        tui.ok("Please confirm the configuration")
        tui.ok("Press OK to restart network and start eXpand installation")
        screen = tui.wait_for("Dry run: the new network files are under", timeout=60)
        assert "<Restore now> < Keep >" in screen
        assert (root / "etc/systemd/network/10-expand-lan.network").is_file()
        assert not (root / "etc/postfix/sasl_passwd").exists()  # asked before postfix
        pids = wizard_pids(root)
        assert len(pids) == 1, pids
        os.kill(pids[0], signal.SIGKILL)
        assert tui.wait_exit() == 128 + signal.SIGKILL
    assert (root / "var/lib/expand/network-snapshot.json").stat().st_mode & 0o7777 == 0o600
    assert network_files(root) != before

    for tui in start(netns, root, tmp_path):
        tui.wait_for("The previous network configuration was restored")
        assert network_files(root) == before  # byte for byte, modes too
        assert not (root / "var/lib/expand/network-snapshot.json").exists()
        tui.keys("Enter")
        tui.wait_for("Select PBX Mode")
        tui.keys("Escape")
        tui.ok("Quit the eXpand installation?")
        assert tui.wait_exit() == EXIT_QUIT
    assert not (root / "etc/postfix/sasl_passwd").exists()


def test_kept_network_in_the_countdown_goes_on_to_the_end(netns: str, root: Path,
                                                          tmp_path: Path) -> None:
    for tui in start(netns, root, tmp_path, "--confirm-timeout", "60"):
        primary_screens(tui)
        tui.ok("Please confirm the configuration")
        tui.ok("Press OK to restart network and start eXpand installation")
        tui.wait_for("Dry run: the new network files are under", timeout=60)
        tui.keys("Enter")  # the focused button: Keep
        tui.ok("dry run: nothing applied", timeout=60)
        tui.ok("Please remove the installation DVD")
        tui.ok("Nothing was restarted")
        assert tui.wait_exit() == 0, tui.stderr()
    assert (root / "etc/postfix/sasl_passwd").exists()
    assert not (root / "var/lib/expand/network-snapshot.json").exists()
