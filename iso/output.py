"""Writing a large output file safely: temp file beside the target, rename at the end."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from appliance.errors import ExpandError
from appliance.readers import is_directory, show_path

MiB = 1024 * 1024


def check_output_folder(out: Path, needed_bytes: int) -> None:
    """Refuse early, with a message naming the folder, when OUT cannot be written there."""
    folder = out.parent if str(out.parent) else Path(".")
    if not is_directory(folder):  # never raises, even for a name too long
        raise ExpandError(f"output folder {show_path(folder)} does not exist")
    if is_directory(out):
        raise ExpandError(f"output {out} is a folder; give a file name such as {out}/eXpand.iso")
    st = os.statvfs(folder)
    if st.f_flag & os.ST_RDONLY:
        raise ExpandError(f"output folder {folder} is on a read-only file system")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExpandError(f"output folder {folder} is not writable")
    free = st.f_bavail * st.f_frsize
    if free < needed_bytes:
        raise ExpandError(
            f"output folder {folder} lacks room: {needed_bytes // MiB} MiB needed, "
            f"{free // MiB} MiB free")


@contextlib.contextmanager
def staged_output(out: Path) -> Iterator[Path]:
    """Yield a temp path beside ``out``; rename it to ``out`` only if the block succeeds.

    Whatever fails (a tool, a full disk, Ctrl-C), the temp file is removed, so a
    half-written image is never left behind or mistaken for a good one.
    """
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        yield tmp
        if not tmp.is_file():
            raise ExpandError(f"internal error: {tmp} was not written")
        os.chmod(tmp, 0o644)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)  # on disk before it gets the final name
        finally:
            os.close(fd)
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
