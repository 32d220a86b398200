"""LAN and interconnect NICs, and DNS: systemd-networkd on Debian, NetworkManager on RHEL.

The virtual IP is never configured here: the cluster resource owns it and moves it.
"""

from __future__ import annotations

import uuid
from ipaddress import IPv4Address

from appliance.errors import ExpandError
from firstboot.actions import Action, EnableUnit, RunCommand, WriteFile
from firstboot.steps.base import Context, PlannedStep, StepPlan

LAN_ID = "expand-lan"
INTERCONNECT_ID = "expand-interconnect"
HEADER = "# {what} (managed by expandctl firstboot; the virtual IP is the cluster's, not here)"


class NetworkStep(PlannedStep):
    name = "network"
    title = "Configuring the LAN and interconnect NICs"

    def plan(self, ctx: Context) -> StepPlan:
        lan, ic = ctx.lan_nic, ctx.interconnect_nic
        if lan is None:
            raise ExpandError("no Ethernet interface found: name the LAN NIC with --lan-nic")
        a = ctx.answers
        lan_addr = f"{a.lan_ip}/{a.network.prefix}"
        ic_addr = f"{a.interconnect_ip}/{a.interconnect.prefix}"
        warnings: list[str] = []
        if ic is None:
            warnings.append(f"only one network interface ({lan}): the HA interconnect is not "
                            "configured (a two-node cluster needs a second NIC)")
        if ctx.platform.network_backend == "networkmanager":
            actions = nm_actions(ctx, lan, lan_addr, ic, ic_addr)
        else:
            actions = networkd_actions(ctx, lan, lan_addr, ic, ic_addr)
            legacy = ctx.sink.read_text("/etc/network/interfaces") or ""
            if any(nic and nic in legacy.split() for nic in (lan, ic)):
                warnings.append("/etc/network/interfaces (ifupdown) also configures a NIC: "
                                "remove it there so systemd-networkd alone owns it")
        detail = f"LAN {lan} {lan_addr}" + (f", interconnect {ic} {ic_addr}" if ic else "")
        return StepPlan(tuple(actions), detail, tuple(warnings))


def networkd_file(what: str, nic: str, address: str, *, gateway: IPv4Address | None = None,
                  dns: tuple[IPv4Address, ...] = (), domain: str = "") -> str:
    lines = [HEADER.format(what=what), "[Match]", f"Name={nic}", "", "[Network]",
             f"Address={address}"]
    if gateway is not None:
        lines.append(f"Gateway={gateway}")
    lines += [f"DNS={d}" for d in dns]
    if domain:
        lines.append(f"Domains={domain}")
    lines += ["LinkLocalAddressing=no", "IPv6AcceptRA=no"]
    if gateway is None:
        lines += ["", "[Link]", "RequiredForOnline=no"]
    return "\n".join(lines) + "\n"


def networkd_actions(ctx: Context, lan: str, lan_addr: str, ic: str | None,
                     ic_addr: str) -> list[Action]:
    net = ctx.answers.network
    actions: list[Action] = [WriteFile(
        f"{ctx.platform.network_dir}/10-{LAN_ID}.network",
        networkd_file("eXpand LAN", lan, lan_addr, gateway=net.gateway, dns=net.dns,
                      domain=net.pbx_domain))]
    if ic:
        actions.append(WriteFile(f"{ctx.platform.network_dir}/20-{INTERCONNECT_ID}.network",
                                 networkd_file("eXpand HA interconnect", ic, ic_addr)))
    # Commands are part of the plan on every target; a dry run's runner only records them.
    actions += [EnableUnit(unit) for unit in ctx.platform.network_units]
    actions += [RunCommand(argv) for argv in ctx.platform.network_restart]
    return actions


def nm_keyfile(conn_id: str, nic: str, address: str, *, gateway: IPv4Address | None = None,
               dns: tuple[IPv4Address, ...] = (), domain: str = "") -> str:
    # A fixed UUID per connection name keeps re-runs (and golden trees) identical.
    conn_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"expand:{conn_id}")
    ipv4 = ["[ipv4]", "method=manual",
            f"address1={address}" + (f",{gateway}" if gateway else "")]
    if dns:
        ipv4 += ["dns=" + "".join(f"{d};" for d in dns), "ignore-auto-dns=true"]
    if domain:
        ipv4.append(f"dns-search={domain};")
    if gateway is None:
        ipv4.append("never-default=true")
    lines = ["[connection]", f"id={conn_id}", f"uuid={conn_uuid}", "type=ethernet",
             f"interface-name={nic}", "autoconnect=true", "autoconnect-priority=100", "",
             "[ethernet]", "", *ipv4, "", "[ipv6]", "method=disabled", ""]
    return "\n".join(lines)


def nm_actions(ctx: Context, lan: str, lan_addr: str, ic: str | None,
               ic_addr: str) -> list[Action]:
    net = ctx.answers.network
    # Keyfiles hold no secret here, but NetworkManager ignores keyfiles not owned by root
    # with mode 0600.
    actions: list[Action] = [WriteFile(
        f"{ctx.platform.network_dir}/{LAN_ID}.nmconnection",
        nm_keyfile(LAN_ID, lan, lan_addr, gateway=net.gateway, dns=net.dns,
                   domain=net.pbx_domain), mode=0o600)]
    if ic:
        actions.append(WriteFile(f"{ctx.platform.network_dir}/{INTERCONNECT_ID}.nmconnection",
                                 nm_keyfile(INTERCONNECT_ID, ic, ic_addr), mode=0o600))
    # Reload the keyfiles, then bring each connection up (a dry run only records these).
    actions += [EnableUnit(unit) for unit in ctx.platform.network_units]
    actions.append(RunCommand(("nmcli", "connection", "reload")))
    actions += [RunCommand(("nmcli", "connection", "up", cid))
                for cid in (LAN_ID, INTERCONNECT_ID if ic else None) if cid]
    return actions


class DnsStep(PlannedStep):
    name = "dns"
    title = "Setting the DNS servers"

    def plan(self, ctx: Context) -> StepPlan:
        net = ctx.answers.network
        servers = ", ".join(str(d) for d in net.dns)
        if ctx.platform.network_backend == "networkmanager":
            return StepPlan((), f"DNS {servers} in the NetworkManager keyfile "
                                "(NetworkManager writes /etc/resolv.conf)")
        if ctx.sink.target("/etc/resolv.conf").is_symlink():
            return StepPlan((), f"DNS {servers} in the .network file "
                                "(/etc/resolv.conf is managed by systemd-resolved)")
        lines = ["# Written by expandctl firstboot"]
        if net.pbx_domain:
            lines.append(f"search {net.pbx_domain}")
        lines += [f"nameserver {d}" for d in net.dns]
        return StepPlan((WriteFile("/etc/resolv.conf", "\n".join(lines) + "\n"),),
                        f"DNS {servers} in /etc/resolv.conf")
