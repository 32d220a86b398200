"""The support tunnel as a first-boot step: the appliance's key, the daemon's settings, its
unit and the support window, from the ``support.*`` answers.

The key is made once (kept on reruns: the hub's authorized_keys names it) and its public
line is shown in the final report: it is the one line the hub needs (``expandctl support
hub-add SITE 'LINE'`` there). The daemon is configured and started only once the answers
hold what the hub gave back: its host key (pinned) and this appliance's port; until then
the step warns and says so. ``support.enabled = false`` closes the window and stops it;
otherwise a window already there (the customer's ``tunnel enable|disable``) is kept.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from appliance.answers import Answers
from appliance.errors import ExpandError
from firstboot.actions import Action, EnableUnit, RunCommand, WriteFile
from firstboot.steps.base import Context, PlannedStep, StepPlan
from tunnel import config as tc
from tunnel.keys import NewTunnelKey
from tunnel.unit import UNIT_NAME, unit_text
from tunnel.window import Window, authorized_keys, read_window

UNIT_PATH = f"/etc/systemd/system/{UNIT_NAME}"


def settings_values(answers: Answers) -> dict[str, object]:
    s = answers.support
    return {"hub.host": s.hub_host, "hub.port": s.hub_port, "hub.user": tc.HUB_USER,
            "hub.forward-port": s.forward_port, "hub.known-hosts": tc.KNOWN_HOSTS,
            "local.key": tc.KEY_FILE}


def known_hosts_line(answers: Answers) -> str:
    s = answers.support
    name = s.hub_host if s.hub_port == 22 else f"[{s.hub_host}]:{s.hub_port}"
    return f"{name} {s.hub_host_key}\n"


def window_text(window: Window) -> str:
    until = window.until.isoformat() if window.until else None
    return json.dumps({"enabled": window.enabled, "until": until}) + "\n"


def current_window(ctx: Context) -> Window | None:
    """The window on the target; None when there is none (or it is unreadable: rewritten)."""
    if not ctx.sink.exists(tc.WINDOW_FILE):
        return None
    try:
        return read_window(str(ctx.sink.target(tc.WINDOW_FILE)))
    except ExpandError:
        return None


class SupportStep(PlannedStep):
    name = "support"
    title = "Setting up the support tunnel"

    def plan(self, ctx: Context) -> StepPlan:
        a = ctx.answers
        s = a.support
        # The customer's switch wins over a rerun: a window they closed (or opened for a
        # time) stays as it is; support.enabled = false always closes it.
        kept = current_window(ctx) if s.enabled else None
        window = kept or Window(s.enabled)
        engineers = ctx.sink.read_text(tc.ENGINEERS_FILE) or ""
        actions: list[Action] = [] if kept else [WriteFile(tc.WINDOW_FILE, window_text(window))]
        actions += [
            WriteFile(tc.ENGINEERS_AUTHORIZED,
                      authorized_keys(window, engineers, datetime.now(UTC),
                                      tc.ENGINEERS_FILE)),
            WriteFile(UNIT_PATH, unit_text()),
        ]
        if not s.enabled:
            actions.append(RunCommand(("systemctl", "disable", "--now", UNIT_NAME)))
            return StepPlan(tuple(actions), "support tunnel off (support.enabled = false)")
        actions.insert(0, NewTunnelKey(tc.KEY_FILE, f"expand-tunnel@{a.hostname}"))
        hub = f"{s.hub_host}:{s.hub_port}"
        if not s.hub_host_key or not s.forward_port:
            missing = [k for k, v in (("support.hub-host-key", s.hub_host_key),
                                      ("support.forward-port", s.forward_port)) if not v]
            warning = (f"support tunnel not started: {' and '.join(missing)} not given. Register "
                       f"this appliance's key (shown below) on the hub {s.hub_host}, then give "
                       "the hub's host key and the port it assigned and run the first boot "
                       "again (expandctl firstboot --reconfigure)")
            return StepPlan(tuple(actions), f"appliance key ready; tunnel to {hub} not configured",
                            (warning,))
        actions += [
            WriteFile(tc.KNOWN_HOSTS, known_hosts_line(a)),
            WriteFile(tc.CONFIG_FILE, tc.render_config(settings_values(a))),
            EnableUnit(UNIT_NAME),
            RunCommand(("systemctl", "restart", UNIT_NAME)),
        ]
        return StepPlan(tuple(actions), f"support tunnel to {hub}, hub port {s.forward_port}")

    def apply(self, ctx: Context) -> StepPlan:
        planned = super().apply(ctx)
        if not ctx.answers.support.enabled:
            return planned
        line = (ctx.sink.read_text(tc.KEY_FILE + ".pub") or "").strip()
        text = ("Support hub: register this appliance's key there (expandctl support hub-add "
                f"SITE '<line>'):\n  {line}")
        return replace(planned, shown_once=text)

