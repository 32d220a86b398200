"""First-boot steps, in the order they run. Later issues append theirs (HA, tunnel, PBX)."""

from __future__ import annotations

from firstboot.steps.base import Context, PlannedStep, Step, StepPlan
from firstboot.steps.cluster import ClusterStep
from firstboot.steps.hardware import HardwareStep
from firstboot.steps.network import DnsStep, NetworkStep
from firstboot.steps.pbx import PbxStep
from firstboot.steps.postfix import PostfixStep
from firstboot.steps.sshd import SshdStep
from firstboot.steps.support import SupportStep
from firstboot.steps.system import HostnameStep, TimezoneStep

__all__ = ["Context", "PlannedStep", "Step", "StepPlan", "default_steps"]


def default_steps() -> tuple[Step, ...]:
    """The steps of a first boot; names are journal keys and must stay stable. Support
    comes before the cluster: a box whose cluster step fails can still be reached."""
    return (HardwareStep(), TimezoneStep(), HostnameStep(), NetworkStep(), DnsStep(),
            PostfixStep(), SshdStep(), SupportStep(), ClusterStep(), PbxStep())
