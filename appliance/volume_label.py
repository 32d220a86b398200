"""The one rule for a DVD's volume label, shared by ``iso build`` and ``kickstart render``.

Anaconda finds its disc by ``inst.stage2=hd:LABEL=...`` and ``inst.ks=hd:LABEL=...:/path``
(':' ends the label there, blanks end the kernel argument), GRUB by ``search -l '...'`` (a
quote ends it) and the kickstart's ``harddrive --partition=LABEL=...``; ISO 9660 holds 32
characters. Letters, digits, '.', '_' and '-' are safe in all of them.
"""

from __future__ import annotations

import re

from appliance.errors import ExpandError

MAX_LENGTH = 32
_LABEL = re.compile(r"[A-Za-z0-9._-]+")
ALLOWED = "letters, digits, '.', '_' or '-'"


def label_problem(label: str) -> str | None:
    """Why ``label`` cannot be the disc's label, or None when it can."""
    if not label:
        return f"is empty: use 1-{MAX_LENGTH} {ALLOWED}"
    if any(c.isspace() for c in label):
        return ("contains spaces: the installer finds its disc by 'inst.stage2=hd:LABEL=...', "
                f"which breaks on blanks; use {ALLOWED}")
    if len(label) > MAX_LENGTH:
        return f"is longer than {MAX_LENGTH} characters (the ISO 9660 limit)"
    if not _LABEL.fullmatch(label):
        return f"is not usable: use 1-{MAX_LENGTH} {ALLOWED}"
    return None


def check_volume_label(label: str, what: str) -> str:
    """``label`` when usable; else ExpandError naming ``what`` (the argument or the file)."""
    problem = label_problem(label)
    if problem:
        raise ExpandError(f"{what} {label!r} {problem}")
    return label
