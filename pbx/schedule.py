"""Weekly schedules: which value holds at a given minute, and which events collide.

An event covers [start, end] with ``end`` included, as GotoIfTime's ``09:00-11:59`` does; a
range that wraps midnight is not accepted (the default value covers the night).
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Iterator, Mapping
from typing import Any

from pbx.checks import DAYS
from pbx.model import Schedule


def minutes(hhmm: str) -> int:
    hours, mins = hhmm.split(":")
    return int(hours) * 60 + int(mins)


def collisions(events: Mapping[str, Mapping[str, Any]]
               ) -> Iterator[tuple[str, str, str]]:
    """``(event, earlier event, day)`` for each pair of events with different values that
    share a minute on a day; events with a bad or reversed range are left out."""
    spans: list[tuple[str, str, tuple[str, ...], int, int]] = []
    for eid, ev in events.items():
        start, end, days = ev.get("start"), ev.get("end"), ev.get("days")
        if not (isinstance(start, str) and isinstance(end, str) and days):
            continue
        first, last = minutes(start), minutes(end)
        if last < first:
            continue
        for other, value, other_days, o_first, o_last in spans:
            if value == ev.get("value"):
                continue
            shared = [d for d in days if d in other_days]
            if shared and first <= o_last and o_first <= last:
                yield eid, other, shared[0]
        spans.append((eid, str(ev.get("value")), tuple(days), first, last))


def value_at(schedule: Schedule, day: str, minute: int) -> str:
    """The schedule's value on ``day`` (mon..sun) at ``minute`` after midnight."""
    if schedule.active:
        for ev in schedule.events:
            if day in ev.days and minutes(ev.start) <= minute <= minutes(ev.end):
                return ev.value
    return schedule.default


def value_at_time(schedule: Schedule, when: datetime.datetime) -> str:
    """The value at an aware ``when``, read in the schedule's own time zone."""
    local = when.astimezone(zoneinfo.ZoneInfo(schedule.timezone))
    return value_at(schedule, DAYS[local.weekday()], local.hour * 60 + local.minute)


def gotoiftime_range(start: str, end: str, days: tuple[str, ...]) -> tuple[str, str]:
    """The times and week-days arguments of GotoIfTime for an event: ``09:00-11:59``,
    ``mon-fri`` (or ``mon&wed&fri`` when the days are not consecutive)."""
    indexes = [DAYS.index(d) for d in days]
    consecutive = indexes == list(range(indexes[0], indexes[-1] + 1))
    if len(days) == 7:
        wdays = "*"
    elif consecutive and len(days) > 1:
        wdays = f"{days[0]}-{days[-1]}"
    else:
        wdays = "&".join(days)
    return f"{start}-{end}", wdays
