"""The DRBD resource file for ``storage.mode = "drbd"``: the data disk mirrored over the
interconnect, synchronously (protocol C: a write returns only when both disks have it).

``fencing resource-and-stonith`` freezes I/O when the peer is lost until the
crm-fence-peer handler has placed a constraint that keeps the outdated peer from being
promoted; the unfence handler removes it when the resync is done. Split brains are never
resolved by discarding data automatically (no ``after-sb-*`` discard policies).
"""

from __future__ import annotations

from appliance import validators
from appliance.answers import Answers
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from ha.cib import DRBD_DEVICE, DRBD_RESOURCE

RES_PATH = f"/etc/drbd.d/{DRBD_RESOURCE}.res"
PORT = 7789


def _checked(check: validators.Check, value: str, key: str) -> str:
    """The validated shape again: a value that reached here some other way than through
    the answers' checks must not open a block or end a statement in the resource file."""
    _, problem = check(value)
    if problem or value != value.strip():
        raise ExpandError(f"{key}: {problem or 'has blanks around it'}: not written to {RES_PATH}")
    return value


def render_drbd_res(answers: Answers) -> str:
    ic = answers.interconnect
    disk = _checked(validators.device_path, answers.storage.device, "storage.device")
    hosts = ((_checked(validators.hostname, answers.nodes.primary_hostname,
                       "nodes.primary-hostname"), ic.primary_address, 0),
             (_checked(validators.hostname, answers.nodes.secondary_hostname,
                       "nodes.secondary-hostname"), ic.secondary_address, 1))
    lines = [
        "# Written by expandctl (ha/drbd.py); identical on both nodes.",
        f"resource {DRBD_RESOURCE} {{",
        "    net {",
        "        protocol C;",
        "        fencing resource-and-stonith;",
        "    }",
        "    handlers {",
        '        fence-peer "/usr/lib/drbd/crm-fence-peer.9.sh";',
        '        after-resync-target "/usr/lib/drbd/crm-unfence-peer.9.sh";',
        "    }",
    ]
    for name, address, node_id in hosts:
        lines += [
            f"    on {name} {{",
            f"        node-id {node_id};",
            f"        device {DRBD_DEVICE};",
            f'        disk "{disk}";',  # quoted: drbd.conf's string syntax
            f"        address {address}:{PORT};",
            "        meta-disk internal;",
            "    }",
        ]
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_drbd_res(sink: FileSink, answers: Answers) -> bool:
    return sink.write(RES_PATH, render_drbd_res(answers), mode=0o644)
