"""The support window: whether engineers may log in now, and until when.

Chosen mechanism: the keys file sshd reads for the support user (``WINDOW_KEYS``) exists
only while the window is open; it is the engineers' list (``ENGINEERS``, written by the
sshd step) copied, each line with ``expiry-time`` when the window was opened for a time,
so sshd itself stops accepting the keys when it ends, even if nothing runs then.
A closed window is the file removed: sshd then accepts no key for the support user, from
anywhere (LAN, support network or tunnel), with no sshd reload. Sessions already open stay
until they end (``tunnel disable`` may end them). ``tunnel enable [--for]`` calls
``open_window``, ``tunnel disable`` calls ``close_window``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from appliance.errors import ExpandError
from appliance.filesink import FileSink

# The engineers' keys as listed on the appliance (authorized_keys format, comment = name).
ENGINEERS = "/etc/expand/support-engineers"
# What sshd reads for the support user: present only while the window is open.
WINDOW_KEYS = "/etc/ssh/expand-support-keys"
EXPIRY = "expiry-time="


def window_keys(engineers: str, until: datetime | None) -> str:
    """The engineers' lines, each valid until ``until`` (UTC) when given."""
    out = []
    for line in engineers.splitlines():
        if not line.strip() or line.startswith("#"):
            out.append(line)
            continue
        options, _, rest = line.partition(" ")
        kept = ",".join(o for o in options.split(",") if not o.startswith(EXPIRY))
        if until is not None:
            stamp = until.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")
            kept = f'{kept},{EXPIRY}"{stamp}"' if kept else f'{EXPIRY}"{stamp}"'
        out.append(f"{kept} {rest}")
    return "\n".join(out) + "\n"


def open_window(sink: FileSink, until: datetime | None = None) -> None:
    engineers = sink.read_text(ENGINEERS)
    if engineers is None:
        raise ExpandError(f"{ENGINEERS}: missing: the first boot's sshd step lists the "
                          "engineers' keys there")
    sink.write(WINDOW_KEYS, window_keys(engineers, until), mode=0o644)


def close_window(sink: FileSink) -> None:
    sink.remove(WINDOW_KEYS)


def is_open(sink: FileSink) -> bool:
    return sink.exists(WINDOW_KEYS)
