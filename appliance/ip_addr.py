"""Reading ``ip -o -4 addr show``: the lab asks it of a namespace, verify of a box."""

from __future__ import annotations

from ipaddress import IPv4Address


def ipv4_addresses(ip_output: str) -> set[IPv4Address]:
    """The IPv4 addresses in ``ip -o -4 addr show`` output (one ``inet A/P`` per line)."""
    found = set()
    for line in ip_output.splitlines():
        fields = line.split()
        if "inet" in fields:
            found.add(IPv4Address(fields[fields.index("inet") + 1].split("/")[0]))
    return found
