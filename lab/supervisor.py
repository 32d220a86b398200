"""The lab's power switch: one host process that owns every node's holder process.

A node is a namespace node (``lab.nsnode``) or, with ``"kind": "appliance"`` in the lab
state, a booted systemd-nspawn container (``lab.appliance``). Nodes cannot power each
other off themselves (a node's PID namespace cannot see a
sibling's processes), so the lab fence agent and ``expandctl lab kill/revive`` ask this
process over a unix socket (``LAB_DIR/control.sock``, reachable from inside the nodes):

    request:  "on NODE" | "off NODE" | "status NODE" | "fence-on NODE" | "shutdown"
    answer:   "ok" | "on" | "off" | "error MESSAGE"

"fence-on" is the fence agent's power-on: an appliance node boots ``FIRMWARE_S`` later
(answered "ok" at once), as a real server runs its firmware for a minute or more after its
controller powers it on. Booting at once (what "on" does) put the fenced node's whole boot
on the survivor's two cores exactly while the survivor started Asterisk (bench/failover.py
--appliance: VIP → first SIP answer ~4 s with it, ~1.2 s without; sip_median_s 9.02 →
5.36 with the settle wait there). Namespace nodes boot at once.

Run as ``python -m lab.supervisor --lab-dir DIR`` (``expandctl lab up`` starts it).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from ipaddress import IPv4Address
from pathlib import Path

from appliance.runner import Runner
from lab import appliance, netns, procs
from lab.fence_agent import SOCKET_NAME
from lab.nsnode import LAB_DIR, holder_argv, pid_file
from lab.nspawn import wait_for_leader
from lab.state import STATE_NAME
from lab.teardown import SUPERVISOR_RECORD, node_record

log = logging.getLogger("expand.lab")
FIRMWARE_S = 15.0


def load_nodes(lab_dir: Path) -> dict[str, netns.LabNode]:
    state = json.loads((lab_dir / STATE_NAME).read_text())
    return {n["name"]: netns.LabNode(n["name"], IPv4Address(n["lan_ip"]), IPv4Address(n["ic_ip"]))
            for n in state["nodes"]}


class Supervisor:
    def __init__(self, lab_dir: Path, runner: Runner) -> None:
        self.lab_dir = lab_dir
        self.runner = runner
        self.nodes = load_nodes(lab_dir)
        self.appliance = json.loads((lab_dir / STATE_NAME).read_text()).get("kind") == "appliance"
        self.holders: dict[str, subprocess.Popen[bytes]] = {}
        self.inits: dict[str, int] = {}
        self.lock = threading.Lock()  # requests and delayed fence power-ons, one at a time
        self.pending: dict[str, threading.Timer] = {}  # fence power-ons still in "firmware"

    def is_on(self, name: str) -> bool:
        holder = self.holders.get(name)
        return holder is not None and holder.poll() is None

    def power_on(self, name: str) -> None:
        if self.is_on(name):
            return
        node = self.nodes[name]
        netns.power_links(self.runner, node, on=True)
        console = open(self.lab_dir / "nodes" / name / "console.log", "ab")  # noqa: SIM115
        argv = (appliance.boot_argv(self.lab_dir, name, node.netns) if self.appliance
                else holder_argv(self.lab_dir, name, node.netns))
        holder = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=console,
                                  stderr=console)
        console.close()
        self.holders[name] = holder
        # Recorded at once: 'lab down' ends them even if this process dies.
        started = {"holder": procs.record(holder.pid)}
        procs.save(node_record(self.lab_dir, name), started)
        self.inits[name] = wait_for_leader(holder.pid)
        procs.save(node_record(self.lab_dir, name),
                   {**started, "init": procs.record(self.inits[name])})
        pid_file(self.lab_dir, name).write_text(f"{self.inits[name]}\n")
        log.info("%s powered on (pid 1 = host pid %d)", name, self.inits[name])

    def power_off(self, name: str) -> None:
        holder = self.holders.pop(name, None)
        init = self.inits.pop(name, None)
        if holder is not None:
            if init is not None:
                # SIGKILL of a PID namespace's init kills every process in it at once.
                os.kill(init, signal.SIGKILL)
            holder.kill()
            holder.wait()
        pid_file(self.lab_dir, name).unlink(missing_ok=True)
        node_record(self.lab_dir, name).unlink(missing_ok=True)
        netns.power_links(self.runner, self.nodes[name], on=False)
        log.info("%s powered off", name)

    def fence_on_later(self, name: str) -> None:
        self.cancel_pending(name)
        timer = threading.Timer(FIRMWARE_S, self.pending_boot, (name,))
        timer.daemon = True
        self.pending[name] = timer
        timer.start()

    def cancel_pending(self, name: str) -> None:
        """Any later power request supersedes a fence power-on still in "firmware" (else a
        node killed again would come back on its own from the earlier fence)."""
        timer = self.pending.pop(name, None)
        if timer is not None:
            timer.cancel()

    def pending_boot(self, name: str) -> None:
        with self.lock:
            if self.pending.pop(name, None) is None:
                return  # superseded meanwhile
            try:
                self.power_on(name)
            except Exception:  # a failed delayed boot is logged; the lab stays up
                log.exception("delayed power-on of %s failed", name)

    def handle(self, line: str) -> str:
        words = line.split()
        if not words:
            return "error empty request"
        verb, args = words[0], words[1:]
        if verb == "shutdown":
            for name in list(self.pending):
                self.cancel_pending(name)
            for name in list(self.holders):
                self.power_off(name)
            return "ok"
        if len(args) != 1 or args[0] not in self.nodes:
            return f"error unknown node {' '.join(args)!r}; nodes: {', '.join(self.nodes)}"
        name = args[0]
        if verb in ("on", "off", "fence-on"):
            self.cancel_pending(name)
        if verb == "on":
            self.power_on(name)
            return "ok"
        if verb == "fence-on":
            if not self.appliance:
                self.power_on(name)
                return "ok"
            self.fence_on_later(name)
            return "ok"
        if verb == "off":
            self.power_off(name)
            return "ok"
        if verb == "status":
            return "on" if self.is_on(name) else "off"
        return f"error unknown request {verb!r}"

    def serve(self) -> None:
        path = self.lab_dir / SOCKET_NAME
        path.unlink(missing_ok=True)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind(str(path))
            server.listen(16)
            procs.save(self.lab_dir / SUPERVISOR_RECORD, {"supervisor": procs.record(os.getpid())})
            while True:
                conn, _ = server.accept()
                with conn:
                    line = conn.makefile().readline().strip()
                    try:
                        with self.lock:
                            answer = self.handle(line)
                    except Exception as exc:  # one bad request must not stop the lab
                        log.exception("request %r failed", line)
                        answer = f"error {exc}"
                    conn.sendall(answer.encode() + b"\n")
                if line == "shutdown":
                    break
        path.unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lab.supervisor")
    parser.add_argument("--lab-dir", type=Path, default=LAB_DIR)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("expand").setLevel(logging.INFO)
    Supervisor(args.lab_dir, Runner()).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
