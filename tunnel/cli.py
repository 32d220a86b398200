"""``expandctl tunnel``: run the support tunnel daemon, see it, open and close the window."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from appliance.console import HelpFormatter, print_json
from appliance.readers import ReadError, read_text
from tunnel import state as st
from tunnel.config import (
    CONFIG_FILE,
    ENGINEERS_AUTHORIZED,
    ENGINEERS_FILE,
    STATE_FILE,
    WINDOW_FILE,
    TunnelConfig,
    load_config,
)
from tunnel.daemon import Daemon, load_key, utc_now
from tunnel.pinning import pinned_keys
from tunnel.window import Window, parse_duration, read_window, write_window

EXIT_NOT_CONNECTED = 3
EXIT_NOT_CONFIGURED = 4

EPILOG_RUN = """example (what the systemd unit expand-tunnel.service runs):
  expandctl tunnel run --config /etc/expand/tunnel.toml

exit codes:
  0  stopped by SIGTERM/SIGINT
  1  bad settings or key (the message names the file and key); nothing started
  2  bad arguments"""
EPILOG_STATUS = f"""examples:
  expandctl tunnel status
  expandctl tunnel status --json | jq .state

exit codes:
  0  connected: the forward is open and the hub answers
  1  an unreadable state or window file (the message names it)
  2  bad arguments
  {EXIT_NOT_CONNECTED}  not connected (the state says why: backoff, refused-host-key, window-closed,
     not running)
  {EXIT_NOT_CONFIGURED}  the tunnel is not configured (no {CONFIG_FILE})"""
EPILOG_ENABLE = """examples:
  expandctl tunnel enable --for 24h     (closes by itself after 24 hours)
  expandctl tunnel enable               (open until 'tunnel disable')

exit codes:
  0  the window is open (until the deadline shown)
  1  a bad --for or an unreadable engineers' key list; nothing written
  2  bad arguments"""
EPILOG_DISABLE = """example:
  expandctl tunnel disable

exit codes:
  0  the window is closed: no forward, no engineer's key accepted
  1  a file could not be written
  2  bad arguments"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "tunnel", help="the support tunnel: status, open/close the support window",
        description="The appliance keeps a reverse SSH forward open on the support hub "
                    "(hub localhost:PORT → this appliance's sshd) while the support window "
                    "is open. The customer opens and closes the window; a window opened "
                    "--for a time closes by itself: the forward goes down and the "
                    "appliance's sshd refuses the engineers' keys after the deadline.",
        epilog="Run 'expandctl tunnel COMMAND --help' for each command's examples.",
        formatter_class=HelpFormatter)
    parser.add_argument("--config", type=Path, default=Path(CONFIG_FILE), metavar="FILE",
                        help=f"the tunnel settings (default {CONFIG_FILE})")
    cmds = parser.add_subparsers(dest="tunnel_cmd", required=True, metavar="COMMAND")
    run = cmds.add_parser("run", help="the daemon (systemd runs it)", epilog=EPILOG_RUN,
                          description="Keep the forward open: reconnect with backoff, "
                                      "reclaim a port held by a stale session, feed the "
                                      "systemd watchdog while the forward is verified.",
                          formatter_class=HelpFormatter)
    run.set_defaults(func=cmd_run)
    status = cmds.add_parser("status", help="state, connected since, hub, port, last error, "
                                            "support window",
                             description="What the daemon last recorded, and the window.",
                             epilog=EPILOG_STATUS, formatter_class=HelpFormatter)
    status.add_argument("--json", action="store_true", help="machine-readable on stdout")
    status.set_defaults(func=cmd_status)
    enable = cmds.add_parser("enable", help="open the support window", epilog=EPILOG_ENABLE,
                             description="Let support in: the daemon opens the forward and "
                                         "the engineers' keys are accepted.",
                             formatter_class=HelpFormatter)
    enable.add_argument("--for", dest="duration", metavar="DURATION",
                        help="close by itself after DURATION (90s, 30m, 24h, 7d; at most 30d)")
    enable.add_argument("--json", action="store_true")
    enable.set_defaults(func=cmd_enable)
    disable = cmds.add_parser("disable", help="close the support window now",
                              epilog=EPILOG_DISABLE, formatter_class=HelpFormatter,
                              description="Shut support out: the forward goes down within a "
                                          "second and no engineer's key is accepted.")
    disable.add_argument("--json", action="store_true")
    disable.set_defaults(func=cmd_disable)


