"""Bring a lab cluster up and down; every call is its own process (state in
``/run/expand-lab``). Namespace nodes (default): network, node roots, supervisor, nodes,
CIB. Appliance nodes (``kind="appliance"``): network, node disks, supervisor, then each
node boots and runs its own first boot. down → all gone."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from appliance.answers import Answers, load_answers
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.readers import load_json
from appliance.runner import Runner
from ha import cib, corosync
from ha.bootstrap import CIB_WORK_FILE
from ha.fencing import heuristics_from_answers, lab_devices
from ha.joincode import authkey_from_code, new_join_code
from ha.operations import service_on
from ha.status import ClusterStatus, read_status
from lab import appliance, netns, nspawn
from lab.fence_agent import SOCKET_NAME, request
from lab.nsnode import LAB_DIR, NodeRunner, prepare_node_root, read_pid
from lab.responder import PORT
from lab.rootfs import HA_PACKAGES, ensure_rootfs

log = logging.getLogger("expand.lab")

REPO = Path(__file__).resolve().parents[1]
LAB_ANSWERS = REPO / "examples" / "answers" / "primary.toml"
STATE_NAME = "lab.json"


SAN_DIR_NAME = "san"  # the lab's "SAN": a folder both nodes bind-mount (one at a time)


def lab_answers(storage: str = "none", path: Path = LAB_ANSWERS) -> Answers:
    """The example answers with the lab's storage: none, or san (a shared folder)."""
    answers = load_answers(path)
    device = "/dev/disk/by-id/expand-lab-san" if storage == "san" else ""
    return replace(answers, storage=replace(answers.storage, mode=storage, device=device))


def lab_service(answers: Answers) -> cib.ServiceSpec:
    """The stand-in PBX: lab/responder.py through the lab's own OCF agent."""
    return cib.ServiceSpec("pbx", "ocf:expand:responder",
                           (("ip", str(answers.network.virtual_ip)), ("port", str(PORT))),
                           monitor_interval="5s")


def is_up(lab_dir: Path = LAB_DIR) -> bool:
    return (lab_dir / STATE_NAME).exists()


def node_names(lab_dir: Path = LAB_DIR) -> list[str]:
    if not is_up(lab_dir):
        raise ExpandError(f"no lab is up ({lab_dir / STATE_NAME} missing): run 'expandctl lab up'")
    nodes = lab_state(lab_dir).get("nodes")
    if not isinstance(nodes, list) or not all(isinstance(n, dict) and isinstance(n.get("name"), str)
                                              for n in nodes):
        raise ExpandError(f"{lab_dir / STATE_NAME}: nodes: expected a list of named nodes")
    return [n["name"] for n in nodes]


def lab_state(lab_dir: Path = LAB_DIR) -> dict[str, Any]:
    """The state file ``lab up`` wrote; ExpandError naming it when broken."""
    state = load_json(lab_dir / STATE_NAME, what="lab state")
    if not isinstance(state, dict):
        raise ExpandError(f"{lab_dir / STATE_NAME}: expected a JSON object")
    return state


def lab_kind(lab_dir: Path = LAB_DIR) -> str:
    node_names(lab_dir)  # refuses when no lab is up
    return str(lab_state(lab_dir).get("kind", "namespace"))


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


def seed_cib(runner: Runner, lab_dir: Path) -> str:
    """A first CIB with ``dc-deadtime=2s``: a fresh lab cluster then elects its DC in
    seconds instead of waiting the default 20 s."""
    seed = str(lab_dir / "cib-seed.xml")
    cib.new_cib_file(runner, FileSink(Path("/")), seed)
    runner.run(["pcs", "-f", seed, "property", "set", "dc-deadtime=2s"])
    return Path(seed).read_text()


def write_node_config(runner: Runner, lab_dir: Path, names: list[str],
                      answers: Answers, standalone: bool = False) -> None:
    settings = corosync.settings_from_answers(answers)
    # The secondary's key comes from the primary's join code, as on real appliances.
    key = authkey_from_code(new_join_code())
    first_cib = seed_cib(runner, lab_dir)
    for name in names:
        root = prepare_node_root(lab_dir, name)
        sink = FileSink(root)
        # Standalone: the primary starts as a one-node cluster; the secondary's files are
        # what its own first boot would write (two nodes).
        one_node = standalone and name == names[0]
        corosync.write_corosync_conf(sink, corosync.settings_from_answers(
            answers, with_secondary=False) if one_node else settings)
        corosync.install_authkey(sink, key)
        sink.write("/etc/hosts", hosts_text(answers))
        sink.write("/etc/resolv.conf", "# lab node: no DNS server\n")
        sink.write("/var/lib/pacemaker/cib/cib.xml", first_cib, mode=0o600,
                   owner="hacluster", group="haclient")
    agent_dir = lab_dir / "agent"
    agent_dir.mkdir(exist_ok=True)
    link = agent_dir / "fence_expand_lab"
    link.unlink(missing_ok=True)
    link.symlink_to(REPO / "lab" / "fence_expand_lab")
    ocf_dir = lab_dir / "ocf" / "expand"
    ocf_dir.mkdir(parents=True, exist_ok=True)
    ocf_link = ocf_dir / "responder"
    ocf_link.unlink(missing_ok=True)
    ocf_link.symlink_to(REPO / "lab" / "ocf_responder")


