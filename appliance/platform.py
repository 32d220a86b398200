"""Distribution differences in one place: one record per family, chosen from /etc/os-release.

Everything that differs between the RHEL family (Rocky/Alma 9) and Debian 12/13 is a field
of ``Platform`` and lives in ``FAMILIES`` below; steps and tools read ``ctx.platform.X``
instead of testing the family themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from appliance.errors import ExpandError
from appliance.readers import ReadError, read_text

Argv = tuple[str, ...]


@dataclass(frozen=True)
class Platform:
    family: str            # "rhel" or "debian"
    id: str
    version: str
    network_backend: str   # "networkmanager" or "networkd"
    firewall: str          # "firewalld" or "nftables"
    postfix_sasl_package: str
    # Where Cyrus SASL's PLAIN mechanism lands (globs below the root).
    sasl_plugin_globs: tuple[str, ...]
    # The folder the network step writes its files into (networkd units or NM keyfiles).
    network_dir: str
    # What the network step may change (files, or folders taken whole): the safety net
    # snapshots exactly these.
    network_paths: tuple[str, ...]
    # The commands that make the network re-read its files (the safety net's rollback).
    network_restart: tuple[Argv, ...]   # the network step, after writing its files
    network_rollback: tuple[Argv, ...]  # the safety net, after putting the old files back
    # Units the network step enables so its files are used at every boot.
    network_units: tuple[str, ...]
    # The cluster software, as the package manager names it.
    cluster_packages: tuple[str, ...]
    # The time zone is also written here (Debian's tzdata reads it), or "" for none.
    timezone_file: str
    # OpenSSH's server unit (Debian names it ssh.service).
    sshd_unit: str = "sshd.service"

    @property
    def is_rhel(self) -> bool:
        return self.family == "rhel"


RHEL_IDS = ("rhel", "rocky", "almalinux", "centos", "fedora")

# One record per family; ``detect`` copies it with the machine's own ID and version, and
# ``--platform FAMILY`` (a dry run into a bare folder) takes it as it is.
NM_RESTART: tuple[Argv, ...] = (("nmcli", "connection", "reload"),
                                ("nmcli", "networking", "off"), ("nmcli", "networking", "on"))
FAMILIES: dict[str, Platform] = {
    "rhel": Platform(
        family="rhel", id="rocky", version="9",
        network_backend="networkmanager", firewall="firewalld",
        postfix_sasl_package="cyrus-sasl-plain",
        sasl_plugin_globs=("usr/lib64/sasl2/libplain.so*", "usr/lib/sasl2/libplain.so*"),
        network_dir="/etc/NetworkManager/system-connections",
        network_paths=("/etc/NetworkManager/system-connections",
                       "/etc/NetworkManager/conf.d", "/etc/resolv.conf"),
        network_restart=NM_RESTART,
        network_rollback=NM_RESTART,
        network_units=(),
        cluster_packages=("corosync", "pacemaker", "pcs", "resource-agents",
                          "fence-agents-all"),
        timezone_file="",
    ),
    "debian": Platform(
        family="debian", id="debian", version="12",
        network_backend="networkd", firewall="nftables",
        postfix_sasl_package="libsasl2-modules",
        sasl_plugin_globs=("usr/lib/*/sasl2/libplain.so*", "usr/lib/sasl2/libplain.so*"),
        network_dir="/etc/systemd/network",
        network_paths=("/etc/systemd/network", "/etc/resolv.conf",
                       "/etc/systemd/resolved.conf"),
        network_restart=(("systemctl", "restart", "systemd-networkd"),),
        # Not a restart: a restarted networkd no longer owns the unconfirmed address and
        # leaves it on the link; a reload reconfigures the links from the files and drops it.
        # (Not for the first boot's own step: a reload right after networkd started fails
        # with ERANGE on Debian 12, seen in the appliance lab.)
        network_rollback=(("networkctl", "reload"),),
        network_units=("systemd-networkd.service",),
        cluster_packages=("corosync", "pacemaker", "pacemaker-cli-utils", "pcs",
                          "resource-agents", "fence-agents"),
        timezone_file="/etc/timezone",
        sshd_unit="ssh.service",
    ),
}


def for_family(family: str) -> Platform:
    try:
        return FAMILIES[family]
    except KeyError:
        raise ExpandError(f"unknown platform family {family!r}; "
                          f"known: {', '.join(sorted(FAMILIES))}") from None


def parse_os_release(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.startswith("#"):
            fields[key.strip()] = value.strip().strip('"').strip("'")
    return fields


def detect(root: Path = Path("/")) -> Platform:
    path = root / "etc/os-release"
    if not path.exists():
        path = root / "usr/lib/os-release"
    try:
        info = parse_os_release(read_text(path, what="os-release"))
    except ReadError as exc:
        if not exc.missing:
            raise
        raise ExpandError(f"{path}: not found; cannot tell which distribution this is") from exc
    ids = [info.get("ID", ""), *info.get("ID_LIKE", "").split()]
    if any(i in RHEL_IDS for i in ids):
        family = "rhel"
    elif "debian" in ids:
        family = "debian"
    else:
        raise ExpandError(f"{path}: unsupported distribution {info.get('ID', '?')!r}; "
                          "eXpand runs on Rocky/Alma Linux 9 and Debian 12/13")
    return replace(FAMILIES[family], id=info.get("ID", ""), version=info.get("VERSION_ID", ""))
