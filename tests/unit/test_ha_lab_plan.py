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
