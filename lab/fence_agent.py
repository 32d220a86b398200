"""``fence_expand_lab``: a fence agent that really powers a lab node off.

It speaks the fence-agent protocol: options as ``key=value`` lines on stdin (how
pacemaker-fenced calls it) or ``-o ACTION -n NODE`` on the command line (by hand).
Actions: metadata, monitor, list, status, off, on, reboot. Exit 0 = done/on,
1 = failure, 2 = status "off". The power switch is the lab supervisor, reached over a
unix socket in the lab state dir (nodes cannot signal each other's processes).

Stdlib only: it runs under the system python3 inside a node.
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

DEFAULT_STATE_DIR = "/run/expand-lab"
SOCKET_NAME = "control.sock"
EXIT_OK, EXIT_FAIL, EXIT_OFF = 0, 1, 2

METADATA = """<?xml version="1.0" ?>
<resource-agent name="fence_expand_lab" shortdesc="Fence agent of the eXpand namespace lab">
<longdesc>Powers a lab node off and on through the lab supervisor (expandctl lab).</longdesc>
<vendor-url>https://expand.com.uy</vendor-url>
<parameters>
  <parameter name="action" unique="0" required="0">
    <getopt mixed="-o, --action=[action]"/>
    <content type="string" default="reboot"/>
    <shortdesc lang="en">Fencing action</shortdesc>
  </parameter>
  <parameter name="plug" unique="0" required="0" obsoletes="port">
    <getopt mixed="-n, --plug=[node]"/>
    <content type="string"/>
    <shortdesc lang="en">Lab node to act on</shortdesc>
  </parameter>
  <parameter name="port" unique="0" required="0" deprecated="1">
    <getopt mixed="-n, --plug=[node]"/>
    <content type="string"/>
    <shortdesc lang="en">Lab node to act on</shortdesc>
  </parameter>
  <parameter name="state_dir" unique="0" required="0">
    <getopt mixed="--state-dir=[dir]"/>
    <content type="string" default="/run/expand-lab"/>
    <shortdesc lang="en">Lab state directory holding the supervisor socket</shortdesc>
  </parameter>
</parameters>
<actions>
  <action name="on" automatic="0"/>
  <action name="off"/>
  <action name="reboot"/>
  <action name="status"/>
  <action name="list"/>
  <action name="monitor"/>
  <action name="metadata"/>
  <action name="validate-all"/>
</actions>
</resource-agent>
"""


def request(state_dir: Path, line: str, timeout: float = 30.0) -> str:
    """One request to the lab supervisor; returns its one-line answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(state_dir / SOCKET_NAME))
        sock.sendall(line.encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.decode().strip()


def parse_stdin(text: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            options[key.strip()] = value.strip()
    return options


def options_from(argv: Sequence[str], stdin_text: str) -> dict[str, str]:
    if not argv:
        return parse_stdin(stdin_text)
    parser = argparse.ArgumentParser(prog="fence_expand_lab")
    parser.add_argument("-o", "--action", default="reboot")
    parser.add_argument("-n", "--plug")
    parser.add_argument("--state-dir", default=DEFAULT_STATE_DIR)
    args = parser.parse_args(argv)
    opts = {"action": args.action, "state_dir": args.state_dir}
    if args.plug:
        opts["plug"] = args.plug
    return opts


def run_action(opts: dict[str, str]) -> tuple[int, str]:
    """Returns (exit code, message for stdout/stderr)."""
    action = opts.get("action", "reboot")
    if action == "metadata":
        return EXIT_OK, METADATA
    if action == "validate-all":
        return EXIT_OK, ""
    state_dir = Path(opts.get("state_dir", DEFAULT_STATE_DIR))
    node = opts.get("plug") or opts.get("port") or opts.get("nodename", "")
    try:
        if action in ("monitor", "list"):
            # The device works when the power switch answers.
            if not (state_dir / SOCKET_NAME).exists():
                return EXIT_FAIL, f"lab supervisor socket missing in {state_dir}"
            return EXIT_OK, ""
        if not node:
            return EXIT_FAIL, "no node given (plug=NODE)"
        if action == "status":
            answer = request(state_dir, f"status {node}")
            return (EXIT_OK if answer == "on" else EXIT_OFF), f"Status: {answer.upper()}"
        if action in ("off", "on"):
            # "fence-on": the node boots after the switch's firmware delay (lab.supervisor).
            verb = "fence-on" if action == "on" else "off"
            answers = [request(state_dir, f"{verb} {node}")]
        elif action == "reboot":
            # A node that was already off (``expandctl lab kill``: its power is gone) stays
            # off, so a test decides when it comes back; a running node is power-cycled.
            was_on = request(state_dir, f"status {node}") == "on"
            answers = [request(state_dir, f"off {node}")]
            if was_on:
                answers.append(request(state_dir, f"fence-on {node}"))
        else:
            return EXIT_FAIL, f"unsupported action {action}"
    except OSError as exc:
        return EXIT_FAIL, f"lab supervisor unreachable: {exc}"
    failed = [a for a in answers if a != "ok"]
    return (EXIT_FAIL, "; ".join(failed)) if failed else (EXIT_OK, "Success: done")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    stdin_text = "" if args else sys.stdin.read()
    code, message = run_action(options_from(args, stdin_text))
    if message:
        print(message, file=sys.stdout if code != EXIT_FAIL else sys.stderr)
    return code
