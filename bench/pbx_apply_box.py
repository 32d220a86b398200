"""bench/pbx.py's apply and reload figures: ``expandctl pbx apply`` on a box whose Asterisk
runs, an overlay of the unstable root (the cached root is never written).

The box is lab.asterisk_box's: the Asterisk root as an overlayfs lower layer, its
Asterisk started as a box does, SIP on a free loopback port. The first ``pbx apply`` of the
big site is the full apply (render, proof, swap, reload, live check); then a changed site
(one queue member more) is the live reload. When this tree has no ``pbx apply`` the
figures are None.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lab.asterisk_box import overlay_box
from pbx.sipp import free_udp_port

EXPANDCTL = Path(sys.executable).parent / "expandctl"


def has_apply() -> bool:
    return subprocess.run([str(EXPANDCTL), "pbx", "apply", "--help"], capture_output=True,
                          check=False).returncode == 0


def apply_and_reload(lower: Path, site: str, changed: str) -> tuple[float, float] | None:
    """Seconds of the first ``pbx apply`` of ``site`` and of the apply of ``changed``."""
    if not has_apply():
        return None
    with tempfile.TemporaryDirectory(prefix="pbx-bench-sites-") as tmp:
        first, second = Path(tmp) / "site.toml", Path(tmp) / "changed.toml"
        first.write_text(site)
        second.write_text(changed)
        with overlay_box(lower, Path(tmp) / "box") as box:
            box.start()
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
