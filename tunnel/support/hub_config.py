"""The sshd settings the hub needs for the tunnel user: a ``Match User`` block.

What each line closes (sshd_config.5; research/tunnel.md section 2):
- publickey only, no TTY, no X11, no agent: the appliance key is a key, never a login;
- ``AllowTcpForwarding remote`` with ``PermitOpen none``: listeners (-R) only, never a
  connection out of the hub (-L, direct-tcpip);
- ``AllowStreamLocalForwarding no``: permitlisten does not restrict unix sockets
  (``remote_open_match`` accepts any path), so a key could bind one anywhere it can write;
- ``PermitTunnel no``, ``GatewayPorts no``: no tun devices, listeners on loopback only;
- ``ClientAliveInterval 10`` x ``ClientAliveCountMax 3``: a session whose appliance went
  silent is closed after ~30 s and its listener freed (the claim does it at once).
No ``UnusedConnectionTimeout``: -R listeners do not count as channels, so it would close
every healthy ``-N`` tunnel.
"""

from __future__ import annotations

import re
from pathlib import Path

from appliance.errors import ExpandError
from appliance.readers import shown

DEFAULT_USER = "tunnel"
USER_PATTERN = re.compile(r"[a-z_][a-z0-9_-]{0,31}")

SETTINGS = (
    ("AuthenticationMethods", "publickey"),
    ("PermitTTY", "no"),
    ("X11Forwarding", "no"),
    ("AllowAgentForwarding", "no"),
    ("AllowTcpForwarding", "remote"),
    ("PermitOpen", "none"),
    ("AllowStreamLocalForwarding", "no"),
    ("PermitTunnel", "no"),
    ("GatewayPorts", "no"),
    ("ClientAliveInterval", "10"),
    ("ClientAliveCountMax", "3"),
)


def check_user(user: str) -> str:
    if not USER_PATTERN.fullmatch(user):
        raise ExpandError(f"--user: {shown(user)} is not a user name (a-z, 0-9, '_' and '-', "
                          "up to 32)")
    return user


def match_block(user: str, authorized_keys: Path) -> str:
    """The block to append to sshd_config (Match blocks run to the end of the file)."""
    check_user(user)
    keys = str(authorized_keys)
    if not keys.startswith("/") or any(ch.isspace() or ch in "\"'%\\" for ch in keys):
        raise ExpandError(f"--authorized-keys: {shown(keys)} must be an absolute path "
                          "without spaces, quotes, '%' or '\\'")
    lines = [
        f"# eXpand support hub: the tunnel user {user} may only hold its own reverse",
        "# forwards (the key lines in the file below pin each key to its port).",
        f"Match User {user}",
        f"    AuthorizedKeysFile {keys}",
        *(f"    {name} {value}" for name, value in SETTINGS),
    ]
    return "\n".join(lines) + "\n"


def expected_effective(user: str) -> dict[str, str]:
    """``sshd -T -C user=USER,...`` lower-cases the names: what the block must show."""
    check_user(user)
    return {name.lower(): value for name, value in SETTINGS}