def hosts_text(answers: Answers) -> str:
    nodes = answers.nodes
    return (f"127.0.0.1 localhost\n{answers.network.primary_ip} {nodes.primary_hostname}\n"
            f"{answers.network.secondary_ip} {nodes.secondary_hostname}\n")


def start_supervisor(lab_dir: Path) -> None:
    console = open(lab_dir / "supervisor.log", "ab")  # noqa: SIM115 - handed to the child
    subprocess.Popen([sys.executable, "-m", "lab.supervisor", "--lab-dir", str(lab_dir)],
                     stdin=subprocess.DEVNULL, stdout=console, stderr=console,
                     start_new_session=True, cwd=REPO)
    console.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if (lab_dir / SOCKET_NAME).exists() and request(lab_dir, "status x", 2):
                return
        time.sleep(0.05)
    raise ExpandError(f"lab supervisor did not start; see {lab_dir / 'supervisor.log'}")


def wait_for(runner: Runner, what: str, check: Callable[[ClusterStatus], bool],
             timeout: float) -> ClusterStatus:
    """Poll crm_mon until ``check(status)`` is true."""
    deadline = time.monotonic() + timeout
    last: ClusterStatus | None = None
    while time.monotonic() < deadline:
        with contextlib.suppress(ExpandError):
            last = read_status(runner)
            if check(last):
                return last
        time.sleep(0.25)
    raise ExpandError(f"lab: timed out after {timeout:.0f} s waiting for {what}"
                      + (f" (online: {', '.join(last.online())})" if last else ""))


def configure_cluster(lab_dir: Path, first: str, answers: Answers, names: list[str],
                      no_fencing: bool = False) -> None:
    """Build the CIB on the first node with pcs -f on a live copy, then push it."""
    runner = node_runner(first, lab_dir)
    cib_file = str(lab_dir / "cib-build.xml")  # namespace nodes see the host's files
    opts = cib.CibOptions(service=lab_service(answers), dc_deadtime="2s",
                          devices=lab_devices(tuple(names), str(lab_dir)),
                          fs_type="none", fs_options="bind",
                          storage_device=str(lab_dir / SAN_DIR_NAME),
                          no_fencing=no_fencing)
    cib.update_live_cib(runner, FileSink(Path("/")), cib_file,
                        cib.build_steps(answers, cib_file, opts))


def install_appliances(lab_dir: Path, names: list[str], answers: Answers, no_fencing: bool,
                       timeout: float) -> ClusterStatus:
    """Boot each appliance node and run its own unattended first boot (see lab.appliance):
    the primary first; then the lab's fencing and ``ha add-secondary`` there; then the
    secondary with the join code."""
    primary, secondary = names
    runners = {}
    for name in names:
        power(lab_dir, "on", name)
        runners[name] = node_runner(name, lab_dir)
        nspawn.wait_booted(runners[name].run, name,
                           console=appliance.node_base(lab_dir, name) / "console.log")
    first = runners[primary]
    log.info("%s: first boot (primary)", primary)
    appliance.first_boot(first, lab_dir, primary, appliance.node_answers(answers, "primary"))
    code = first.run(["expandctl", "ha", "join-code"]).stdout.strip()
    if no_fencing:
        first.run(["expandctl", "ha", "add-secondary", "--no-fencing"])
    else:
        steps = cib.enable_fencing_steps(CIB_WORK_FILE, lab_devices(tuple(names), str(lab_dir)),
                                         heuristics_from_answers(answers))
        cib.update_live_cib(first, FileSink(appliance.node_root(lab_dir, primary)),
                            CIB_WORK_FILE, steps)
        first.run(["expandctl", "ha", "add-secondary"])
    log.info("%s: first boot (secondary, with the join code)", secondary)
    appliance.first_boot(runners[secondary], lab_dir, secondary,
                         appliance.node_answers(answers, "secondary", code))
    return wait_for(first, "both nodes online, the VIP and the service",
                    lambda s: set(s.online()) == set(names) and s.vip_holder is not None
                    and service_on(s, s.vip_holder), timeout)


