"""corosync.conf and the cluster authkey, from the answers.

Choices (see ../shared/TESTBED.md, "Cluster nodes without VMs"):
- knet with two links: link 0 is the dedicated interconnect NIC (preferred, priority 2),
  link 1 the LAN (fallback, priority 1). Passive link mode uses the highest priority.
- ``two_node: 1``: a two-node cluster keeps quorum with one node; ``wait_for_all`` (on by
  default with two_node) makes a node booting alone wait until it has seen
  its peer once, so it never fences a peer it merely cannot reach yet. Fencing (never
  ``no-quorum-policy=ignore``) decides who survives a split.
- Growing a standalone primary (``ha add-secondary``): wait_for_all on the primary would
  leave it without quorum after any reboot before the secondary was ever installed (the
  phones down). So the primary gets ``wait_for_all: 0`` ("unsealed") until both nodes have
  been members together once; then ``ha seal`` drops that line (back to two_node's
  wait_for_all) and reloads.
  votequorum applies the waiting state only when corosync starts (corosync PR #542,
  3.0.4+): the reload changes the flag, never the quorum, and the next start waits as it
  should. The secondary's own file has wait_for_all from its first boot, since it starts
  next to a running primary; sealed, both files are identical again.
- ``token: 1000`` ms: a dead node is declared lost after ~1 s, which measured a VIP failover
  of 2.2–3.4 s after a hard kill (6.5 s with the 3000 ms default). Shorter tokens cause
  false membership changes on a loaded host; 1000 ms is the compromise.
- Encrypted and authenticated: aes256 + sha256 with a 256-byte random authkey, made once
  on the primary and carried to the secondary (never on argv, never in logs).

Every ``{`` ends its line and there is one option per line: corosync's parser rejects
anything else ("Extra characters after opening bracket").
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address

from appliance.answers import Answers
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.joincode import AUTHKEY_BYTES as AUTHKEY_BYTES  # the size corosync needs
from appliance.runner import Runner

CONF_PATH = "/etc/corosync/corosync.conf"
AUTHKEY_PATH = "/etc/corosync/authkey"
CLUSTER_NAME = "expand"
TOKEN_MS = 1000
UNSEALED = "wait_for_all: 0"
UNSEALED_NOTE = ("# wait_for_all is 0 until the secondary has joined once ('expandctl ha "
                 "seal' sets it).")


@dataclass(frozen=True)
class ClusterNode:
    name: str
    nodeid: int
    interconnect: IPv4Address  # knet link 0
    lan: IPv4Address  # knet link 1


@dataclass(frozen=True)
class CorosyncSettings:
    cluster_name: str
    nodes: tuple[ClusterNode, ...]
    token_ms: int = TOKEN_MS
    log_file: str = "/var/log/corosync/corosync.log"
    # Only for checks outside a node (``corosync -t`` on a temporary copy); None = the
    # default /etc/corosync/authkey.
    keyfile: str | None = None
    # Only for a two-node cluster; False on a grown primary until the secondary joined.
    wait_for_all: bool = True

    @property
    def two_node(self) -> bool:
        return len(self.nodes) == 2


def settings_from_answers(answers: Answers, *, with_secondary: bool = True,
                          token_ms: int = TOKEN_MS) -> CorosyncSettings:
    """Primary is node 1, secondary node 2, whichever node renders the file (it is identical
    on both). ``with_secondary=False`` gives the standalone one-node cluster of a primary
    installed alone: it already owns the VIP and the secondary is added later."""
    primary = ClusterNode(answers.nodes.primary_hostname, 1,
                          answers.interconnect.primary_address, answers.network.primary_ip)
    nodes = [primary]
    if with_secondary:
        nodes.append(ClusterNode(answers.nodes.secondary_hostname, 2,
                                 answers.interconnect.secondary_address,
                                 answers.network.secondary_ip))
    return CorosyncSettings(CLUSTER_NAME, tuple(nodes), token_ms)


def _block(name: str, lines: list[str], indent: int = 0) -> list[str]:
    pad = "    " * indent
    return [f"{pad}{name} {{", *lines, f"{pad}}}"]


def _opts(options: list[tuple[str, object]], indent: int) -> list[str]:
    pad = "    " * indent
    return [f"{pad}{key}: {value}" for key, value in options]


def render_corosync_conf(settings: CorosyncSettings) -> str:
    """The whole file; pure. Identical on both nodes."""
    totem = _opts([
        ("version", 2),
        ("cluster_name", settings.cluster_name),
        ("transport", "knet"),
        ("link_mode", "passive"),
        ("token", settings.token_ms),
        ("crypto_cipher", "aes256"),
        ("crypto_hash", "sha256"),
        *([("keyfile", settings.keyfile)] if settings.keyfile else []),
    ], 1)
    links = [("interconnect", 0, 2), ("LAN", 1, 1)]
    for _label, number, priority in links:
        totem += _block("interface", _opts([
            ("linknumber", number),
            ("knet_link_priority", priority),
        ], 2), 1)
    nodelist: list[str] = []
    for node in settings.nodes:
        nodelist += _block("node", _opts([
            ("name", node.name),
            ("nodeid", node.nodeid),
            ("ring0_addr", node.interconnect),
            ("ring1_addr", node.lan),
        ], 2), 1)
    quorum_opts: list[tuple[str, object]] = [("provider", "corosync_votequorum")]
    if settings.two_node:
        quorum_opts.append(("two_node", 1))
        if not settings.wait_for_all:  # 1 is what two_node implies: not written
            quorum_opts.append(("wait_for_all", 0))
    logging = _opts([
        ("to_stderr", "yes"),
        ("to_logfile", "yes"),
        ("logfile", settings.log_file),
        ("to_syslog", "no"),
        ("timestamp", "on"),
    ], 1)
    header = [
        "# Written by expandctl (ha/corosync.py); identical on both nodes.",
        "# link 0 = HA interconnect (preferred), link 1 = LAN (fallback).",
        *([UNSEALED_NOTE] if settings.two_node and not settings.wait_for_all else []),
    ]
    lines = (header + _block("totem", totem) + _block("nodelist", nodelist)
             + _block("quorum", _opts(quorum_opts, 1)) + _block("logging", logging))
    return "\n".join(lines) + "\n"


def write_corosync_conf(sink: FileSink, settings: CorosyncSettings) -> bool:
    return sink.write(CONF_PATH, render_corosync_conf(settings), mode=0o644)


def is_unsealed(conf_text: str) -> bool:
    """A two-node file still waiting for the secondary's first join (see the top)."""
    lines = [line.strip() for line in conf_text.splitlines()]
    return "two_node: 1" in lines and UNSEALED in lines


