"""``pbx status``: the live release, older ones, pending restarts, live counts vs the model.

Reads only: the release records under the root and, when the box's Asterisk is reachable,
its counts through the same readers ``pbx apply`` uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from appliance.runner import Runner
from pbx import releases
from pbx.apply import asterisk_up, live_counts
from pbx.apply_plan import expect_of
from pbx.throwaway import AsteriskPlace


def box_status(root: Path, place: AsteriskPlace | None, runner: Runner) -> dict[str, Any]:
    found = releases.all_releases(root)
    live_name = releases.live_name(root)
    live = next((r for r in found if r.name == live_name), None)
    data: dict[str, Any] = {
        "release": live.name if live else None,
        "kind": live.meta.get("kind") if live else None,
        "site": live.meta.get("site") if live else None,
        "digest": live.digest if live else None,
        "site_sha256": live.meta.get("site_sha256") if live else None,
        "created": live.meta.get("created") if live else None,
        "previous": [{"release": r.name, "kind": r.meta.get("kind"),
                      "created": r.meta.get("created")} for r in reversed(found)
                     if r is not live],
        "pending_restart": releases.pending(root) or None,
        "asterisk": "not reachable from here", "counts": None, "expected": None,
        "differences": [],
    }
    model = live.meta.get("expected") if live else None
    if isinstance(model, dict):
        expect = expect_of(model)
        data["expected"] = {"endpoints": expect.endpoints, "contexts": expect.contexts,
                            "queues": dict(expect.queues or {})}
    if place is not None:
        up = asterisk_up(place, runner)
        data["asterisk"] = "running" if up else "not running"
        if up and isinstance(model, dict):
            data["counts"], data["differences"] = live_counts(place, runner, expect_of(model))
    return data


def status_lines(data: dict[str, Any]) -> list[str]:
    if data["release"] is None:
        lines = ["release: none (pbx apply has not run here; /etc/asterisk is the box's own)"]
    else:
        lines = [f"release: {data['release']} ({data['kind']}) created {data['created']}",
                 f"  site {data['site']} sha256 {str(data['site_sha256'])[:12]}; "
                 f"release digest {str(data['digest'])[:12]}"]
    lines += [f"previous: {p['release']} ({p['kind']}) {p['created']}"
              for p in data["previous"]]
    pending = data["pending_restart"]
    if pending:
        lines.append(f"restart required: release {pending.get('release')} is staged: "
                     + "; ".join(pending.get("restart", [])))
    lines.append(f"asterisk: {data['asterisk']}")
    if data["counts"] is not None:
        counts, expected = data["counts"], data["expected"]
        lines.append(f"  live: endpoints={counts['endpoints']} contexts={counts['contexts']} "
                     f"queues={len(counts['queues'])}; model: endpoints="
                     f"{expected['endpoints']} contexts={expected['contexts']} "
                     f"queues={len(expected['queues'])}")
        lines += [f"  differs: {d}" for d in data["differences"]] or ["  live = model"]
    return lines
