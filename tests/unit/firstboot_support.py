"""Helpers for the first-boot apply tests: seeded target roots, tree snapshots, the CLI."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from appliance.backup import BACKUP_DIR
from firstboot import paths

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests/unit/fixtures/firstboot"
GOLDEN = FIXTURES / "golden"
EXAMPLES = REPO / "examples/answers"
EXPANDCTL = Path(sys.executable).parent / "expandctl"
SMTP_SECRET = "demo-Smtp-Secret-42"
FENCING_SECRET = "demo-Ipmi-Secret-17"
JOIN_CODE_SECONDARY = "AEBA-GBAF-AYDQ-QCIK-BMGA-2DQP-CABE"  # examples/answers/secondary.toml
AUTHKEY = "/etc/corosync/authkey"
JOIN_CODE_FILE = "/var/lib/expand/cluster-join-code"
CLUSTER_SECRET_FILES = (AUTHKEY, JOIN_CODE_FILE)
# The support tunnel's key pair is drawn fresh in every root: only its size is compared.
TUNNEL_KEY_FILES = ("/etc/expand/tunnel/id_ed25519", "/etc/expand/tunnel/id_ed25519.pub")

OS_RELEASE = {
    "rocky9": 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\n',
    "debian12": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
}
# A few lines of a stock main.cf: editing must keep them and replace relayhost once.
MAIN_CF = """smtpd_banner = $myhostname ESMTP $mail_name
biff = no
myhostname = localhost.localdomain
relayhost =
mydestination = $myhostname, localhost.$mydomain,
    localhost
inet_interfaces = all
"""


def seed_root(root: Path, platform: str) -> Path:
    """A target root as the installer leaves it: os-release, main.cf, the pending unit."""
    files = {
        "etc/os-release": OS_RELEASE[platform],
        "etc/postfix/main.cf": MAIN_CF,
        paths.SENTINEL.lstrip("/"): "",
        # A stand-in: the golden trees must not change when the real unit's text does.
        paths.UNIT_PATH.lstrip("/"): "[Unit]\nDescription=first boot (test stand-in)\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    wants = root / paths.UNIT_WANTS_LINK.lstrip("/")
    wants.parent.mkdir(parents=True, exist_ok=True)
    wants.symlink_to(paths.UNIT_PATH)
    return root


def tree(root: Path, *, skip: tuple[str, ...] = (), mask: bool = False) -> dict[str, str]:
    """path → 'mode content' (or link target) of every file below root. The cluster's
    secret files show their size and digest; ``mask``: their size only (the primary's
    join code, hence its authkey, is random: golden trees and fresh roots differ). The
    upgrade backup (copies of these files, tests/unit/test_upgrade_backup.py) is left out."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        if "/" + str(Path(dirpath).relative_to(root)) == BACKUP_DIR.rsplit("/", 1)[0]:
            dirnames[:] = [d for d in dirnames if d != BACKUP_DIR.rsplit("/", 1)[1]]
        for name in sorted(filenames) + [d for d in dirnames if Path(dirpath, d).is_symlink()]:
            host = Path(dirpath, name)
            rel = "/" + str(host.relative_to(root))
            if rel in skip:
                continue
            if host.is_symlink():
                out[rel] = f"link -> {os.readlink(host)}"
            elif rel in CLUSTER_SECRET_FILES or rel in TUNNEL_KEY_FILES:
                mode = host.stat().st_mode & 0o7777
                data = host.read_bytes()
                digest = "" if mask or rel in TUNNEL_KEY_FILES else \
                    f", sha256 {hashlib.sha256(data).hexdigest()}"
                out[rel] = f"mode {mode:04o}\n<secret: {len(data)} bytes{digest}>"
            else:
                mode = host.stat().st_mode & 0o7777
                out[rel] = f"mode {mode:04o}\n{host.read_text()}"
    return out


def tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path, value in sorted(tree(root).items()):
        digest.update(f"{path}\0{value}\0".encode())
    return digest.hexdigest()


def render_tree(files: dict[str, str]) -> str:
    return "".join(f"=== {path}\n{value}\n" for path, value in sorted(files.items()))


def expandctl(*args: str, env: dict[str, str] | None = None,
              input: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([str(EXPANDCTL), *args], capture_output=True, text=True,
                          env=full_env, input=input, check=False, timeout=120)


def apply_cli(answers: Path, root: Path, host_facts: str = "host-two-nics.json",
              *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return expandctl("firstboot", "--answers", str(answers), "--yes", "--root", str(root),
                     "--host-facts", str(FIXTURES / host_facts), *extra, env=env)
