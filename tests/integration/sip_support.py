"""SIP OPTIONS from the lab's client namespace with the real sipp (Debian's sip-tester),
authenticated as an extension: "SIP answers on the VIP" in the appliance lab's tests.

The extension's secret is read from the node's secrets store (0600) and written only into
sipp's copy of the scenario (0600, in a private temporary directory), never on argv."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from ipaddress import IPv4Address
from pathlib import Path

from lab import netns
from pbx.secrets_store import SECRETS_PATH
from tests.integration.ha_support import VIP, expandctl

OPTIONS = Path(__file__).parent / "data" / "sipp" / "options.xml"
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
    with tempfile.TemporaryDirectory(prefix="expand-sipp-") as work:
        scenario = Path(work) / "options.xml"
        fd = os.open(scenario, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(OPTIONS.read_text().replace("@EXTENSION@", extension)
                     .replace("@SECRET@", secret))
        try:
            proc = subprocess.run(
                ["ip", "netns", "exec", netns.CLIENT_NS, "sipp", f"{address}:{port}",
                 "-sf", str(scenario), "-m", "1", "-nostdin", "-timeout", "5s",
                 "-timeout_error"],
                cwd=work, capture_output=True, text=True, timeout=10, check=False)
        except subprocess.TimeoutExpired:
            return False
    return proc.returncode == 0
