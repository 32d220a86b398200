"""The real Asterisk in an appliance node: Asterisk 22 from its own Debian unstable root.

Asterisk 22 runs only on Debian unstable's libc, and the nodes are bookworm. So each node
gets a per-node overlay of the cached Asterisk root (``lab.asterisk_root``; the cached root
itself is never written), mounted on the host and bound into the node at ``ROOT_IN_NODE``.
The node's ``/usr/sbin/asterisk`` is a wrapper that enters it: a private mount namespace,
the node's /proc, /dev, /var/lib/expand, /var/{lib,spool,log}/asterisk, /run/asterisk and
/tmp bound in (and its /etc/hosts and hostname; no resolver: see NAME_FILES), then chroot.
Its /etc/asterisk is a link to the node's (its /etc bound read-only at ``NODE_ETC``),
resolved at every open: when ``pbx apply`` flips the node's /etc/asterisk to a new release,
a running Asterisk's reload reads the new one (a bind mount would have kept the release it
started with). So the ``asterisk.service`` unit (what the CIB's ``systemd:asterisk``
resource starts), ``asterisk -rx`` and a throwaway proof (plain ``asterisk`` with ``-C
/tmp/...``) all work in the node unchanged, and everything Asterisk writes lands in the
node's own directories. The mounts live exactly as long as the process started through the
wrapper.

The ``asterisk`` user and group get one id, free in both roots, written into the node and
into the node's overlay of the Asterisk root (the unstable root's own id collides with
bookworm's messagebus/haclient), so files Asterisk writes carry the same owner on both
sides.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.runner import Runner
from lab.asterisk_root import ensure_asterisk_root
from lab.nspawn import mount_overlay
from pbx.audio import write_quiet

ROOT_IN_NODE = "/opt/asterisk-root"
WRAPPER = "/usr/sbin/asterisk"
UNIT = "/etc/systemd/system/asterisk.service"
NODE_ETC = "/run/expand-node-etc"  # the node's /etc, seen from inside the Asterisk root
# The node's names (its /etc/hosts names both nodes and the VIP). No resolver: the root's
# own resolv.conf names the build host's, and the answers' DNS server does not exist in the
# lab, so each lookup waited for DNS time-outs (measured: 20 s to resolve the node's name in
# the root, which Asterisk does as it starts; SIP answered ~23 s after the VIP on failover).
NAME_FILES = ("/etc/hosts", "/etc/hostname")
NO_RESOLVER = "# eXpand lab: no DNS server here; lookups fail at once (lab.appliance_asterisk)\n"
BOUND = ("/var/lib/expand", "/var/lib/asterisk", "/var/spool/asterisk",
         "/var/log/asterisk", "/run/asterisk", "/tmp")
# Seeded once from the Asterisk root, as the package leaves them on a customer's box (its
# sample configuration lets Asterisk start before the site is rendered).
SEEDED = ("etc/asterisk", "var/lib/asterisk", "var/spool/asterisk", "var/log/asterisk")
IDS = range(990, 900, -1)  # system ids, searched downwards like adduser --system does

WRAPPER_TEXT = f"""#!/bin/sh
# eXpand lab: Asterisk 22 runs from its own Debian unstable root (see lab.appliance_asterisk).
exec unshare --mount --propagation private sh -c '
r={ROOT_IN_NODE}
mount --bind /proc "$r/proc" && mount --rbind /dev "$r/dev" || exit 70
mkdir -p "$r{NODE_ETC}" && mount --bind -o ro /etc "$r{NODE_ETC}" || exit 70
for f in {" ".join(NAME_FILES)}; do
  [ -e "$f" ] && {{ mount --bind -o ro "$f" "$r$f" || exit 70; }}
done
for d in {" ".join(BOUND)}; do
  mkdir -p "$d" "$r$d" && mount --bind "$d" "$r$d" || exit 70
done
exec chroot "$r" /usr/sbin/asterisk "$@"' asterisk "$@"
"""

UNIT_TEXT = f"""[Unit]
Description=Asterisk PBX (eXpand lab: Asterisk 22 from its own root, see lab.appliance)
After=network.target

