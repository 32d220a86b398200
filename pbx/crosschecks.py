"""Checks across records: references, numbers, targets, schedules, prompts, PINs, DAHDI.

Rules read the parsed values (kind → name → checked fields; a field that failed on its own
is missing), so each problem is reported once, at the key the administrator should change.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

from appliance.readers import is_directory
from appliance.reports import Report
from pbx.checks import pattern_regex
from pbx.recording import FORMATS, budget_kbit_s, fits
from pbx.schedule import collisions, minutes

Problem = tuple[str, str]
Parsed = Mapping[str, Any]
Rule = Callable[[Parsed], Iterator[Problem]]


def _records(parsed: Parsed, kind: str) -> Mapping[str, Mapping[str, Any]]:
    found = parsed.get(kind)
    return found if isinstance(found, Mapping) else {}


def _ref(parsed: Parsed, key: str, value: Any, kind: str, what: str) -> Iterator[Problem]:
    if value and value not in _records(parsed, kind):
        yield key, f"{what} {value!r} is not defined under [{kind}]"


def references(parsed: Parsed) -> Iterator[Problem]:
    for uid, user in _records(parsed, "users").items():
        yield from _ref(parsed, f"users.{uid}.department", user.get("department"),
                        "departments", "department")
        yield from _ref(parsed, f"users.{uid}.profile", user.get("profile"), "profiles",
                        "profile")
        for dep in user.get("monitors", ()):
            yield from _ref(parsed, f"users.{uid}.monitors", dep, "departments", "department")
    for num, ext in _records(parsed, "extensions").items():
        yield from _ref(parsed, f"extensions.{num}.user", ext.get("user"), "users", "user")
        yield from _ref(parsed, f"extensions.{num}.department", ext.get("department"),
                        "departments", "department")
    for qid, queue in _records(parsed, "queues").items():
        yield from _ref(parsed, f"queues.{qid}.department", queue.get("department"),
                        "departments", "department")
        for member in queue.get("members", ()):
            if member not in _records(parsed, "extensions"):
                yield (f"queues.{qid}.members",
                       f"member {member!r} is no extension (not defined under [extensions])")
    for pid, pin in _records(parsed, "pins").items():
        yield from _ref(parsed, f"pins.{pid}.user", pin.get("user"), "users", "user")
    trunks = {**_records(parsed, "sip-trunks"), **_records(parsed, "e1-trunks")}
    for rid, route in _records(parsed, "routes").items():
        trunk = route.get("trunk")
        if trunk and trunk not in trunks:
            yield (f"routes.{rid}.trunk",
                   f"trunk {trunk!r} is not defined under [sip-trunks] or [e1-trunks]")


def numbers(parsed: Parsed) -> Iterator[Problem]:
    """Extension numbers and the numbers of queues and IVRs share one dial plan."""
    seen = {num: f"extensions.{num}" for num in _records(parsed, "extensions")}
    for kind in ("queues", "ivr"):
        for rid, rec in _records(parsed, kind).items():
            num = rec.get("number")
            if not num:
                continue
            if num in seen:
                yield f"{kind}.{rid}.number", f"{num} is already used by {seen[num]}"
            else:
                seen[num] = f"{kind}.{rid}"
    trunk_ids = set(_records(parsed, "sip-trunks"))
    for tid in _records(parsed, "e1-trunks"):
        if tid in trunk_ids:
            yield f"e1-trunks.{tid}", f"{tid!r} is also the name of a SIP trunk"
    spans: dict[int, str] = {}
    for tid, trunk in _records(parsed, "e1-trunks").items():
        span = trunk.get("span")
        if span in spans:
            yield f"e1-trunks.{tid}.span", f"span {span} is already e1-trunks.{spans[span]}"
        elif isinstance(span, int):
            spans[span] = tid


def _target_problem(parsed: Parsed, target: str) -> str | None:
    if target == "hangup" or ":" not in target:
        return None
    kind, ref = target.split(":", 1)
    table = {"queue": "queues", "extension": "extensions", "menu": "menus", "ivr": "ivr",
             "voicemail": "extensions", "fax": "departments"}[kind]
    records = _records(parsed, table)
    if ref not in records:
        return f"{target} points nowhere: no {ref!r} under [{table}]"
    if kind == "voicemail" and records[ref].get("voicemail") is False:
        return f"{target}: extension {ref} has voicemail = false"
    if kind == "fax" and not records[ref].get("email", "x"):
        return f"{target}: department {ref!r} has no email to mail faxes to"
    return None


def targets(parsed: Parsed) -> Iterator[Problem]:
    for mid, menu in _records(parsed, "menus").items():
        for digit, target in menu.get("options", ()):
            problem = _target_problem(parsed, target)
            if problem:
                yield f"menus.{mid}.options.{digit}", problem
        for key in ("timeout-target", "invalid-target"):
            problem = _target_problem(parsed, menu.get(key, "hangup"))
            if problem:
                yield f"menus.{mid}.{key}", problem
    for qid, queue in _records(parsed, "queues").items():
        for digit, target in queue.get("exit-options", ()):
            problem = _target_problem(parsed, target)
            if problem:
                yield f"queues.{qid}.exit-options.{digit}", problem
        if queue.get("exit-options") and not queue.get("exit-prompt"):
            yield f"queues.{qid}.exit-prompt", "is required when exit-options are given"
    for iid, ivr in _records(parsed, "ivr").items():
        yield from _ref(parsed, f"ivr.{iid}.menu", ivr.get("menu"), "menus", "menu")
        for value, menu in ivr.get("menus", ()):
            yield from _ref(parsed, f"ivr.{iid}.menus.{value}", menu, "menus", "menu")
        sched_id = ivr.get("schedule")
        yield from _ref(parsed, f"ivr.{iid}.schedule", sched_id, "schedules", "schedule")
        sched = _records(parsed, "schedules").get(sched_id or "")
        if ivr.get("menus") and not sched_id:
            yield f"ivr.{iid}.schedule", "is required when menus (by schedule value) are given"
        if sched and "values" in sched:
            for value, _ in ivr.get("menus", ()):
                if value not in sched["values"]:
                    yield (f"ivr.{iid}.menus.{value}",
                           f"{value!r} is not a value of schedule {sched_id!r}")


def fax(parsed: Parsed) -> Iterator[Problem]:
    if parsed.get("fax", {}).get("enabled") is not False:
        return
    for mid, menu in _records(parsed, "menus").items():
        used = [t for _, t in menu.get("options", ())] + [menu.get("timeout-target", "")]
        if any(str(t).startswith("fax:") for t in used):
            yield "fax.enabled", f"is false but menu {mid!r} sends callers to a fax target"
            return


def schedules(parsed: Parsed) -> Iterator[Problem]:
    for sid, sched in _records(parsed, "schedules").items():
        values = sched.get("values")
        if values is not None and sched.get("default") not in (None, *values):
            yield f"schedules.{sid}.default", (f"{sched['default']!r} is not one of its "
                                                f"values: {', '.join(values)}")
        events = sched.get("events", {})
        for eid, ev in events.items():
            where = f"schedules.{sid}.events.{eid}"
            if values is not None and ev.get("value") not in (None, *values):
                yield f"{where}.value", f"{ev['value']!r} is not one of: {', '.join(values)}"
            start, end = ev.get("start"), ev.get("end")
            if start and end and minutes(end) < minutes(start):
                yield f"{where}.end", (f"{end} is before the start {start} (a range may not "
                                       "wrap midnight: the default value covers the night)")
        for eid, other, day in collisions(events):
            yield (f"schedules.{sid}.events.{eid}",
                   f"overlaps event {other!r} (value {events[other].get('value')!r}) on {day}")


def route_patterns(parsed: Parsed) -> Iterator[Problem]:
    """An outbound pattern must not swallow an internal number, nor repeat another route's."""
    internal = dict.fromkeys(_records(parsed, "extensions"), "extension")
    for kind in ("queues", "ivr"):
        for rid, rec in _records(parsed, kind).items():
            if rec.get("number"):
                internal[rec["number"]] = f"{kind}.{rid}"
    seen: dict[str, str] = {}
    for rid, route in _records(parsed, "routes").items():
        for pattern in route.get("patterns", ()):
            if pattern in seen:
                yield f"routes.{rid}.patterns", f"{pattern} is also in routes.{seen[pattern]}"
                continue
            seen[pattern] = rid
            regex = pattern_regex(pattern)
            clash = next((n for n in internal if regex.fullmatch(n)), None)
            if clash:
                yield (f"routes.{rid}.patterns", f"{pattern} matches the internal number "
                       f"{clash} ({internal[clash]}): those calls would go out")


