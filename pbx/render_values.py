"""Values on their way into Asterisk configuration lines: escaped, or refused with a reason.

The Asterisk config parser reads one line at a time, strips what follows an unescaped ``;``
(``\\;`` is a literal semicolon) and trims the ends; nothing can carry a newline, a carriage
return or a NUL. On top of that each place has its own separators: a dialplan application
argument splits at ``,`` and evaluates ``${...}`` and ``$[...]``; a caller ID puts the name
between quotes and the number between ``<>``; voicemail.conf and queue members split at
``,``. The renderers never write a value directly: each goes through one of these helpers,
which record a problem (the site key and why) instead of writing what cannot be carried.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from appliance.readers import shown
from appliance.reports import Report

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Characters a dialplan argument gives a meaning to: separators, substitutions, quoting.
_DIALPLAN_SPECIAL = set(',|()$[]{}"\'\\;`^&?:=<>')
_DIGITS = re.compile(r"^[0-9*#+]*$")


@dataclass
class Values:
    """Collects the problems of one render; ``source`` is the site file's name."""

    source: str
    problems: list[Report] = field(default_factory=list)

    def refuse(self, key: str, message: str) -> str:
        self.problems.append(Report(self.source, key, message))
        return "REFUSED"

    def _one_line(self, value: str, key: str) -> str | None:
        if _CONTROL.search(value):
            self.refuse(key, "holds a control character (a newline?) that an Asterisk "
                             "configuration line cannot carry")
            return None
        return value

    def conf(self, value: str, key: str) -> str:
        """A value after ``key =``: one line, ``;`` escaped, no surrounding spaces."""
        if self._one_line(value, key) is None:
            return "REFUSED"
        if value != value.strip():
            return self.refuse(key, "starts or ends with a space, which Asterisk would drop")
        return value.replace(";", "\\;")

    def comment(self, value: str, key: str) -> str:
        """Text after ``;``: anything on one line."""
        return value if self._one_line(value, key) is not None else "REFUSED"

    def listed(self, value: str, key: str, what: str) -> str:
        """A field of a comma-separated line (voicemail.conf mailbox, queue member)."""
        if "," in value or "|" in value:
            return self.refuse(key, f"holds ',' or '|', which would split the {what}")
        return self.conf(value, key)

    def callerid_name(self, value: str, key: str) -> str:
        """The name part of ``"Name" <number>``."""
        bad = sorted(set(value) & set('"<>\\'))
        if bad:
            return self.refuse(key, f"holds {' '.join(bad)}, which a caller ID "
                                    "(\"Name\" <number>) cannot carry")
        return self.conf(value, key)

    def dialplan(self, value: str, key: str) -> str:
        """Free text inside a dialplan application's arguments (a schedule value, a path)."""
        if self._one_line(value, key) is None:
            return "REFUSED"
        bad = sorted(set(value) & _DIALPLAN_SPECIAL)
        if bad:
            return self.refuse(key, f"holds {' '.join(bad)}, which the dialplan would read "
                                    "as a separator or a substitution")
        return value

    def digits(self, value: str, key: str) -> str:
        """Digits dialled out (prepend): 0-9, *, #, +."""
        if not _DIGITS.fullmatch(value):
            return self.refuse(key, f"{shown(value)} is not digits (0-9, *, #, +)")
        return value