def sealed_conf(conf_text: str) -> str:
    """The same file without ``wait_for_all: 0`` (and its note), so two_node's default
    wait_for_all 1 applies: the file the secondary has. Pure; only our own lines go."""
    return "".join(line for line in conf_text.splitlines(keepends=True)
                   if line.strip() != UNSEALED and line.rstrip("\n") != UNSEALED_NOTE)


def ensure_authkey(sink: FileSink,
                   random_bytes: Callable[[int], bytes] = os.urandom) -> bool:
    """Make the authkey once (0400 root). Returns False when one already exists: a second
    run must never replace the key the peer already has."""
    if sink.exists(AUTHKEY_PATH):
        return False
    sink.write(AUTHKEY_PATH, random_bytes(AUTHKEY_BYTES), mode=0o400)
    return True


def install_authkey(sink: FileSink, key: bytes) -> bool:
    """The secondary receives the primary's key (from a join code): same path, same mode."""
    if len(key) != AUTHKEY_BYTES:
        raise ExpandError(f"corosync authkey must be {AUTHKEY_BYTES} bytes, got {len(key)}")
    return sink.write(AUTHKEY_PATH, key, mode=0o400)


def check_corosync_conf(runner: Runner, host_path: str) -> None:
    """Let corosync itself parse the file (``corosync -t``); raises CommandFailed if bad."""
    runner.run(["corosync", "-t", "-c", host_path])
