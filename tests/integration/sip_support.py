"""SIP OPTIONS from the lab's client namespace with pbx.sipp's ``options`` scenario (the real
sipp), authenticated as an extension: "SIP answers on the VIP" in the appliance lab's tests.

The extension's secret is read from the node's secrets store (0600) and handed to pbx.sipp,
which keeps it in a 0600 injection file, never on argv."""

from __future__ import annotations

import json
from ipaddress import IPv4Address

from lab import netns
from pbx import sipp
from pbx.secrets_store import SECRETS_PATH
from tests.integration.ha_support import VIP, expandctl

EXTENSION = "550"


def node_secret(node: str, extension: str = EXTENSION) -> str:
    """The SIP secret the node's render generated for ``extension``."""
    data = json.loads(expandctl("lab", "exec", node, "--", "cat", SECRETS_PATH).stdout)
    secret = data["sip"][extension]
    assert isinstance(secret, str) and secret.isalnum()
    return secret


def client_sip(secret: str, address: IPv4Address = VIP, port: int = 5060,
               extension: str = EXTENSION) -> bool:
    """One OPTIONS from the client namespace as ``extension``, answered 200 (after the
    challenge) from ``address`` within the scenario's timeouts."""
    result = sipp.run("options", (str(address), port), params={"answer_ms": 2000},
                      credentials=sipp.Credentials(extension, secret), deadline=5,
                      local_ip=str(netns.CLIENT_IP),
                      prefix=("ip", "netns", "exec", netns.CLIENT_NS))
    return result.ok
