"""What the wizard's screens start from: current facts, a DVD answers file, or (with
``--reconfigure``) the installed configuration. Later sources win over earlier ones.

Files are read leniently: a value that fails its own check is left out (and logged), so a
partly wrong file still pre-fills the rest and the technician fixes the rest on screen. A DVD
answers file that cannot be read at all (not TOML, not text, a directory, unreadable) only
costs its pre-fill: a warning is logged and the wizard starts from the current facts.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from appliance.answers import flatten, read_toml
from appliance.errors import ExpandError
from appliance.fields import BY_KEY
from appliance.filesink import FileSink
from firstboot.current import NetworkFacts
from firstboot.paths import ANSWERS, MEDIA_ANSWERS
from firstboot.wizard_flow import WizardState

log = logging.getLogger("expand.firstboot")


def values_from_file(path: Path) -> dict[str, Any]:
    """The good values of an answers file, by key (raw, as in the TOML)."""
    data, reports = read_toml(path)
    if data is None:
        raise ExpandError("; ".join(str(r) for r in reports))
    flat, problems = flatten(data, str(path))
    good: dict[str, Any] = {}
    for key, value in flat.items():
        _, problem = BY_KEY[key].check(value)
        if problem:
            log.warning("%s: %s: %s (not pre-filled)", path, key, problem)
        else:
            good[key] = value
    for report in problems:
        log.warning("%s (ignored)", report)
    return good


def initial_state(root: Path, facts: NetworkFacts, *, reconfigure: bool) -> WizardState:
    sink = FileSink(root)
    state = WizardState()
    if facts.address is not None:
        state.facts = {"own-ip": str(facts.address)}
    state.facts.update({name: value for name, value in (
        ("netmask", str(facts.netmask) if facts.netmask else ""),
        ("gateway", str(facts.gateway) if facts.gateway else ""),
        ("dns", " ".join(str(d) for d in facts.dns)),
    ) if value})
    state.facts_origin = "dhcp" if facts.dhcp else "static"
    if reconfigure:
        current = sink.target(ANSWERS)
        if not os.path.lexists(current):  # a broken one (a loop, a folder) is read and named
            raise ExpandError(f"{ANSWERS}: no installed configuration to reconfigure under "
                              f"{root}; run 'expandctl firstboot' without --reconfigure")
        _merge(state, values_from_file(current), "current")
    else:
        _merge(state, _dvd_values(sink), "dvd")
    return state


NO_PREFILL = "the wizard starts without the DVD's pre-fill"


def _dvd_values(sink: FileSink) -> dict[str, Any]:
    """The DVD's answers, or nothing (with a warning) when that file cannot be read."""
    path = sink.target(MEDIA_ANSWERS)
    try:
        if not path.exists() and not path.is_symlink():  # a link to nowhere is worth a word
            return {}
        return values_from_file(path)
    except ExpandError as exc:  # the reader's own report, naming the file
        log.warning("%s; %s", _short(str(exc)), NO_PREFILL)
    # What else reading a file nobody checked may raise: the system's errors, a decoder's
    # (TOMLDecodeError and UnicodeError are ValueErrors), nesting too deep to parse.
    except (OSError, ValueError, RecursionError) as exc:
        log.warning("%s: cannot be read (%s); %s", path, _why(exc), NO_PREFILL)
    return {}


def _why(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deep"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return _short(str(exc) or type(exc).__name__)


def _short(text: str, limit: int = 200) -> str:
    """A reader's message cut to one readable line (it may quote the file)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit] + "..."


def _merge(state: WizardState, values: dict[str, Any], origin: str) -> None:
    for key, value in values.items():
        state.raw[key] = value
        state.origins[key] = origin