def pins(parsed: Parsed) -> Iterator[Problem]:
    if _records(parsed, "pins"):
        return
    for rid, route in _records(parsed, "routes").items():
        if route.get("pin"):
            yield f"routes.{rid}.pin", "is true but no PINs are defined under [pins]"


def trunks(parsed: Parsed) -> Iterator[Problem]:
    for tid, trunk in _records(parsed, "e1-trunks").items():
        timing, signalling = trunk.get("timing"), trunk.get("signalling")
        if timing is None or signalling is None:
            continue
        if signalling == "pri_cpe" and timing == 0:
            yield (f"e1-trunks.{tid}.timing", "0 (we give the clock) contradicts pri_cpe, "
                   "which takes the clock from the remote end: use 1")
        if signalling == "pri_net" and timing != 0:
            yield (f"e1-trunks.{tid}.timing", f"{timing} (clock from the remote end) "
                   "contradicts pri_net, which gives the clock: use 0")
    for tid, trunk in _records(parsed, "sip-trunks").items():
        if trunk.get("register"):
            for key in ("username", "secret"):
                if key in trunk and not trunk[key]:
                    yield f"sip-trunks.{tid}.{key}", "is required when register is true"


def recording(parsed: Parsed) -> Iterator[Problem]:
    rec = parsed.get("recording", {})
    fmt, size, mins = rec.get("format"), rec.get("storage-gb"), rec.get("minutes")
    known = fmt in FORMATS and isinstance(size, int) and isinstance(mins, int)
    if known and not fits(FORMATS[fmt], size, mins):
        yield "recording.format", (
                f"{fmt} needs {FORMATS[fmt].kbit_s:g} kbit/s but {mins} minutes in {size} GB "
                f"allow {budget_kbit_s(size, mins):.1f} kbit/s: use gsm or wav49")


