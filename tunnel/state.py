"""The daemon's state file (JSON, 0644, never a secret): what ``tunnel status`` shows."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.readers import ReadError, load_json

# What the daemon is doing, one word each.
STARTING = "starting"
CONNECTING = "connecting"
CONNECTED = "connected"          # the forward is open and the hub answers the probes
BACKOFF = "backoff"              # the last attempt failed; waiting to retry
REFUSED_HOST_KEY = "refused-host-key"  # the hub's host key is not the pinned one: alert
REFUSED_POLICY = "refused-policy"      # the hub refuses the forward by policy: alert
WINDOW_CLOSED = "window-closed"  # the support window is closed: no forward
STOPPED = "stopped"
ALERTS = (REFUSED_HOST_KEY, REFUSED_POLICY)
STATES = (STARTING, CONNECTING, CONNECTED, BACKOFF, *ALERTS, WINDOW_CLOSED, STOPPED)


@dataclass(frozen=True)
class TunnelState:
    state: str
    hub: str
    port: int
    connected_since: str | None = None
    last_error: str | None = None
    reclaims: int = 0       # stale sessions of this appliance ended on the hub
    sessions: int = 0       # sessions that reached a working forward
    pid: int | None = None
    support_window: dict[str, Any] = field(default_factory=dict)  # open, enabled, until

    def with_(self, **changes: Any) -> TunnelState:
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def write_state(sink: FileSink, path: str, state: TunnelState) -> None:
    sink.write(path, json.dumps(state.as_dict(), indent=1) + "\n", mode=0o644)


def read_state(path: str) -> TunnelState | None:
    """The last state the daemon wrote; None when it never ran (no file)."""
    try:
        data = load_json(Path(path), what="tunnel state", max_bytes=65536)
    except ReadError as exc:
        if exc.missing:
            return None
        raise
    if not isinstance(data, dict) or data.get("state") not in STATES:
        raise ExpandError(f"{path}: not a tunnel state file")
    try:
        return TunnelState(**{k: data[k] for k in TunnelState.__dataclass_fields__
                              if k in data})
    except TypeError:
        raise ExpandError(f"{path}: not a tunnel state file") from None