[Service]
Type=simple
ExecStartPre=/usr/bin/install -d -o asterisk -g asterisk -m 0750 /run/asterisk
ExecStart={WRAPPER} -f -U asterisk -G asterisk
ExecReload={WRAPPER} -rx "core reload"
# A SIGTERM that lands while Asterisk still loads its modules is lost (measured: the stop
# then waited for systemd's 90 s): ask it over its console first, and SIGKILL soon after.
ExecStop=-{WRAPPER} -rx "core stop now"
TimeoutStopSec=10s
"""


# The example site's audio folder (its site.audio-dir): the seed's recordings are not in
# this repository, so the lab puts a second of silence in the seed's format (WAV mono 8 kHz
# 16-bit) under each prompt's name and in the default music-on-hold class.
AUDIO_DIR = "/var/lib/expand/pbx/audio"
SEED_PROMPTS = ("msjBienvenida", "msjBienvenidaNocturno", "msjDejeMsj", "msjOpcionInvalida",
                "msjEntradaCola", "msjSalidaCola", "msjMenuFAX", "msjInternoNC",
                "msjInternoOpcionNC", "msjInternoInvalido", "msjInternoOcupado",
                "msjInternoOpcionOcupado")


def overlay_base(lab_dir: Path, name: str) -> Path:
    return lab_dir / "nodes" / name / "asterisk"


def bind_argument(lab_dir: Path, name: str) -> str:
    return f"--bind={overlay_base(lab_dir, name) / 'merged'}:{ROOT_IN_NODE}"


def _ids(text: str) -> set[int]:
    return {int(f[2]) for f in (line.split(":") for line in text.splitlines())
            if len(f) > 2 and f[2].isdigit()}


def _without(text: str, name: str) -> str:
    return "".join(line + "\n" for line in text.splitlines() if not line.startswith(name + ":"))


def free_id(*roots: Path) -> int:
    """An id no user and no group of any of ``roots`` has (``asterisk``'s own excepted)."""
    taken: set[int] = set()
    for root in roots:
        for table in ("passwd", "group"):
            taken |= _ids(_without((root / "etc" / table).read_text(), "asterisk"))
    for candidate in IDS:
        if candidate not in taken:
            return candidate
    raise ExpandError(f"no free system id for the asterisk user in {', '.join(map(str, roots))}")


def set_account(root: Path, uid: int) -> None:
    """``asterisk:x:uid:uid`` in ``root``'s passwd and group (replacing one there)."""
    sink = FileSink(root)
    passwd, group = (sink.read_text(f"/etc/{t}") or "" for t in ("passwd", "group"))
    sink.write("/etc/passwd", _without(passwd, "asterisk")
               + f"asterisk:x:{uid}:{uid}:Asterisk PBX:/var/lib/asterisk:/usr/sbin/nologin\n")
    sink.write("/etc/group", _without(group, "asterisk") + f"asterisk:x:{uid}:\n")




def seed_audio(node_root: Path, uid: int) -> None:
    """The site's audio folder, owned by Asterisk (its parent, the secrets store's folder,
    is made traversable by pbx.secrets_store.save at first boot)."""
    audio = node_root / AUDIO_DIR.lstrip("/")
    (audio / "moh" / "default").mkdir(parents=True, exist_ok=True)
    for prompt in SEED_PROMPTS:
        write_quiet(audio / f"{prompt}.wav")
    write_quiet(audio / "moh" / "default" / "silence.wav", 5.0)
    for path in (audio, *audio.rglob("*")):
        shutil.chown(path, uid, uid)


def install(lab_dir: Path, name: str, node_root: Path, runner: Runner) -> None:
    """Mount the node's overlay of the Asterisk root and put the wrapper, the unit, the
    account and Asterisk's data directories into the node (idempotent: a node's second
    ``lab up`` finds them)."""
    cached = ensure_asterisk_root(runner=runner)  # read only: seeds and the overlay's lower
    asterisk_root = mount_overlay(cached, overlay_base(lab_dir, name), runner)
    uid = free_id(node_root, asterisk_root)
    for root in (node_root, asterisk_root):
        set_account(root, uid)
    sink = FileSink(node_root)
    sink.write(WRAPPER, WRAPPER_TEXT, mode=0o755)
    sink.write(UNIT, UNIT_TEXT)
    (node_root / ROOT_IN_NODE.lstrip("/")).mkdir(parents=True, exist_ok=True)
    for name_file in NAME_FILES:  # mount points for the node's own (see NAME_FILES)
        target = asterisk_root / name_file.lstrip("/")
        if target.is_symlink() or not target.is_file():
            target.unlink(missing_ok=True)
            target.touch()
    resolv = asterisk_root / "etc/resolv.conf"
    resolv.unlink(missing_ok=True)
    resolv.write_text(NO_RESOLVER)
    etc = asterisk_root / "etc/asterisk"
    if not etc.is_symlink():
        shutil.rmtree(etc)
        etc.symlink_to(f"{NODE_ETC}/asterisk")
    seed_audio(node_root, uid)
    for sub in SEEDED:
        target = node_root / sub
        if target.is_dir() and any(target.iterdir()):
            continue
        shutil.copytree(cached / sub, target, symlinks=True, dirs_exist_ok=True)
        for path in (target, *target.rglob("*")):
            if not path.is_symlink():
                shutil.chown(path, uid, uid)
