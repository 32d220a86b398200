"""The wizard's screens, in the seed's order (Anexo A §4), with the seed's English wording.

A screen names the answers key it fills. Which key depends on the mode for the two LAN
addresses: on a secondary the "own IP" screen is about the secondary's address (pre-filled
from DHCP) and the later screen asks for the primary's address instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from appliance.fields import DEFAULT_INTERCONNECT

# Where a pre-filled value came from: said on the screen, as the seed does for DHCP.
ORIGIN_NOTE = {
    "dhcp": " (current value was DHCP assigned)",
    "static": " (current value of this server)",
    "current": " (current value from the installed configuration)",
    "dvd": " (value from the installation DVD)",
}

MODE_CHOICES = (("1", "Primary"), ("2", "Secondary"))
MODE_BY_TAG = {"1": "primary", "2": "secondary"}
TAG_BY_MODE = {mode: tag for tag, mode in MODE_BY_TAG.items()}


@dataclass(frozen=True)
class Screen:
    name: str
    # "menu"; "input" (pre-filled); "password" (hidden, asked twice, never pre-filled);
    # "secret" (hidden, asked once: a code with its own check characters).
    kind: str
    key_for: Callable[[str], str]  # mode -> answers key
    text_for: Callable[[str], str]  # mode -> prompt (without the origin note)
    when: Callable[[Mapping[str, Any]], bool] = lambda raw: True
    hint: str = ""  # a line after the prompt and its origin note


def _fixed(key: str) -> Callable[[str], str]:
    return lambda mode: key


def _same(text: str) -> Callable[[str], str]:
    return lambda mode: text


def _interconnect_text(mode: str) -> str:
    whose = "this node" if mode == "primary" else "the primary node"
    text = (f"Please enter the HA interconnect IP address of {whose}, on the separate NIC "
            f"that links both nodes (default {DEFAULT_INTERCONNECT}: it should not cause "
            "conflicts)")
    if mode == "secondary":
        text += ". This node takes the next address"
    return text


def _own_ip_key(mode: str) -> str:
    return "network.primary-ip" if mode == "primary" else "network.secondary-ip"


def _peer_ip_key(mode: str) -> str:
    return "network.secondary-ip" if mode == "primary" else "network.primary-ip"


def _own_ip_text(mode: str) -> str:
    if mode == "primary":
        return "Please enter static PBX IP address"
    return "Please enter the static IP address of this secondary node"


def _peer_ip_text(mode: str) -> str:
    if mode == "primary":
        return ("Please enter secondary IP address (required even if there is no "
                "secondary server yet)")
    return "Please enter the static PBX IP address of the primary node"


def _smtp_login(raw: Mapping[str, Any]) -> bool:
    return bool(str(raw.get("smtp.username") or "").strip())


def _fencing_login(raw: Mapping[str, Any]) -> bool:
    # Fencing is set only by an answers file; its password is never saved, so a
    # reconfigure asks it here (once: it is not among the seed's screens).
    needs = str(raw.get("fencing.mode") or "none") in ("ipmi", "vmware")
    return needs and not raw.get("fencing.password")


def _secondary(raw: Mapping[str, Any]) -> bool:
    return raw.get("mode") == "secondary"


SCREENS: tuple[Screen, ...] = (
    Screen("mode", "menu", _fixed("mode"), _same("Select PBX Mode")),
    Screen("interconnect", "input", _fixed("interconnect.primary-address"), _interconnect_text),
    Screen("own-ip", "input", _own_ip_key, _own_ip_text),
    Screen("netmask", "input", _fixed("network.netmask"), _same("Please enter netmask")),
    Screen("gateway", "input", _fixed("network.gateway"), _same("Please enter gateway")),
    Screen("dns", "input", _fixed("network.dns"), _same("Please enter DNS"),
           hint="One or two servers, separated by a space."),
    Screen("pbx-domain", "input", _fixed("network.pbx-domain"),
           _same("Please enter PBX domain (normally left empty)")),
    Screen("peer-ip", "input", _peer_ip_key, _peer_ip_text),
    Screen("virtual-ip", "input", _fixed("network.virtual-ip"),
           _same("Please enter virtual IP address: the floating (service) IP held by the "
                 "active node, in the same network as the PBX IP")),
    # Hidden while typed (a password box: dialog shows asterisks) and never pre-filled, since
    # dialog gets a box's initial text on its argv or in its arguments file; its two check
    # characters catch typos. Never in the summary, the saved answers or the log.
    Screen("join-code", "secret", _fixed("cluster.join-code"),
           _same("Please enter the join code shown on the primary"), _secondary,
           hint="It ends the primary's first-boot report; 'expandctl ha join-code' on the "
                "primary shows it again."),
    Screen("smarthost", "input", _fixed("smtp.smarthost"), _same("Please enter FQDN smarthost")),
    Screen("email-user", "input", _fixed("smtp.username"),
           _same("Please enter email username (user@domain; leave empty for no login)")),
    Screen("email-password", "password", _fixed("smtp.password"),
           _same("Please enter email password"), _smtp_login),
    Screen("fencing-password", "password", _fixed("fencing.password"),
           _same("Please enter the fencing password (power-off of a failed node)"),
           _fencing_login),
)

# A "secret" screen when the value is known already (the DVD's answers, or typed before a
# No at the summary): an empty box keeps it, as nothing can be pre-filled.
KEEP_NOTE = " (leave empty to keep the one already given)"

AGAIN = {
    "smtp.password": "Please enter email password again",
    "fencing.password": "Please enter the fencing password again",
}

# What the summary and messages call each key (the seed's wording).
LABELS = {
    "mode": "PBX mode",
    "interconnect.primary-address": "HA interconnect address (primary)",
    "interconnect.secondary-address": "HA interconnect address (secondary)",
    "interconnect.prefix": "HA interconnect prefix",
    "network.primary-ip": "Static PBX IP address (primary)",
    "network.netmask": "Netmask",
    "network.gateway": "Gateway",
    "network.dns": "DNS",
    "network.pbx-domain": "PBX domain",
    "network.secondary-ip": "Secondary IP address",
    "network.virtual-ip": "Virtual IP address",
    "smtp.smarthost": "FQDN smarthost",
    "smtp.username": "Email username",
    "smtp.password": "Email password",
    "fencing.password": "Fencing password",
    "cluster.join-code": "Join code",
}


def screen_for_key(key: str, mode: str) -> Screen | None:
    for screen in SCREENS:
        if screen.key_for(mode) == key:
            return screen
    return None


def label(key: str) -> str:
    return LABELS.get(key, key)
