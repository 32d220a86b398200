"""The sshd step's files under a real sshd and real nftables, in network namespaces.

The step is applied into a tree holding a copy of this Debian box's /etc (host keys and
shadow left out, a support user added); the appliance namespace then runs sshd with that
tree's /etc bind-mounted over /etc, as the appliance would run it (its own sshd_config with
the step's drop-in included), and loads the step's nftables file with ``nft -f``. Clients
on the LAN, on the support network and outside try to reach it; the support window is
closed, then opened for a few seconds that sshd itself ends (expiry-time).
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from appliance.answers import load_answers
from appliance.filesink import FileSink
from appliance.platform import for_family
from appliance.runner import RecordingRunner
from appliance.wait import poll
from firstboot import engine
from firstboot.host import load_host
from firstboot.steps.sshd import KEYS_DIR, NFT_FILE, SshdStep
from tests.integration.sshd_support import keygen, link, namespaces
from tests.support import require_tools
from tests.unit.firstboot_support import EXAMPLES, FIXTURES
from tunnel.config import ENGINEERS_AUTHORIZED, ENGINEERS_FILE, WINDOW_FILE
from tunnel.window import CLOSED, Window, write_window

APPLIANCE, LAN, SUPPORT, OUTSIDE = "xfs-appl", "xfs-lan", "xfs-sup", "xfs-out"
# Appliance side address, client address, per link. OUTSIDE is in neither allowed network.
LINKS = {LAN: ("198.51.100.11/24", "198.51.100.50/24"),
         SUPPORT: ("203.0.113.129/25", "203.0.113.130/25"),
         OUTSIDE: ("203.0.113.65/26", "203.0.113.66/26")}
SUPPORT_NETWORK = IPv4Network("203.0.113.128/25")
# Put before the box's own sshd_config (first value wins): this sshd's own key and PID file.
TEST_SETTINGS = """HostKey /etc/ssh/test_host_ed25519_key
PidFile /etc/ssh/test-sshd.pid
UsePAM no
"""


def address(ns: str, side: int) -> str:
    return LINKS[ns][side].split("/")[0]


@pytest.fixture(scope="module")
def appliance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require_tools("nft", "unshare")
    work = tmp_path_factory.mktemp("lockdown")
    root = work / "root"
    shutil.copytree("/etc", root / "etc", symlinks=True, ignore_dangling_symlinks=True,
                    ignore=shutil.ignore_patterns("shadow*", "gshadow*", "ssh_host_*"))
    home = work / "home"
    home.mkdir()
    with (root / "etc/passwd").open("a") as fh:
        fh.write(f"support:x:4242:4242:eXpand support:{home}:/bin/sh\n")
    (root / "etc/shadow").write_text("root:*:19000:0:99999:7:::\nsupport:*:19000:0:99999:7:::\n")
    (root / "etc/shadow").chmod(0o640)
    keys = root / KEYS_DIR.lstrip("/")
    keys.mkdir(parents=True)
    keygen(work / "alice", "alice@laptop")
    (keys / "alice.pub").write_text(Path(f"{work / 'alice'}.pub").read_text())
    keygen(work / "mallory", "mallory")  # a key that is not on the appliance
    answers = load_answers(EXAMPLES / "primary.toml")
    answers = dataclasses.replace(answers, support=dataclasses.replace(
        answers.support, network=SUPPORT_NETWORK))
    ctx = engine.make_context(answers, root=root, runner=RecordingRunner(), live=False,
                              host=load_host(FIXTURES / "host-two-nics.json"),
                              platform=for_family("debian"))
    SshdStep().apply(ctx)
    set_window(root, Window(True))  # as the support step or 'tunnel enable' leave it
    etc_ssh = root / "etc/ssh"
    keygen(etc_ssh / "test_host_ed25519_key", "appliance")
    config = etc_ssh / "sshd_config"
    config.write_text(TEST_SETTINGS + config.read_text())
    host_key = " ".join(Path(f"{etc_ssh / 'test_host_ed25519_key'}.pub").read_text().split()[:2])
    (work / "known_hosts").write_text("".join(f"{address(ns, 0)} {host_key}\n" for ns in LINKS)
                                      + f"127.0.0.1 {host_key}\n")
    with namespaces(APPLIANCE, *LINKS):
        for n, (ns, (inside, outside)) in enumerate(LINKS.items()):
            link(APPLIANCE, inside, ns, outside, f"xfs{n}")
        subprocess.run(["ip", "netns", "exec", APPLIANCE, "nft", "-f",
                        str(root / NFT_FILE.lstrip("/"))], check=True)
        log = (work / "sshd.log").open("wb")
        sshd = subprocess.Popen(in_appliance_mounts(work, root, "exec /usr/sbin/sshd -D -e"),
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            up, _ = poll(lambda: connect(LAN, address(LAN, 0)) == "open", bool, timeout=10,
                         interval=0.1)
            assert up, (work / "sshd.log").read_text()
            yield work
        finally:
            sshd.terminate()
            sshd.wait(timeout=5)
            log.close()


def set_window(root: Path, window: Window) -> None:
    """What ``expandctl tunnel enable|disable`` does to the tree (tunnel.window's code)."""
    write_window(window, WINDOW_FILE, str(root / ENGINEERS_FILE.lstrip("/")),
                 ENGINEERS_AUTHORIZED, datetime.now(UTC), FileSink(root))


def in_appliance_mounts(work: Path, root: Path, command: str) -> list[str]:
    """``command`` in the appliance namespace, seeing the tree's /etc as /etc."""
    script = f"mount --bind {root / 'etc'} /etc && {command}"
    return ["ip", "netns", "exec", APPLIANCE, "unshare", "--mount", "--propagation",
            "private", "sh", "-c", script]


def connect(ns: str, target: str, timeout: float = 1.5) -> str:
    """"open", "refused" or "dropped" (no answer at all) for TCP port 22 from ``ns``."""
    probe = (f"import socket,sys\ns=socket.socket()\ns.settimeout({timeout!r})\n"
             f"try:\n    s.connect(({target!r}, 22))\nexcept socket.timeout:\n    sys.exit(2)\n"
             "except ConnectionRefusedError:\n    sys.exit(3)\n")
    code = subprocess.run(["ip", "netns", "exec", ns, "python3", "-c", probe],
                          capture_output=True, check=False).returncode
    return {0: "open", 2: "dropped", 3: "refused"}.get(code, f"exit {code}")


def login(work: Path, ns: str, target: str, key: str = "alice"
          ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", ns, "ssh", "-i", str(work / key), "-o", "IdentitiesOnly=yes",
         "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o",
         f"UserKnownHostsFile={work / 'known_hosts'}", "-o", "ConnectTimeout=3",
         f"support@{target}", "echo logged-in-as-$(id -un)"],
        capture_output=True, text=True, timeout=30, check=False)


