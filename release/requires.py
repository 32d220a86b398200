"""What the product package requires on the installed box: one typed table.

The spec's ``Requires:`` lines are rendered from it; the DVD repository's closure check and
the demo's stand-in packages import it, so the three can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Requirement:
    """One ``Requires:``: any of ``names`` satisfies it (more than one: an rpm boolean)."""

    names: tuple[str, ...]
    why: str
    # Where a release engineer usually finds the package for Rocky 9 (closure messages).
    source: str = "BaseOS/AppStream"

    @property
    def expression(self) -> str:
        """The text after ``Requires:``: a name, or ``(a or b)``."""
        if len(self.names) == 1:
            return self.names[0]
        return "(" + " or ".join(self.names) + ")"


REQUIRES: tuple[Requirement, ...] = (
    Requirement(("python3.11",), "runs the toolkit (its venv in /opt/expand)"),
    Requirement(("dialog",), "the first-boot wizard's screens"),
    Requirement(("postfix",), "mail relay for alerts"),
    Requirement(("cyrus-sasl-plain",), "postfix logs in to the relay host"),
    Requirement(("mdadm",), "the mirrored system disks"),
    Requirement(("openssh-server",), "the support tunnel's sshd"),
    Requirement(("firewalld",), "the appliance firewall"),
    Requirement(("corosync",), "HA membership", "HighAvailability"),
    Requirement(("pacemaker",), "HA resource manager", "HighAvailability"),
    Requirement(("pcs",), "HA cluster set-up", "HighAvailability"),
    Requirement(("fence-agents-all",), "fencing the peer", "HighAvailability"),
    Requirement(("resource-agents",), "the VIP and service agents", "HighAvailability"),
    Requirement(("asterisk",), "the PBX", "the eXpand Asterisk build"),
    Requirement(("drbd9x-utils", "drbd-utils"), "replicated PBX data", "ELRepo"),
)
