"""The answers' ``[pbx] site`` key: the site file first boot applies (empty: no PBX config).

A field check of appliance/fields.py (the answers' table), here because reading a site file
is this package's business: the path must be absolute (first boot runs from any folder),
the file must exist and ``pbx validate`` must pass on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from appliance.readers import cut, shown
from pbx.site import check_file


def site_path(value: Any) -> tuple[str | None, str | None]:
    if not isinstance(value, str):
        return None, f"{shown(value)} is not a path (a string)"
    if not value:
        return "", None
    if "\0" in value or "\n" in value or not value.startswith("/"):
        return None, f"{shown(value)} is not an absolute path"
    _, reports = check_file(Path(value))
    if reports:
        count = len(reports)
        return None, (f"{cut(value)}: {count} problem{'s' * (count != 1)}, the first: "
                      f"{reports[0].key + ': ' if reports[0].key else ''}"
                      f"{reports[0].message} (expandctl pbx validate {cut(value)})")
    return value, None
