"""bench/pbx.py's apply and reload figures: ``expandctl pbx apply`` on a box whose Asterisk
runs, an overlay of the unstable root (the cached root is never written).

The box is the Asterisk root mounted as an overlayfs lower layer, its Asterisk started as a
box does; SIP on a free loopback port, the packaged AMI off and the listeners that would take
host ports noloaded. The first ``pbx apply`` of the big site is the full apply (render,
proof, swap, reload, live check); then a changed site (one queue member more) is the live
reload. When this tree has no ``pbx apply`` the figures are None.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from appliance.wait import poll
from pbx.audio import write_quiet
from pbx.call_lab import PROMPTS
from pbx.chroot import chroot_prefix
from pbx.sipp import free_udp_port

EXPANDCTL = Path(sys.executable).parent / "expandctl"
HOST_LISTENERS = ("chan_iax2", "chan_skinny", "chan_mgcp", "chan_unistim", "pbx_dundi",
                  "res_ari", "res_http_websocket", "chan_ooh323",
                  "res_pjsip_transport_websocket")


def has_apply() -> bool:
    return subprocess.run([str(EXPANDCTL), "pbx", "apply", "--help"], capture_output=True,
                          check=False).returncode == 0


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def _box(lower: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="pbx-bench-box-") as tmp:
        upper, work, merged = (Path(tmp) / n for n in ("upper", "work", "box"))
        for d in (upper, work, merged):
            d.mkdir()
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir={lower},upperdir={upper},workdir={work}", str(merged)],
                       check=True, timeout=30)
        pid = None
        try:
            audio = merged / "var/lib/expand/pbx/audio"
            (audio / "moh/default").mkdir(parents=True)
            for prompt in PROMPTS:
                write_quiet(audio / f"{prompt}.wav")
            write_quiet(audio / "moh/default/tone.wav")
            run = merged / "run/asterisk"
            run.mkdir(parents=True, exist_ok=True)
            os.chown(run, 101, 101)
            etc = merged / "etc/asterisk"
            manager = etc / "manager.conf"
            manager.write_text(manager.read_text().replace("enabled = yes", "enabled = no"))
            modules = etc / "modules.conf"
            modules.write_text(modules.read_text().replace(
                "[modules]\n", "[modules]\n" + "".join(f"noload => {m}.so\n"
                                                      for m in HOST_LISTENERS), 1))
            subprocess.run([*chroot_prefix(merged), "asterisk", "-U", "asterisk", "-G",
                            "asterisk"], check=True, timeout=60)
            pidfile = run / "asterisk.pid"
            poll(lambda: pidfile.is_file() and (run / "asterisk.ctl").exists(), bool,
                 timeout=60)
            pid = int(pidfile.read_text().strip())
            subprocess.run([*chroot_prefix(merged), "asterisk", "-rx",
                            "core waitfullybooted"], check=True, timeout=60,
                           capture_output=True)
            yield merged
        finally:
            if pid is not None and _alive(pid):
                subprocess.run([*chroot_prefix(merged), "asterisk", "-rx", "core stop now"],
                               timeout=30, check=False, capture_output=True)
                gone, _ = poll(lambda: not _alive(pid), bool, timeout=15)
                if not gone:
                    os.kill(pid, signal.SIGKILL)
            if subprocess.run(["umount", str(merged)], check=False, timeout=30).returncode:
                subprocess.run(["umount", "-l", str(merged)], check=False, timeout=30)


def apply_and_reload(lower: Path, site: str, changed: str) -> tuple[float, float] | None:
    """Seconds of the first ``pbx apply`` of ``site`` and of the apply of ``changed``."""
    if not has_apply():
        return None
    with tempfile.TemporaryDirectory(prefix="pbx-bench-sites-") as tmp:
        first, second = Path(tmp) / "site.toml", Path(tmp) / "changed.toml"
        first.write_text(site)
        second.write_text(changed)
        with _box(lower) as box:
            bind = f"127.0.0.1:{free_udp_port()}"
            times = []
            for path in (first, second):
                argv = [str(EXPANDCTL), "pbx", "apply", str(path), "--root", str(box),
                        "--in-root", str(box), "--bind", bind]
                start = time.perf_counter()
                done = subprocess.run(argv, capture_output=True, text=True, check=False)
                times.append(time.perf_counter() - start)
                if done.returncode != 0:
                    raise SystemExit(f"{' '.join(argv)} failed (exit {done.returncode}):\n"
                                     f"{done.stdout}\n{done.stderr}")
    return times[0], times[1]
