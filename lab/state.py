"""The running lab as its directory records it (``/run/expand-lab``): the state file, the
nodes, their power switch (the supervisor) and the cluster waits both lab kinds share."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.readers import load_json
from appliance.runner import Runner
from appliance.wait import poll
from ha.status import ClusterStatus, read_status
from lab import netns
from lab.fence_agent import SOCKET_NAME, request
from lab.nsnode import LAB_DIR, NodeRunner, read_pid

REPO = Path(__file__).resolve().parents[1]
STATE_NAME = "lab.json"
SUPERVISOR_PID = "supervisor.pid"
SUPERVISOR_START_SECONDS = 10.0
NODE_KEYS = ("name", "netns", "lan_ip")


def is_up(lab_dir: Path = LAB_DIR) -> bool:
    return (lab_dir / STATE_NAME).exists()


def read_state(lab_dir: Path = LAB_DIR) -> dict[str, Any]:
    """The state file ``lab up`` wrote; one ExpandError line naming it when it is broken."""
    path = lab_dir / STATE_NAME
    if not is_up(lab_dir):
        raise ExpandError(f"no lab is up ({path} missing): run 'expandctl lab up'")
    state = load_json(path, what="lab state")
    if not isinstance(state, dict):
        raise ExpandError(f"{path}: expected a JSON object")
    nodes = state.get("nodes")
    if not isinstance(nodes, list) or not all(
            isinstance(n, dict) and all(isinstance(n.get(k), str) for k in NODE_KEYS)
            for n in nodes):
        raise ExpandError(f"{path}: nodes: expected a list of nodes with "
                          f"{', '.join(NODE_KEYS)}")
    if not isinstance(state.get("vip"), str):
        raise ExpandError(f"{path}: vip: expected the virtual IP as a string")
    return state


def write_state(lab_dir: Path, state: dict[str, Any]) -> None:
    FileSink(Path("/")).write(str(lab_dir / STATE_NAME), json.dumps(state, indent=2))


def node_names(lab_dir: Path = LAB_DIR) -> list[str]:
    return [n["name"] for n in read_state(lab_dir)["nodes"]]


def lab_kind(lab_dir: Path = LAB_DIR) -> str:
    return str(read_state(lab_dir).get("kind", "namespace"))


def node_runner(name: str, lab_dir: Path = LAB_DIR) -> NodeRunner:
    if name not in node_names(lab_dir):
        raise ExpandError(f"unknown lab node {name!r}; nodes: {', '.join(node_names(lab_dir))}")
    pid = read_pid(lab_dir, name)
    if pid is None:
        raise ExpandError(f"lab node {name} is powered off: 'expandctl lab revive {name}'")
    return NodeRunner(pid, appliance=lab_kind(lab_dir) == "appliance")


def power(lab_dir: Path, verb: str, name: str) -> str:
    if name not in node_names(lab_dir):
        raise ExpandError(f"unknown lab node {name!r}; nodes: {', '.join(node_names(lab_dir))}")
    answer = request(lab_dir, f"{verb} {name}")
    if answer.startswith("error"):
        raise ExpandError(f"lab supervisor: {answer}")
    return answer


def _supervisor_answers(lab_dir: Path) -> bool:
    with contextlib.suppress(OSError):
        return (lab_dir / SOCKET_NAME).exists() and bool(request(lab_dir, "status x", 2))
    return False


def start_supervisor(lab_dir: Path) -> None:
    """The lab's power switch, as its own session (it outlives this command)."""
    console = open(lab_dir / "supervisor.log", "ab")  # noqa: SIM115 - handed to the child
    subprocess.Popen([sys.executable, "-m", "lab.supervisor", "--lab-dir", str(lab_dir)],
                     stdin=subprocess.DEVNULL, stdout=console, stderr=console,
                     start_new_session=True, cwd=REPO)
    console.close()
    started, _ = poll(lambda: _supervisor_answers(lab_dir), bool,
                      timeout=SUPERVISOR_START_SECONDS, interval=0.05)
    if not started:
        raise ExpandError(f"lab supervisor did not start; see {lab_dir / 'supervisor.log'}")


def wait_for(runner: Runner, what: str, check: Callable[[ClusterStatus], bool],
             timeout: float) -> ClusterStatus:
    """Poll crm_mon until ``check(status)`` is true."""
    seen: list[ClusterStatus] = []  # the last status read, for the timeout message

    def probe() -> ClusterStatus | None:
        with contextlib.suppress(ExpandError):
            seen[:] = [read_status(runner)]
            return seen[0]
        return None

    reached, answer = poll(probe, lambda s: s is not None and check(s), timeout=timeout)
    if reached and answer is not None:
        return answer
    last = seen[0] if seen else None
    raise ExpandError(f"lab: timed out after {timeout:.0f} s waiting for {what}"
                      + (f" (online: {', '.join(last.online())})" if last else ""))


def status(lab_dir: Path = LAB_DIR) -> dict[str, object]:
    if not is_up(lab_dir):
        return {"up": False}
    runner = Runner()
    state = read_state(lab_dir)
    nodes = []
    for node in state["nodes"]:
        name = node["name"]
        addrs = netns.addresses(runner, node["netns"])
        nodes.append({"name": name, "power": "on" if read_pid(lab_dir, name) else "off",
                      "pid": read_pid(lab_dir, name), "lan_ip": node["lan_ip"],
                      "holds_vip": state["vip"] in {str(a) for a in addrs}})
    return {"up": True, "lab_dir": str(lab_dir), "vip": state["vip"],
            "client_netns": state["client_netns"], "nodes": nodes}