RULES: tuple[Rule, ...] = (references, numbers, targets, fax, schedules, route_patterns, pins,
                          trunks, recording)


def prompts_used(parsed: Parsed) -> Iterator[tuple[str, str]]:
    """``(key, prompt)`` for every prompt the site plays."""
    for mid, menu in _records(parsed, "menus").items():
        for key, value in menu.items():
            if key.startswith("extension-") and not menu.get("dial-by-extension"):
                continue  # played only after a caller dials an extension
            if key.endswith(("prompt", "options")) and isinstance(value, str) and value:
                yield f"menus.{mid}.{key}", value
    for qid, queue in _records(parsed, "queues").items():
        for key in ("entry-prompt", "exit-prompt"):
            if queue.get(key):
                yield f"queues.{qid}.{key}", queue[key]


def audio(parsed: Parsed, folder: Path) -> Iterator[Problem]:
    try:
        present = {p.name for p in folder.iterdir() if p.is_file()}
    except OSError:
        present = set()
    users: dict[str, list[str]] = {}
    for key, name in prompts_used(parsed):
        users.setdefault(name, []).append(key)
    for name, keys in users.items():
        if f"{name}.wav" not in present:
            more = f" (played at {len(keys) - 1} other key(s) too)" if len(keys) > 1 else ""
            yield keys[0], f"prompt {name!r}: {folder}/{name}.wav is missing{more}"


def cross_check(parsed: Parsed, source: str, skip: Collection[str] = (),
                audio_dir: Path | None = None) -> list[Report]:
    """All problems across records; ``audio_dir`` (or the site's audio-dir when it exists)
    is where the prompts must be."""
    problems = [p for rule in RULES for p in rule(parsed)]
    site_dir = parsed.get("site", {}).get("audio-dir")
    if audio_dir is None and site_dir and is_directory(site_dir):
        audio_dir = Path(site_dir)
    if audio_dir is not None:
        problems += list(audio(parsed, audio_dir))
    return [Report(source, key, message) for key, message in problems
            if key not in skip and not any(key.startswith(s + ".") for s in skip)]
