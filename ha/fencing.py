"""Stonith devices from the answers: one device per node, each able to power off one node.

Fence race: when the interconnect and the LAN fail together, both nodes are quorate
(``two_node``) and each tries to fence the other. The device that fences the **primary**
carries ``pcmk_delay_base``: the secondary's attempt to shoot the primary waits, the
primary's attempt to shoot the secondary fires at once, so the primary survives a
symmetric split. (A device never fences its own target's node: it is banned there.)

A delay alone lets the wrong node win when the *active* node loses its LAN: cut off,
it still reaches its BMC and may shoot the healthy peer first, leaving the VIP on a
node no phone can reach. So every fencing level starts with ``fence_heuristics_ping``
on the LAN gateway (the first boot already insists the gateway answers ping): a node
that cannot see the gateway may not fence at all, and the connected node wins.

Passwords never reach argv: the device is created without one and the password is
merged into the CIB afterwards through ``cibadmin --modify --xml-pipe`` on stdin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

from appliance import validators
from appliance.answers import Answers
from appliance.errors import ExpandError

PRIMARY_DELAY = "5s"
LAB_AGENT = "fence_expand_lab"
HEURISTICS_ID = "fence-gateway-check"
HEURISTICS_AGENT = "fence_heuristics_ping"


@dataclass(frozen=True)
class StonithDevice:
    resource_id: str
    agent: str
    target_node: str
    params: tuple[tuple[str, str], ...]
    delay_base: str | None = None
    password: str = field(default="", repr=False)

    def password_xml(self) -> str:
        """The CIB fragment that adds the password; only ever given to cibadmin on stdin."""
        rid = self.resource_id
        return (f'<primitive id={quoteattr(rid)}>'
                f'<instance_attributes id={quoteattr(rid + "-instance_attributes")}>'
                f'<nvpair id={quoteattr(rid + "-instance_attributes-password")} '
                f'name="password" value={quoteattr(self.password)}/>'
                f'</instance_attributes></primitive>')


def device_id(node: str) -> str:
    return f"fence-{node}"


# What each answer must look like before it becomes an agent parameter (pcs argv, then the
# CIB): the answers' own checks, asked again so that nothing else reaches pcs.
TARGET_CHECKS: dict[str, validators.Check] = {
    "ipmi": validators.host_or_ipv4, "vmware": validators.vm_name, "sbd": validators.device_path,
}


def _shape(check: validators.Check, value: str, key: str) -> str:
    _, problem = check(value)
    if problem:
        raise ExpandError(f"fencing.{key}: {problem}")
    return value


def devices_from_answers(answers: Answers) -> tuple[StonithDevice, ...]:
    """The production devices; raises when the answers chose no fencing (the caller then
    needs an explicit ``--no-fencing``) or a value is not what its mode needs."""
    fencing = answers.fencing
    if fencing.mode in TARGET_CHECKS:
        check = TARGET_CHECKS[fencing.mode]
        _shape(check, fencing.primary_target, "primary-target")
        _shape(check, fencing.secondary_target, "secondary-target")
    if fencing.mode in ("ipmi", "vmware"):
        _shape(validators.login, fencing.username, "username")
    if fencing.mode == "vmware":
        _shape(validators.host_or_ipv4, fencing.host, "host")
    primary, secondary = answers.nodes.primary_hostname, answers.nodes.secondary_hostname
    targets = ((primary, fencing.primary_target, PRIMARY_DELAY),
               (secondary, fencing.secondary_target, None))
    devices = []
    for node, target, delay in targets:
        params: list[tuple[str, str]]
        if fencing.mode == "ipmi":
            agent = "fence_ipmilan"
            params = [("ip", target), ("username", fencing.username), ("lanplus", "1")]
        elif fencing.mode == "vmware":
            agent = "fence_vmware_soap"
            params = [("ip", fencing.host), ("username", fencing.username),
                      ("plug", target), ("ssl", "1"), ("ssl_insecure", "1")]
        elif fencing.mode == "sbd":
            agent = "fence_sbd"
            params = [("devices", target)]
        else:
            raise ExpandError("fencing.mode is none: a cluster without fencing can lose data "
                              "in a split; choose ipmi, vmware or sbd, or pass --no-fencing")
        params.append(("pcmk_host_list", node))
        password = fencing.password if fencing.mode in ("ipmi", "vmware") else ""
        devices.append(StonithDevice(device_id(node), agent, node, tuple(params), delay,
                                     password))
    return tuple(devices)


def lab_devices(nodes: tuple[str, ...], state_dir: str,
                primary_delay: str = "1s") -> tuple[StonithDevice, ...]:
    """Devices of the namespace lab: ``fence_expand_lab`` powers a lab node off for real."""
    return tuple(
        StonithDevice(device_id(node), LAB_AGENT, node,
                      (("plug", node), ("state_dir", state_dir), ("pcmk_host_list", node)),
                      primary_delay if index == 0 else None)
        for index, node in enumerate(nodes))


@dataclass(frozen=True)
class GatewayHeuristics:
    """``fence_heuristics_ping`` in front of every device: fence only if the gateway answers.

    One probe with a one-second timeout: the check costs a round trip on a healthy LAN
    (the failover budget is seconds) and a lost probe only means pacemaker retries.
    """

    gateway: str
    nodes: tuple[str, ...]
    resource_id: str = HEURISTICS_ID

    def params(self) -> tuple[tuple[str, str], ...]:
        return (("ping_targets", self.gateway), ("ping_count", "1"),
                ("ping_good_count", "1"), ("ping_timeout", "1"),
                ("pcmk_host_list", " ".join(self.nodes)))


def heuristics_from_answers(answers: Answers) -> GatewayHeuristics:
    return GatewayHeuristics(str(answers.network.gateway),
                             (answers.nodes.primary_hostname, answers.nodes.secondary_hostname))
