"""The claim program on the hub: one executable file the key lines' ``command=`` runs.

The tunnel user must be able to run it wherever expandctl itself is installed (a virtualenv
under /root is not readable by it), and it must start fast (the appliance waits for it
before its forward), so it is a zipapp of the claim module and the few standard-library-only
modules it imports, with an interpreter line: isolated (no environment, no cwd on the
path) and without site (nothing of site-packages is needed, and it halves the start).
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.readers import show_path, shown

DEFAULT_CLAIM_PROGRAM = Path("/usr/local/libexec/expand-claim")
# What ``tunnel.support.claim`` imports, transitively (a unit test checks the list is complete).
MODULES = (
    "appliance/__init__.py", "appliance/errors.py", "appliance/readers.py",
    "appliance/filesink.py", "appliance/wait.py",
    "tunnel/__init__.py", "tunnel/support/__init__.py", "tunnel/support/hub_proc.py",
    "tunnel/support/claim.py",
)
SOURCE_ROOT = Path(__file__).resolve().parents[2]
MAIN = "import sys\nfrom tunnel.support.claim import main\nsys.exit(main())\n"


def claim_archive(python: str) -> bytes:
    """The claim program's bytes: ``#!PYTHON -IS`` and a zip of MODULES with a __main__."""
    if not python.startswith("/") or any(ch.isspace() for ch in python):
        raise ExpandError(f"--python: {shown(python)} must be an absolute path without spaces")
    out = io.BytesIO()
    out.write(f"#!{python} -IS\n".encode())
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for module in MODULES:
            try:
                source = (SOURCE_ROOT / module).read_bytes()
            except OSError:
                raise ExpandError(f"{show_path(SOURCE_ROOT / module)}: missing from this "
                                  "installation") from None
            archive.writestr(_entry(module), source)
        archive.writestr(_entry("__main__.py"), MAIN)
    return out.getvalue()


def _entry(name: str) -> zipfile.ZipInfo:
    """A fixed date: the same installation writes the same bytes (a re-run changes nothing)."""
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def install_claim(target: Path, python: str | None = None) -> bool:
    """Write the claim program (mode 0755); False when it was already exactly that."""
    data = claim_archive(python or sys.executable)
    try:
        return FileSink(Path("/")).write(str(Path(target).absolute()), data, mode=0o755)
    except OSError as exc:
        raise ExpandError(f"{show_path(target)}: cannot write: {exc.strerror}") from None
