"""What a running Asterisk holds, read from its CLI, and how it compares with the model.

The proof (pbx.throwaway) and pbx apply's check of the live Asterisk use the same readers,
so a live count and a proof's count cannot disagree in how they read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from appliance.runner import Result


@dataclass(frozen=True)
class Expect:
    """What the model says the configuration holds; None leaves a count unchecked."""

    endpoints: int | None = None
    contexts: int | None = None
    queues: Mapping[str, str] | None = None  # queue name → strategy
    members: Mapping[str, Sequence[str]] | None = None  # queue name → member interfaces


@dataclass(frozen=True)
class Queue:
    strategy: str
    members: tuple[str, ...]


def parse_endpoints(result: Result) -> int:
    """``pjsip show endpoints``: "Objects found: N" (res_pjsip/pjsip_cli.c)."""
    found = re.search(r"Objects found:\s*(\d+)", result.stdout)
    return int(found.group(1)) if found else 0


def parse_contexts(text: str) -> list[str]:
    """``dialplan show``: the contexts extensions.conf created ("created by 'pbx_config'")."""
    return re.findall(r"\[ Context '([^']+)' created by 'pbx_config' \]", text)


def parse_queues(text: str) -> dict[str, Queue]:
    """``queue show``: "NAME has N calls ... in 'STRATEGY' strategy", then its members."""
    queues: dict[str, Queue] = {}
    name = strategy = ""
    members: list[str] = []
    in_members = False
    for line in [*text.splitlines(), ""]:
        head = re.match(r"^(\S+) has \d+ calls? .* in '([^']+)' strategy", line)
        if head or not line.strip():
            if name:
                queues[name] = Queue(strategy, tuple(members))
            name, strategy, members, in_members = "", "", [], False
            if head:
                name, strategy = head.group(1), head.group(2)
            continue
        stripped = line.strip()
        if stripped.startswith("Members:"):
            in_members = True
        elif stripped.startswith(("Callers:", "No Callers", "No Members")):
            in_members = False
        elif in_members and name:
            members.append(_member_interface(stripped))
    return queues


def _member_interface(line: str) -> str:
    """"PJSIP/550 (ringinuse ...) ..." or "Ana (PJSIP/550 from ...) ..." → PJSIP/550."""
    named = re.match(r"^.*?\((\w+/[^\s)]+)", line)
    first = line.split(" ", 1)[0]
    return first if "/" in first or not named else named.group(1)


def count_problems(expect: Expect, endpoints: int, contexts: Sequence[str],
                    queues: Mapping[str, Queue]) -> list[str]:
    problems = []
    if expect.endpoints is not None and endpoints != expect.endpoints:
        problems.append(f"pjsip endpoints: {endpoints} loaded, {expect.endpoints} expected")
    if expect.contexts is not None and len(contexts) != expect.contexts:
        problems.append(f"dialplan contexts: {len(contexts)} loaded "
                        f"({', '.join(sorted(contexts)) or 'none'}), {expect.contexts} expected")
    if expect.queues is not None:
        for name, strategy in sorted(expect.queues.items()):
            if name not in queues:
                problems.append(f"queue {name}: not loaded")
            elif queues[name].strategy != strategy:
                problems.append(f"queue {name}: strategy {queues[name].strategy}, "
                                f"{strategy} expected")
        problems += [f"queue {name}: loaded, not expected"
                     for name in sorted(set(queues) - set(expect.queues))]
    for name, wanted in sorted((expect.members or {}).items()):
        have = queues[name].members if name in queues else ()
        if sorted(have) != sorted(wanted):
            problems.append(f"queue {name}: members {', '.join(sorted(have)) or 'none'}, "
                            f"{', '.join(wanted) or 'none'} expected")
    return problems
