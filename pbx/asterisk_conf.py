"""Just enough of Asterisk's configuration syntax to rewrite a few keys of a proof's copy.

Asterisk config files are sections (``[name]``, ``[name](!)`` for a template,
``[name](tmpl,...)`` inheriting templates) of ``key = value`` / ``key => value`` lines, with
``;`` comments and ``#include``. The throwaway proof rewrites where a copy listens (pjsip
transports, AMI, HTTP) and leaves every other byte as given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

_HEADER = re.compile(r"^\s*\[([^\]]+)\]\s*(?:\(([^)]*)\))?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*=>?\s*(.*?)\s*$")


@dataclass
class Section:
    name: str
    header: int  # index of the header line
    template: bool  # a "(!)" section: never an object itself
    parents: tuple[str, ...]
    keys: dict[str, str] = field(default_factory=dict)  # last value of each key
    lines: list[int] = field(default_factory=list)  # indices of its key lines


def _strip_comment(line: str) -> str:
    # ";" starts a comment unless escaped as "\;".
    return re.sub(r"(?<!\\);.*", "", line)


def sections(lines: list[str]) -> list[Section]:
    found: list[Section] = []
    for index, raw in enumerate(lines):
        line = _strip_comment(raw)
        header = _HEADER.match(line)
        if header:
            options = [o.strip() for o in (header.group(2) or "").split(",") if o.strip()]
            found.append(Section(header.group(1).strip(), index, "!" in options,
                                 tuple(o for o in options if o not in ("!", "+"))))
            continue
        key = _KEY.match(line)
        if key and found and not line.lstrip().startswith("#"):
            found[-1].keys[key.group(1).lower()] = key.group(2)
            found[-1].lines.append(index)
    return found


def resolved(section: Section, by_name: Mapping[str, Section], key: str) -> str | None:
    """A key's value in a section or, failing that, in the templates it inherits."""
    seen: set[str] = set()
    todo = [section]
    while todo:
        current = todo.pop(0)
        if current.name in seen:
            continue
        seen.add(current.name)
        if key in current.keys:
            return current.keys[key]
        todo += [by_name[p] for p in current.parents if p in by_name]
    return None


def rebind(text: str, wanted: Callable[[Section, Mapping[str, Section]], bool],
           drop: frozenset[str], put: Callable[[Section], Mapping[str, str]]) -> str:
    """``text`` with the ``drop`` keys commented out in every section ``wanted`` says yes
    to (templates included), and ``put(section)`` added to each such section that is not a
    template. Line numbers stay those of ``text`` (Asterisk's messages name them): a
    dropped line becomes a comment in place and the additions come at the end as
    ``[name](+)`` sections, which Asterisk merges into the section of that name."""
    lines = text.splitlines()
    found = sections(lines)
    by_name = {s.name: s for s in found}
    out = list(lines)
    tail: list[str] = []
    for section in found:
        if not wanted(section, by_name):
            continue
        for index in section.lines:
            key = _KEY.match(_strip_comment(lines[index]))
            if key and key.group(1).lower() in drop:
                out[index] = f";{lines[index]}"
        if not section.template:
            tail += ["", f"[{section.name}](+)", *(f"{k}={v}" for k, v in put(section).items())]
    return "\n".join(out + tail) + "\n"


def set_general(text: str, values: Mapping[str, str]) -> str:
    """``text`` with ``values`` as the keys of its ``[general]`` section (added if absent)."""
    has_general = any(s.name == "general" for s in sections(text.splitlines()))
    if not has_general:
        body = text if text.endswith("\n") or not text else text + "\n"
        return body + "\n[general]\n" + "".join(f"{k}={v}\n" for k, v in values.items())
    return rebind(text, lambda s, _: s.name == "general", frozenset(values),
                  lambda _: values)
