"""Asterisk's data on the cluster's shared filesystem (storage drbd or san).

Recordings (``/var/spool/asterisk/monitor``), voicemail, fax (``/var/spool/asterisk/fax``),
the call spool and the astdb must follow the service to the other node, so they live under
the data filesystem (``ha.cib.DATA_DIR``, mounted only where the VIP and Asterisk are) and
their usual paths become links into it: ``/var/spool/asterisk`` →
``DATA_DIR/asterisk/spool``, ``/var/lib/asterisk/astdb.sqlite3`` →
``DATA_DIR/asterisk/astdb/astdb.sqlite3``. Package files (sounds, music on hold, keys) stay
on each node's own disk.

The cluster step writes ``SCRIPT_PATH`` and a drop-in of ``asterisk.service`` that runs it
before every start, on whichever node starts the service (the CIB orders the data filesystem
before it): it refuses to start Asterisk when the filesystem is not mounted, makes the
directories on a fresh filesystem, moves what the package left in a usual path over (never
over what is already there: the other node's recordings win) and sets the links. With
storage "none" nothing is written: the data stays where the package puts it.
"""

from __future__ import annotations

from ha.cib import DATA_DIR

SCRIPT_PATH = "/usr/local/libexec/expand-asterisk-data"
DROPIN_PATH = "/etc/systemd/system/asterisk.service.d/expand-data.conf"
SHARED = f"{DATA_DIR}/asterisk"
# (usual path, place under SHARED, kind)
LINKS = (("/var/spool/asterisk", "spool", "dir"),
         ("/var/lib/asterisk/astdb.sqlite3", "astdb/astdb.sqlite3", "file"))


def script_text() -> str:
    """``SCRIPT [ROOT]``: ROOT (tests only) prefixes every path and skips the mount check;
    ``EXPAND_ASTERISK_OWNER`` (default asterisk:asterisk) owns the directories it makes."""
    links = "\n".join(f"link {usual} {place} {kind}" for usual, place, kind in LINKS)
    return f"""#!/bin/sh
# Asterisk's data on the cluster's shared filesystem (eXpand, ha.pbx_data): runs before
# every start of asterisk.service, on the node that holds the data filesystem.
set -eu
root="${{1:-}}"
owner="${{EXPAND_ASTERISK_OWNER:-asterisk:asterisk}}"
data="$root{DATA_DIR}"
if [ -z "$root" ] && ! mountpoint -q "$data"; then
  echo "expand: {DATA_DIR} is not mounted: Asterisk would keep its data on this disk" >&2
  exit 1
fi
link() {{  # usual path, place on the shared filesystem, dir|file
  usual="$root$1"; shared="$data/asterisk/$2"
  mkdir -p "$(dirname "$usual")" "$(dirname "$shared")"
  chown "$owner" "$(dirname "$shared")"
  if [ "$3" = dir ]; then
    mkdir -p "$shared"
    chown "$owner" "$shared"
    if [ -d "$usual" ] && [ ! -L "$usual" ]; then
      cp -an "$usual/." "$shared/" && rm -rf "$usual"
    fi
  elif [ -f "$usual" ] && [ ! -L "$usual" ]; then
    [ -e "$shared" ] || mv "$usual" "$shared"
    rm -f "$usual"
  fi
  ln -sfn "{SHARED}/$2" "$usual"
}}
{links}
"""


DROPIN_TEXT = f"""# eXpand cluster: Asterisk's data lives on the shared filesystem (ha.pbx_data)
[Service]
ExecStartPre={SCRIPT_PATH}
"""


def service_files(storage_mode: str) -> tuple[tuple[str, str, int], ...]:
    """(path, text, mode) of what the cluster step writes; none with storage "none"."""
    if storage_mode == "none":
        return ()
    return ((SCRIPT_PATH, script_text(), 0o755), (DROPIN_PATH, DROPIN_TEXT, 0o644))
