"""The answers' ``[pbx] site`` key: the site file first boot applies (empty: no PBX config).

The answers' field table (appliance/fields.py) checks only that it is an absolute path: the
file lives on the installed box, not where answers are written (a DVD build). First boot,
where the file must be, checks here that it exists and that ``pbx validate`` passes on it.
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
