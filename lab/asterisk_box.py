"""A customer box's Asterisk for tests and benchmarks of ``pbx apply``: an overlay of the
unstable root (lab.asterisk_root; the cached root is never written) with the box's own
packaged /etc/asterisk, started as a box's systemd starts it (``asterisk -f -U asterisk
-G asterisk``).

What the box has besides its packages is added: the prompts and music a site plays, the run
directory. Its packaged AMI is switched off and the listeners that would take host ports
are noloaded (the box shares the host's network here), so nothing listens beyond what the
site binds. Asterisk is stopped by its recorded PID and the overlay unmounted on the way out.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

from appliance.errors import ExpandError
from appliance.runner import Runner
from appliance.wait import poll
from lab.nspawn import mount_overlay
from lab.procs import Recorded, record
from pbx.audio import write_quiet
from pbx.call_lab import PROMPTS
from pbx.chroot import chroot_prefix

HOST_LISTENERS = ("chan_iax2", "chan_skinny", "chan_mgcp", "chan_unistim", "pbx_dundi",
                  "res_ari", "res_http_websocket", "chan_ooh323", "res_pjsip_transport_websocket")
AUDIO = "var/lib/expand/pbx/audio"
RUN = "run/asterisk"


class AsteriskBox:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.process: Recorded | None = None
        self.child: subprocess.Popen[bytes] | None = None

    def cli(self, command: str) -> str:
        return Runner().run([*chroot_prefix(self.root), "asterisk", "-rx", command],
                            check=False, timeout=30).stdout

    def start(self) -> None:
        """Asterisk in the foreground (``-f``) as systemd runs it: a ``core restart``
        re-executes it in the same process, so the recorded PID stays valid."""
        self.child = subprocess.Popen(
            [*chroot_prefix(self.root), "asterisk", "-f", "-U", "asterisk", "-G", "asterisk"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        run = self.root / RUN
        up, _ = poll(lambda: (run / "asterisk.pid").is_file() and (run / "asterisk.ctl").exists(),
                     bool, timeout=60)
        if not up:
            raise ExpandError(f"{self.root}: the box's Asterisk did not start in 60 s")
        self.process = record(int((run / "asterisk.pid").read_text().strip()))
        Runner().run([*chroot_prefix(self.root), "asterisk", "-rx", "core waitfullybooted"],
                     timeout=60)

    def stop(self) -> None:
        process, child = self.process, self.child
        if process is not None and process.alive():
            self.cli("core stop now")
            gone, _ = poll(lambda: not process.alive(), bool, timeout=15)
            if not gone:
                os.kill(process.pid, signal.SIGKILL)
        if child is not None:
            child.wait(timeout=15)  # reaped: no zombie left behind


def prepare(root: Path) -> None:
    """The prompts and music, the run directory; AMI off, host-port listeners noloaded."""
    audio = root / AUDIO
    (audio / "moh/default").mkdir(parents=True)
    for prompt in PROMPTS:
        write_quiet(audio / f"{prompt}.wav")
    write_quiet(audio / "moh/default/silence.wav")
    # As on a customer box whose secrets store came first: its folder 0700, the audio in it.
    os.chmod(audio.parent, 0o700)
    run = root / RUN
    run.mkdir(parents=True, exist_ok=True)
    owner = (root / "var/lib/asterisk").stat()
    os.chown(run, owner.st_uid, owner.st_gid)
    etc = root / "etc/asterisk"
    manager = etc / "manager.conf"
    manager.write_text(manager.read_text().replace("enabled = yes", "enabled = no"))
    modules = etc / "modules.conf"
    modules.write_text(modules.read_text().replace(
        "[modules]\n", "[modules]\n" + "".join(f"noload => {m}.so\n" for m in HOST_LISTENERS),
        1))


@contextlib.contextmanager
def overlay_box(lower: Path, work: Path) -> Iterator[AsteriskBox]:
    """A prepared box on an overlay of ``lower`` under ``work`` (not started)."""
    runner = Runner()
    merged = mount_overlay(lower, work, runner)
    box = AsteriskBox(merged)
    try:
        prepare(merged)
        yield box
    finally:
        box.stop()
        if runner.run(["umount", str(merged)], check=False, timeout=30).returncode != 0:
            runner.run(["umount", "-l", str(merged)], check=False, timeout=30)
