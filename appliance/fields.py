"""The one table of what the first-boot wizard asks: drives answers files, wizard and docs.

Keys are ``section.kebab-name`` as written in answers TOML files (snake_case is accepted too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from appliance import validators as v

REQUIRED: Any = object()
DEFAULT_SUPPORT_NETWORK = "200.40.119.0/24"
# Link-local: never routed, so it cannot clash with any customer LAN, and needs no DHCP.
DEFAULT_INTERCONNECT = "169.254.200.1"
DEFAULT_INTERCONNECT_PREFIX = 30


@dataclass(frozen=True)
class Field:
    key: str
    check: v.Check
    default: Any
    help: str
    secret: bool = False

    @property
    def section(self) -> str:
        return self.key.split(".", 1)[0] if "." in self.key else ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


FIELDS: tuple[Field, ...] = (
    Field("mode", v.choice("primary", "secondary"), REQUIRED,
          "PBX mode: the first node installed is the primary"),
    Field("timezone", v.timezone, "America/Montevideo", "time zone of the appliance"),
    Field("nodes.primary-hostname", v.hostname, "expand1", "host name of the primary node"),
    Field("nodes.secondary-hostname", v.hostname, "expand2", "host name of the secondary node"),
    Field("interconnect.primary-address", v.ipv4, DEFAULT_INTERCONNECT,
          "primary node's address on the dedicated HA interconnect NIC"),
    Field("interconnect.secondary-address", v.ipv4, None,
          "secondary node's interconnect address (default: the next address)"),
    Field("interconnect.prefix", v.prefix, DEFAULT_INTERCONNECT_PREFIX,
          "prefix length of the interconnect network"),
    Field("network.primary-ip", v.ipv4, REQUIRED, "static PBX IP address of the primary node"),
    Field("network.netmask", v.netmask, REQUIRED, "netmask of the LAN"),
    Field("network.gateway", v.ipv4, REQUIRED, "default gateway of the LAN"),
    Field("network.dns", v.dns_list, REQUIRED, "one or two DNS servers"),
    Field("network.pbx-domain", v.domain, "", "PBX domain (normally left empty)"),
    Field("network.secondary-ip", v.ipv4, REQUIRED,
          "IP address of the secondary node (required even without a secondary)"),
    Field("network.virtual-ip", v.ipv4, REQUIRED,
          "floating (service) IP that phones use; held by the active node"),
    Field("smtp.smarthost", v.fqdn_or_ip, REQUIRED, "FQDN of the SMTP smarthost"),
    Field("smtp.port", v.port, 587, "SMTP port of the smarthost"),
    Field("smtp.username", v.email_user, "", "SMTP account (user@domain); empty: no login"),
    Field("smtp.password", v.sasl_secret, "", "SMTP password (never saved, logged or shown)",
          secret=True),
    Field("storage.mode", v.choice("drbd", "san", "none"), "none",
          "shared data: DRBD mirror over the interconnect, a SAN volume, or none"),
    Field("storage.device", v.optional(v.device_path), "",
          "block device under /dev/ (the DRBD backing disk or the SAN volume)"),
    Field("fencing.mode", v.choice("ipmi", "vmware", "sbd", "none"), "none",
          "how a failed node is powered off before the other takes over"),
    Field("fencing.primary-target", v.line, "",
          "the primary's BMC address or host name (ipmi), VM name (vmware) or "
          "shared disk under /dev/ (sbd)"),
    Field("fencing.secondary-target", v.line, "",
          "the secondary's BMC address or host name (ipmi), VM name (vmware) or "
          "shared disk under /dev/ (sbd)"),
    Field("fencing.host", v.optional(v.host_or_ipv4), "",
          "vCenter/ESXi host name or address (vmware fencing)"),
    Field("fencing.username", v.login, "", "fencing login (ipmi, vmware)"),
    Field("fencing.password", v.secret, "", "fencing password (never saved or logged)",
          secret=True),
    Field("cluster.join-code", v.join_code, "",
          "secondary only: the join code shown in the primary's first-boot report "
          "(never saved or logged)", secret=True),
    Field("pbx.site", v.absolute_path_or_empty, "",
          "absolute path of the PBX site file first boot applies (pbx apply); "
          "empty: no PBX configuration"),
    Field("support.enabled", v.boolean, True, "open the reverse support tunnel"),
    Field("support.hub-host", v.fqdn_or_ip, "hub.expand.com.uy", "support hub to connect to"),
    Field("support.hub-port", v.port, 22, "SSH port of the support hub"),
    Field("support.network", v.network, DEFAULT_SUPPORT_NETWORK,
          "network the support engineers come from"),
    Field("support.hub-host-key", v.ssh_host_key, "",
          "the hub's SSH host key, 'TYPE BASE64' (pinned: no other key is accepted); "
          "empty: the tunnel is not started yet"),
    Field("support.forward-port", v.assigned_port, 0,
          "the hub port assigned to this appliance (expandctl support hub-add); "
          "0: not assigned yet"),
)

BY_KEY: dict[str, Field] = {f.key: f for f in FIELDS}
SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(f.section for f in FIELDS if f.section))