def config_or_none(path: Path) -> TunnelConfig | None:
    """The settings; None when the file does not exist (not configured yet)."""
    if not path.exists() and not path.is_symlink():
        return None
    return load_config(path)


def cmd_run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    # Unreadable key or pinned host key: refuse to start (the daemon rereads both on
    # every connection, so a fixed file is picked up without a restart).
    load_key(config.key)
    pinned_keys(config.known_hosts, config.host_key_name)
    logging.getLogger("expand.tunnel").setLevel(logging.INFO)
    _journal_handler()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    Daemon(config).run(stop)
    return 0


def _journal_handler() -> None:
    """The daemon's own lines (info and up) on stderr: the journal under systemd."""
    logger = logging.getLogger("expand.tunnel")
    if not any(getattr(h, "tunnel_journal", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.INFO)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.tunnel_journal = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False


def _paths(config: TunnelConfig | None) -> tuple[str, str, str, str]:
    if config is None:
        return STATE_FILE, WINDOW_FILE, ENGINEERS_FILE, ENGINEERS_AUTHORIZED
    return (config.state, config.window, config.engineers, config.engineers_authorized_keys)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def status_data(config: TunnelConfig | None, now: datetime) -> dict[str, Any]:
    state_path, window_path, _, _ = _paths(config)
    state = st.read_state(state_path)
    running = state is not None and _alive(state.pid) and state.state != st.STOPPED
    data: dict[str, Any] = {
        "configured": config is not None,
        "running": running,
        "state": (state.state if running else "not-running") if state else "not-running",
        "last_state": state.state if state else None,
        "connected_since": state.connected_since if running and state else None,
        "hub": config.hub if config else None,
        "port": config.forward_port if config else None,
        "last_error": state.last_error if state else None,
        "reclaims": state.reclaims if state else 0,
        "support_window": read_window(window_path).as_dict(now),
        "public_key": public_key(config),
    }
    return data


def public_key(config: TunnelConfig | None) -> str | None:
    """This appliance's public key line (what the hub registers), None when not made."""
    if config is None:
        return None
    try:
        text = read_text(Path(config.key + ".pub"), what="public key", max_bytes=16384)
    except ReadError:
        return None
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if line.startswith("ssh-") else None


def cmd_status(args: argparse.Namespace) -> int:
    config = config_or_none(args.config)
    data = status_data(config, utc_now())
    if args.json:
        print_json(data)
    else:
        window = data["support_window"]
        until = f" until {window['until']}" if window["until"] else ""
        rows = [("state", data["state"] + ("" if data["running"] or not data["last_state"]
                                           else f" (last: {data['last_state']})")),
                ("connected since", data["connected_since"] or "-"),
                ("hub", data["hub"] or "- (not configured)"),
                ("port", str(data["port"] or "-")),
                ("last error", data["last_error"] or "-"),
                ("support window", ("open" if window["open"] else "closed") + until),
                ("appliance key", data["public_key"] or "-")]
        for name, value in rows:
            print(f"{name + ':':17}{value}")
    if config is None:
        return EXIT_NOT_CONFIGURED
    return 0 if data["state"] == st.CONNECTED else EXIT_NOT_CONNECTED


def cmd_enable(args: argparse.Namespace) -> int:
    now = utc_now()
    window = Window(True, now + parse_duration(args.duration) if args.duration else None)
    return _write(args, window, now)


def cmd_disable(args: argparse.Namespace) -> int:
    return _write(args, Window(False), utc_now())


def _write(args: argparse.Namespace, window: Window, now: datetime) -> int:
    _, window_path, engineers, authorized = _paths(config_or_none(args.config))
    write_window(window, window_path, engineers, authorized, now)
    if args.json:
        print_json(window.as_dict(now))
    elif window.enabled:
        print("support window open" + (f" until {window.until.isoformat()}"
                                       if window.until else " until 'tunnel disable'"))
    else:
        print("support window closed")
    return 0