def test_effective_settings_confine_the_support_user(appliance: Path) -> None:
    root = appliance / "root"

    def effective(user: str) -> dict[str, str]:
        out = subprocess.run(in_appliance_mounts(
            appliance, root, f"/usr/sbin/sshd -T -f /etc/ssh/sshd_config "
                             f"-C user={user},host=x,addr=198.51.100.50"),
            capture_output=True, text=True, check=True).stdout
        return dict(line.partition(" ")[::2] for line in out.splitlines())

    support, other = effective("support"), effective("root")
    assert support["authenticationmethods"] == "publickey"
    assert support["authorizedkeysfile"] == ENGINEERS_AUTHORIZED
    assert support["allowagentforwarding"] == "no" and support["loglevel"] == "VERBOSE"
    assert other["authorizedkeysfile"] != ENGINEERS_AUTHORIZED  # Match confined


def test_lan_support_network_and_tunnel_get_in_and_logins_are_audited(appliance: Path
                                                                     ) -> None:
    for ns, target in ((LAN, address(LAN, 0)), (SUPPORT, address(SUPPORT, 0)),
                       (APPLIANCE, "127.0.0.1")):
        proc = login(appliance, ns, target)
        assert proc.returncode == 0 and "logged-in-as-support" in proc.stdout, \
            (ns, proc.stderr)
    fingerprint = subprocess.run(["ssh-keygen", "-lf", f"{appliance / 'alice'}.pub"],
                                 capture_output=True, text=True, check=True).stdout.split()[1]
    log = (appliance / "sshd.log").read_text()
    assert (f"Accepted publickey for support from {address(LAN, 1)}" in log
            and f"ED25519 {fingerprint}" in log), log[-2000:]


def test_outside_the_allowed_networks_is_dropped(appliance: Path) -> None:
    assert connect(OUTSIDE, address(OUTSIDE, 0)) == "dropped"
    assert connect(LAN, address(LAN, 0)) == "open"  # the same sshd, on all addresses
    counters = subprocess.run(["ip", "netns", "exec", APPLIANCE, "nft", "list", "table",
                               "inet", "expand_sshd"], capture_output=True, text=True,
                              check=True).stdout
    dropped = [line for line in counters.splitlines() if "counter" in line and "drop" in line]
    assert dropped and "packets 0 " not in dropped[0], counters


def test_a_key_not_listed_is_refused(appliance: Path) -> None:
    proc = login(appliance, LAN, address(LAN, 0), key="mallory")
    assert proc.returncode == 255 and "Permission denied (publickey)" in proc.stderr


def test_a_closed_window_refuses_engineers_and_its_end_is_kept_by_sshd(appliance: Path
                                                                       ) -> None:
    root = appliance / "root"
    try:
        set_window(root, CLOSED)
        for ns, target in ((LAN, address(LAN, 0)), (APPLIANCE, "127.0.0.1")):
            proc = login(appliance, ns, target)
            assert proc.returncode == 255 and "Permission denied" in proc.stderr, proc.stdout
        # Opened for a time: the keys carry expiry-time, which sshd itself enforces; a
        # deadline already past is what a window that closed by itself leaves behind.
        soon = datetime.now(UTC) + timedelta(seconds=3)
        set_window(root, Window(True, soon))
        assert 'expiry-time="' in (root / ENGINEERS_AUTHORIZED.lstrip("/")).read_text()
        assert login(appliance, LAN, address(LAN, 0)).returncode == 0
        reached, _ = poll(lambda: login(appliance, LAN, address(LAN, 0)).returncode,
                          lambda code: code == 255, timeout=15, interval=0.5)
        assert reached, "sshd still accepts the key after its expiry-time"
    finally:
        set_window(root, Window(True))
