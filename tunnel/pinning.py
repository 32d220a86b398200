"""The hub's pinned host key: read from a known_hosts file, compared before anything is sent.

The file is this appliance's own (the first boot writes it from ``support.hub-host-key``):
plain ``[host]:port TYPE BASE64`` lines. A name not in it, or another key, is refused.
"""

from __future__ import annotations

from pathlib import Path

import paramiko
from paramiko.hostkeys import HostKeyEntry, InvalidHostKey

from appliance.errors import ExpandError
from appliance.readers import read_text

# The host key algorithms paramiko may negotiate for a pinned key type: asking only for
# them makes the hub show the pinned key, never another one it also has.
ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")}


class HostKeyRefused(ExpandError):
    """The hub is not the pinned one (or nothing is pinned for it)."""


def pinned_keys(known_hosts: str, name: str) -> list[paramiko.PKey]:
    """The keys pinned for ``name``; ExpandError naming the file when it is unreadable."""
    text = read_text(Path(known_hosts), what="pinned hub host key")
    keys: list[paramiko.PKey] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            entry = HostKeyEntry.from_line(line, number)
        except (InvalidHostKey, paramiko.SSHException, ValueError, TypeError) as exc:
            raise ExpandError(f"{known_hosts}: line {number}: not a host key line "
                              f"({type(exc).__name__})") from None
        if entry is not None and entry.key is not None and name in entry.hostnames:
            keys.append(entry.key)
    if not keys:
        raise HostKeyRefused(f"{known_hosts}: no host key pinned for {name}: not connecting")
    return keys


def key_algorithms(keys: list[paramiko.PKey]) -> tuple[str, ...]:
    names: list[str] = []
    for key in keys:
        names += ALGORITHMS.get(key.get_name(), (key.get_name(),))
    return tuple(dict.fromkeys(names))


def check_host_key(presented: paramiko.PKey, pinned: list[paramiko.PKey], name: str) -> None:
    if any(presented.get_name() == k.get_name() and presented.asbytes() == k.asbytes()
           for k in pinned):
        return
    raise HostKeyRefused(f"hub {name} presented another host key ({presented.get_name()} "
                         f"SHA256:{fingerprint(presented)}) than the pinned one: refused, "
                         "nothing sent")


def fingerprint(key: paramiko.PKey) -> str:
    return key.fingerprint.split(":", 1)[-1]