def up(count: int = 2, lab_dir: Path = LAB_DIR, timeout: float = 90,
       storage: str = "none", no_fencing: bool = False,
       standalone: bool = False, kind: str = "namespace") -> ClusterStatus:
    if os.geteuid() != 0:
        raise ExpandError("the lab needs root (network namespaces, mounts)")
    if count != 2:
        raise ExpandError("the lab runs exactly 2 nodes (a two-node cluster)")
    if kind == "appliance" and (storage != "none" or standalone):
        raise ExpandError("--appliance nodes run with storage none and both nodes "
                          "(--storage san and --standalone are namespace-lab options)")
    if is_up(lab_dir):
        raise ExpandError(f"a lab is already up ({lab_dir}); 'expandctl lab down' first")
    runner = Runner()
    nodes = netns.default_nodes(count)
    names = [n.name for n in nodes]
    if storage not in ("none", "san"):
        raise ExpandError(f"lab storage {storage!r}: the namespace lab has none or san "
                          "(DRBD needs kernels: the VM lab)")
    leftovers = sorted(ns for ns in netns.existing_netns(runner)
                       if ns.startswith(f"{netns.PREFIX}-"))
    if leftovers:
        raise ExpandError(f"namespaces of an earlier lab are still there ({', '.join(leftovers)})"
                          ": run 'expandctl lab down' first")
    answers = lab_answers(storage)
    # Built before anything else exists: the first time, this is minutes of debootstrap.
    rootfs = ensure_rootfs(packages=HA_PACKAGES, flavor="ha") if kind == "appliance" else None
    lab_dir.mkdir(parents=True, exist_ok=True)
    (lab_dir / SAN_DIR_NAME).mkdir(exist_ok=True)
    try:
        netns.create_network(runner, nodes)
        if rootfs is not None:
            for name in names:
                appliance.prepare_root(lab_dir, name, rootfs, runner)
        else:
            write_node_config(runner, lab_dir, names, answers, standalone)
        state = {"nodes": [{"name": n.name, "lan_ip": str(n.lan_ip), "ic_ip": str(n.ic_ip),
                            "netns": n.netns} for n in nodes],
                 "vip": str(answers.network.virtual_ip), "client_netns": netns.CLIENT_NS,
                 "storage": storage, "kind": kind}
        FileSink(Path("/")).write(str(lab_dir / STATE_NAME), json.dumps(state, indent=2))
        start_supervisor(lab_dir)
        if rootfs is not None:
            return install_appliances(lab_dir, names, answers, no_fencing, timeout)
        running = names[:1] if standalone else names
        for name in running:
            power(lab_dir, "on", name)
        first = node_runner(names[0], lab_dir)
        wait_for(first, f"{', '.join(running)} online",
                 lambda s: s.dc is not None and set(s.online()) == set(running), timeout)
        configure_cluster(lab_dir, names[0], answers, names, no_fencing)
        return wait_for(first, "the VIP and the service to start",
                        lambda s: s.vip_holder is not None and service_on(s, s.vip_holder),
                        timeout)
    except BaseException:
        down(lab_dir)
        raise


def down(lab_dir: Path = LAB_DIR) -> list[str]:
    """Tear everything down; safe to call on a half-built or already-gone lab."""
    runner = Runner()
    done = []
    if (lab_dir / SOCKET_NAME).exists():
        with contextlib.suppress(OSError):
            request(lab_dir, "shutdown", 30)
            done.append("nodes powered off")
    sup_pid = _read_int(lab_dir / "supervisor.pid")
    if sup_pid and _cmdline_has(sup_pid, "lab.supervisor"):
        os.kill(sup_pid, signal.SIGKILL)
        done.append("supervisor stopped")
    for node_dir in (lab_dir / "nodes").glob("*") if (lab_dir / "nodes").is_dir() else []:
        pid = read_pid(lab_dir, node_dir.name)
        if pid and _cmdline_has(pid, "lab.nsnode"):
            os.kill(pid, signal.SIGKILL)  # the node's PID 1: the whole node goes
            done.append(f"{node_dir.name} killed")
    netns.delete_network(runner)
    done.append("namespaces deleted")
    for merged in (lab_dir / "nodes").glob("*/merged") if (lab_dir / "nodes").is_dir() else []:
        if os.path.ismount(merged):  # an appliance node's disk (overlay)
            runner.run(["umount", "-l", str(merged)], check=False)
            done.append(f"{merged.parent.name}'s disk unmounted")
    if lab_dir.exists():
        subprocess.run(["rm", "-rf", "--one-file-system", str(lab_dir)], check=False)
    return done


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _cmdline_has(pid: int, text: str) -> bool:
    try:
        return text.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False


def status(lab_dir: Path = LAB_DIR) -> dict[str, object]:
    runner = Runner()
    state = lab_state(lab_dir) if is_up(lab_dir) else None
    if state is None:
        return {"up": False}
    nodes = []
    try:
        for node in state["nodes"]:
            name = node["name"]
            addrs = netns.addresses(runner, node["netns"])
            nodes.append({"name": name, "power": "on" if read_pid(lab_dir, name) else "off",
                          "pid": read_pid(lab_dir, name), "lan_ip": node["lan_ip"],
                          "holds_vip": state["vip"] in {str(a) for a in addrs}})
        return {"up": True, "lab_dir": str(lab_dir), "vip": state["vip"],
                "client_netns": state["client_netns"], "nodes": nodes}
    except (KeyError, TypeError) as exc:  # a state file from another version, or edited
        raise ExpandError(f"{lab_dir / STATE_NAME}: not a lab state ({exc!r})") from None
