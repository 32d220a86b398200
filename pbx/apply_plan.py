"""The pure part of ``pbx apply``: the release a site makes, what changed, what to reload.

``plan(base, rendered, live)`` takes the packaged base files (the original /etc/asterisk),
the rendered files (target path → Rendered) and the live release's tree, and returns the
new release's tree, its digest, the changed files and the reload selection. Nothing here
reads or writes the disk.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pbx.asterisk_counts import Expect
from pbx.releases import ETC, Tree, digest, outside_name, target_of
from pbx.reload import Selection, select
from pbx.render import Rendered

# A module newly allowed by modules.conf is loaded at once when the PBX needs it now.
LOAD_NOW = frozenset({"res_fax_spandsp"})


@dataclass(frozen=True)
class ApplyPlan:
    tree: Mapping[str, tuple[bytes, int]]  # the new release, release-relative names
    digest: str
    changed: tuple[str, ...]  # release-relative names added, removed or modified
    selection: Selection
    notes: tuple[str, ...]  # changes that take effect later without harm (modules.conf)

    @property
    def unchanged(self) -> bool:
        return not self.changed

    @property
    def changed_targets(self) -> tuple[str, ...]:
        return tuple(target_of(name) for name in self.changed)


def release_name(target: str) -> str:
    """A rendered target path → its name inside a release."""
    prefix = f"{ETC}/"
    return target[len(prefix):] if target.startswith(prefix) else outside_name(target)


def tree_of(base: Tree, rendered: Mapping[str, Rendered]) -> dict[str, tuple[bytes, int]]:
    """The base files, each rendered file replacing or adding to them."""
    tree = {name: value for name, value in base.items()
            if not name.startswith("_outside/")}
    for target, file in rendered.items():
        tree[release_name(target)] = (file.content.encode(), file.mode)
    return dict(sorted(tree.items()))


def _noloads(data: bytes) -> tuple[set[str], list[str]]:
    """modules.conf: the modules it noloads, and its other settings (comments dropped)."""
    noload: set[str] = set()
    other: list[str] = []
    for raw in data.decode(errors="replace").splitlines():
        line = re.sub(r"(?<!\\);.*", "", raw).strip()
        found = re.fullmatch(r"noload\s*=>?\s*([\w\-]+)(\.so)?", line)
        if found:
            noload.add(found.group(1))
        elif re.fullmatch(r"load\s*=>?\s*[\w\-]+(\.so)?|\[\w+\]", line):
            continue  # "load" asks for what autoload loads anyway; headers say nothing
        elif line:
            other.append(re.sub(r"\s+", "", line))
    return noload, other


def modules_change(old: bytes | None, new: bytes) -> tuple[list[str], list[str], bool]:
    """(load commands, notes, restart needed) for a modules.conf change. Asterisk reads
    modules.conf at start only; a module it now noloads stays loaded until then (each is
    one the PBX does not use, so that is harmless), one it no longer noloads and the PBX
    needs now is loaded; "load" lines change nothing under autoload; any other change
    (autoload, preload) needs a restart."""
    if old is None:
        return [], [], True
    old_no, old_other = _noloads(old)
    new_no, new_other = _noloads(new)
    if old_other != new_other:
        return [], [], True
    freed = sorted(old_no - new_no)
    loads = [f"module load {m}.so" for m in freed if m in LOAD_NOW]
    notes = [f"modules.conf: {', '.join(sorted(new_no - old_no))} not loaded from the next "
             "start on (loaded until then)"] if new_no - old_no else []
    later = [m for m in freed if m not in LOAD_NOW]
    if later:
        notes.append(f"modules.conf: {', '.join(later)} may load from the next start on")
    return loads, notes, False


def plan(base: Tree, rendered: Mapping[str, Rendered], live: Tree | None) -> ApplyPlan:
    tree = tree_of(base, rendered)
    current = live or {}
    changed = tuple(sorted(n for n in set(tree) | set(current)
                           if tree.get(n) != current.get(n)))
    names = set(changed)
    notes: list[str] = []
    loads: list[str] = []
    if "modules.conf" in names:
        old = current.get("modules.conf")
        loads, notes, restart = modules_change(old[0] if old else None,
                                               tree["modules.conf"][0])
        if not restart:
            names.discard("modules.conf")
    targets = {n if not n.startswith("_outside/") else target_of(n) for n in names}
    selection = select(targets)
    if loads:
        selection = Selection(tuple(loads) + selection.reloads, selection.restart)
    return ApplyPlan(tree, digest(tree), changed, selection, tuple(notes))


def expect_of(expected: Mapping[str, Any]) -> Expect:
    """pbx.render.expected(site) as the proof's (and the live check's) Expect."""
    queues = expected["queues"]
    return Expect(endpoints=len(expected["endpoints"]), contexts=len(expected["contexts"]),
                  queues={n: q["strategy"] for n, q in queues.items()},
                  members={n: tuple(q["members"]) for n, q in queues.items()})
