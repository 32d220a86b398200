"""Time zone, host name and /etc/hosts (both nodes, their interconnect names, the VIP)."""

from __future__ import annotations

from firstboot.actions import Action, RunCommand, Symlink, WriteFile
from firstboot.steps.base import Context, PlannedStep, StepPlan

VIP_HOSTNAME = "expand-vip"
INTERCONNECT_SUFFIX = "-ic"   # expand1-ic: the node's name on the HA interconnect
HOSTS_BEGIN = "# BEGIN eXpand cluster (managed by expandctl firstboot)"
HOSTS_END = "# END eXpand cluster"
HOSTS_DEFAULT = ("127.0.0.1\tlocalhost\n"
                 "::1\tlocalhost ip6-localhost ip6-loopback\n")


class TimezoneStep(PlannedStep):
    name = "timezone"
    title = "Setting the time zone"

    def plan(self, ctx: Context) -> StepPlan:
        zone = ctx.answers.timezone
        actions: list[Action] = [Symlink("/etc/localtime", f"../usr/share/zoneinfo/{zone}")]
        if ctx.platform.timezone_file:
            actions.append(WriteFile(ctx.platform.timezone_file, zone + "\n"))
        warnings: tuple[str, ...] = ()
        if ctx.live and not ctx.sink.exists(f"/usr/share/zoneinfo/{zone}"):
            warnings = (f"time zone data for {zone} is not installed (tzdata)",)
        return StepPlan(tuple(actions), f"time zone {zone}", warnings)


class HostnameStep(PlannedStep):
    name = "hostname"
    title = "Setting the host name and /etc/hosts"

    def plan(self, ctx: Context) -> StepPlan:
        name = ctx.answers.hostname
        current = ctx.sink.read_text("/etc/hosts")
        actions: list[Action] = [
            WriteFile("/etc/hostname", name + "\n"),
            WriteFile("/etc/hosts", hosts_text(ctx, current)),
            # The running kernel's name too (a dry run's runner only records it).
            RunCommand(("hostname", name)),
        ]
        return StepPlan(tuple(actions), f"host name {name}")


def cluster_names(ctx: Context) -> list[tuple[str, list[str]]]:
    """(address, names) for the managed block, primary first."""
    a = ctx.answers
    domain = a.network.pbx_domain

    def names(short: str) -> list[str]:
        return [f"{short}.{domain}", short] if domain else [short]

    first, second = a.nodes.primary_hostname, a.nodes.secondary_hostname
    return [
        (str(a.network.primary_ip), names(first)),
        (str(a.network.secondary_ip), names(second)),
        (str(a.network.virtual_ip), names(VIP_HOSTNAME)),
        (str(a.interconnect.primary_address), [first + INTERCONNECT_SUFFIX]),
        (str(a.interconnect.secondary_address), [second + INTERCONNECT_SUFFIX]),
    ]


def hosts_text(ctx: Context, current: str | None) -> str:
    """The current /etc/hosts with the managed block replaced (or added).

    Lines elsewhere naming a cluster host are dropped, and so is Debian's 127.0.1.1 line
    for the installer's host name: the node now has a static address.
    """
    entries = cluster_names(ctx)
    managed = {n for _, names in entries for n in names}
    kept: list[str] = []
    inside = False
    for line in (current if current is not None else HOSTS_DEFAULT).splitlines():
        if line.strip() == HOSTS_BEGIN:
            inside = True
            continue
        if line.strip() == HOSTS_END:
            inside = False
            continue
        fields = line.split("#", 1)[0].split()
        if inside or (fields and (fields[0] == "127.0.1.1" or managed & set(fields[1:]))):
            continue
        kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    block = [HOSTS_BEGIN, *(f"{addr}\t{' '.join(names)}" for addr, names in entries), HOSTS_END]
    return "\n".join([*kept, "", *block]) + "\n"
