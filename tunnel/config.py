"""The daemon's settings: /etc/expand/tunnel.toml, written by the first boot's support step.

One table (``SETTINGS``) drives parsing, defaults and the file the first boot writes. Every
problem is reported at once, each naming the file and key; nothing here connects anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from appliance import validators as v
from appliance.paths import CONFIG_DIR, STATE_DIR
from appliance.readers import ReadError, load_toml, show_path, shown
from appliance.reports import Report, ValidationFailed

CONFIG_FILE = f"{CONFIG_DIR}/tunnel.toml"
KEY_DIR = f"{CONFIG_DIR}/tunnel"
KEY_FILE = f"{KEY_DIR}/id_ed25519"
KNOWN_HOSTS = f"{KEY_DIR}/known_hosts"
STATE_FILE = "/run/expand/tunnel.json"
WINDOW_FILE = f"{STATE_DIR}/support-window.json"
ENGINEERS_FILE = f"{CONFIG_DIR}/support/engineers.pub"
ENGINEERS_AUTHORIZED = f"{CONFIG_DIR}/support/authorized_keys"
HUB_USER = "tunnel"


def _positive(value: Any) -> tuple[float | None, str | None]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, f"{shown(value)} is not a number of seconds"
    if not 0 < value <= 86400:
        return None, f"{value} is not between 0 and 86400 seconds"
    return float(value), None


def _count(value: Any) -> tuple[int | None, str | None]:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        return None, f"{shown(value)} is not a whole number from 1 to 100"
    return value, None


def _path(value: Any) -> tuple[str | None, str | None]:
    text, problem = v.line(value)
    if problem or not text:
        return None, problem or "is empty"
    if not PurePosixPath(text).is_absolute() or ".." in PurePosixPath(text).parts:
        return None, f"{shown(text)} is not an absolute path without '..'"
    return text, None


def _user(value: Any) -> tuple[str | None, str | None]:
    text = v.text(value)[0]
    if not text or not text.replace("-", "").replace("_", "").isalnum() or len(text) > 32:
        return None, f"{shown(value)} is not a user name (letters, digits, '-', '_')"
    return text, None


def _host(value: Any) -> tuple[str | None, str | None]:
    got = v.fqdn_or_ip(value)[0]
    return (got, None) if got else (None, "is not the hub's host name or IPv4 address")


Setting = tuple[str, str, Callable[[Any], tuple[Any, str | None]], Any]  # key, field, check
REQUIRED = object()
SETTINGS: tuple[Setting, ...] = (
    ("hub.host", "hub_host", _host, REQUIRED),
    ("hub.port", "hub_port", v.port, 22),
    ("hub.user", "hub_user", _user, HUB_USER),
    ("hub.forward-port", "forward_port", v.port, REQUIRED),  # hub localhost:PORT
    ("hub.known-hosts", "known_hosts", _path, KNOWN_HOSTS),     # the pinned hub host key
    ("local.key", "key", _path, KEY_FILE),              # this appliance's ed25519 key (0600)
    ("local.sshd-host", "sshd_host", v.ipv4, "127.0.0.1"),
    ("local.sshd-port", "sshd_port", v.port, 22),
    ("timing.keepalive-interval", "keepalive_interval", _positive, 3.0),
    ("timing.keepalive-deadline", "keepalive_deadline", _positive, 4.0),
    ("timing.keepalive-misses", "keepalive_misses", _count, 3),
    ("timing.tcp-user-timeout", "tcp_user_timeout", _positive, 15.0),
    ("timing.connect-timeout", "connect_timeout", _positive, 10.0),
    # A refused host key or a forward refused by policy: retrying faster cannot fix them.
    ("timing.policy-retry", "policy_retry", _positive, 300.0),
    ("files.state", "state", _path, STATE_FILE),
    ("files.window", "window", _path, WINDOW_FILE),
    ("files.engineers", "engineers", _path, ENGINEERS_FILE),
    ("files.engineers-authorized-keys", "engineers_authorized_keys", _path, ENGINEERS_AUTHORIZED),
)
SECTIONS = {key.split(".")[0] for key, _, _, _ in SETTINGS}


@dataclass(frozen=True)
class TunnelConfig:
    hub_host: str
    hub_port: int
    hub_user: str
    forward_port: int
    known_hosts: str
    key: str
    sshd_host: str
    sshd_port: int
    keepalive_interval: float
    keepalive_deadline: float
    keepalive_misses: int
    tcp_user_timeout: float
    connect_timeout: float
    policy_retry: float
    state: str
    window: str
    engineers: str
    engineers_authorized_keys: str

    @property
    def hub(self) -> str:
        return f"{self.hub_host}:{self.hub_port}"

    @property
    def host_key_name(self) -> str:
        """How known_hosts names the hub: ``[host]:port`` unless the port is 22."""
        return self.hub_host if self.hub_port == 22 else f"[{self.hub_host}]:{self.hub_port}"


def parse_config(data: Mapping[str, Any], source: str
                 ) -> tuple[TunnelConfig | None, list[Report]]:
    reports: list[Report] = []
    given: dict[str, Any] = {}
    for section, table in data.items():
        if section not in SECTIONS or not isinstance(table, Mapping):
            reports.append(Report(source, str(section)[:60], "unknown section"))
            continue
        for key, value in table.items():
            given[f"{section}.{str(key).replace('_', '-')}"] = value
    known = {key for key, _, _, _ in SETTINGS}
    reports += [Report(source, k[:80], "unknown key") for k in given if k not in known]
    values: dict[str, Any] = {}
    for key, attr, check, default in SETTINGS:
        if key not in given:
            if default is REQUIRED:
                reports.append(Report(source, key, "is required"))
            values[attr] = default
            continue
        got, problem = check(given[key])
        if problem:
            reports.append(Report(source, key, problem))
        values[attr] = got
    if reports:
        return None, reports
    values["sshd_host"] = str(values["sshd_host"])
    return TunnelConfig(**values), []


def load_config(path: Path) -> TunnelConfig:
    """The settings, or ValidationFailed with every problem (the file named in each)."""
    try:
        data = load_toml(path, what="tunnel settings")
    except ReadError as exc:
        raise ValidationFailed([Report(exc.source, "", exc.reason)]) from None
    config, reports = parse_config(data, show_path(path))
    if config is None:
        raise ValidationFailed(reports)
    return config


def render_config(values: Mapping[str, Any]) -> str:
    """TOML text of ``{"section.key": value}`` (the first boot's file), sections in order."""
    lines: list[str] = ["# eXpand support tunnel (written by expandctl firstboot)"]
    current = ""
    for key, _, _, _ in SETTINGS:
        if key not in values:
            continue
        section, name = key.split(".", 1)
        if section != current:
            lines += ["", f"[{section}]"]
            current = section
        value = values[key]
        text = str(value).lower() if isinstance(value, bool) else (
            str(value) if isinstance(value, int | float) else json.dumps(str(value)))
        lines.append(f"{name} = {text}")
    return "\n".join(lines) + "\n"
