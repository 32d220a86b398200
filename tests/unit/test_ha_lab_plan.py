"""Pure checks of the lab's plan: addresses, interface names, the node holder command."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

from appliance.cli import build_parser
from lab import netns
from lab.nsnode import NodeRunner, holder_argv


def test_addresses_follow_the_test_plan() -> None:
    nodes = netns.default_nodes()
    assert [(n.name, n.lan_ip, n.ic_ip) for n in nodes] == [
        ("expand1", IPv4Address("198.51.100.11"), IPv4Address("203.0.113.1")),
        ("expand2", IPv4Address("198.51.100.12"), IPv4Address("203.0.113.2"))]
    assert IPv4Address("198.51.100.50") == netns.CLIENT_IP


def test_interface_names_fit_the_kernel_limit() -> None:
    for node in netns.default_nodes():
        for link in netns.LINKS:
            assert len(node.port(link)) <= 15
        assert node.netns.startswith(netns.PREFIX)


def test_a_node_gets_its_own_pid_mount_and_uts_namespaces() -> None:
    argv = holder_argv(Path("/run/expand-lab"), "expand1", "xlab-expand1")
    assert argv[:2] == ["nsenter", "--net=/run/netns/xlab-expand1"]
    for flag in ("--mount", "--uts", "--pid", "--fork", "--mount-proc", "--kill-child"):
        assert flag in argv
    assert NodeRunner(1234).prefix() == ["nsenter", "-t", "1234", "-n", "-m", "-u", "-p", "--"]


def test_cli_registers_ha_and_lab_with_examples() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    choices = getattr(sub, "choices", {})
    assert "ha" in choices and "lab" in choices
    assert "expandctl lab kill expand1" in choices["lab"].format_help()


def test_appliance_nodes_get_answers_their_first_boot_accepts(tmp_path: Path) -> None:
    from appliance.answers import load_answers
    from appliance.answers_toml import dump_answers
    from appliance.joincode import new_join_code
    from lab import appliance, control

    answers = control.lab_answers()
    for mode, code in (("primary", ""), ("secondary", new_join_code())):
        lab = appliance.node_answers(answers, mode, code)
        path = tmp_path / f"{mode}.toml"
        assert lab.pbx.site == appliance.SITE_IN_NODE  # written into the node with it
        text = dump_answers(lab, include_secrets=True)
        assert f'site = "{appliance.SITE_IN_NODE}"' in text
        # the node's copy of the site is the example: validated here at the example's path
        path.write_text(text.replace(appliance.SITE_IN_NODE, str(appliance.SITE)))
        loaded = load_answers(path)  # what `expandctl firstboot --answers` validates
        assert loaded.mode == mode and loaded.cluster.join_code == code
        assert loaded.fencing.mode == "none" and loaded.storage.mode == "none"
        assert loaded.network == answers.network and loaded.nodes == answers.nodes


def test_appliance_node_boots_in_its_namespace_with_the_lab_dir() -> None:
    from lab import appliance

    argv = appliance.boot_argv(Path("/run/expand-lab"), "expand1", "xlab-expand1")
    assert argv[:2] == ["systemd-nspawn", "-b"]
    assert "--network-namespace-path=/run/netns/xlab-expand1" in argv
    assert "--bind=/run/expand-lab" in argv  # the fence agent reaches the power switch
    assert argv[argv.index("-D") + 1] == "/run/expand-lab/nodes/expand1/merged"
    runner = NodeRunner(42, appliance=True)
    assert runner.interactive_argv(["hostname"], "/somewhere")[:7] == [
        "nsenter", "-t", "42", "-a", "-r", "-w", "env"]
    assert "--wd=/somewhere" in NodeRunner(42).interactive_argv(["hostname"], "/somewhere")
