"""The namespace lab: two nodes that are namespaces of this host (``lab.nsnode``), their
cluster files written by the lab and their CIB built by it (fast: ~20 s)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from appliance.answers import Answers, load_answers
from appliance.filesink import FileSink
from appliance.joincode import authkey_from_code, new_join_code
from appliance.runner import Runner
from ha import cib, corosync
from ha.fencing import lab_devices
from ha.operations import service_on
from ha.status import ClusterStatus
from lab.nsnode import prepare_node_root
from lab.responder import PORT
from lab.state import REPO, node_runner, power, wait_for

LAB_ANSWERS = REPO / "examples" / "answers" / "primary.toml"
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


def start_nodes(lab_dir: Path, names: list[str], answers: Answers, *, standalone: bool,
                no_fencing: bool, timeout: float) -> ClusterStatus:
    """Power the nodes on (only the primary when standalone), wait for the cluster, push
    the CIB, wait for the VIP and the service."""
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
