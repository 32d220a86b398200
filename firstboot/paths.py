"""Where first boot keeps its state on the appliance (target paths, used through FileSink)."""

from __future__ import annotations

from appliance.paths import ANSWERS, CONFIG_DIR, JOIN_CODE, STATE_DIR

__all__ = ["ANSWERS", "CONFIG_DIR", "JOIN_CODE", "JOURNAL", "LOG", "MEDIA_ANSWERS", "REPORT",
           "SENTINEL", "STATE_DIR", "UNIT_NAME", "UNIT_PATH", "UNIT_WANTS_LINK"]
# Present until a first boot has applied successfully; the unit runs only while it exists.
SENTINEL = f"{STATE_DIR}/firstboot-pending"
JOURNAL = f"{STATE_DIR}/firstboot-journal.json"
REPORT = f"{STATE_DIR}/firstboot-report.json"
LOG = "/var/log/expand/firstboot.log"
# Answers shipped on the DVD (``expandctl iso build --answers``), pre-filling the wizard.
MEDIA_ANSWERS = f"{CONFIG_DIR}/answers.media.toml"
UNIT_NAME = "expand-firstboot.service"
# Shipped by the expand-appliance package (a vendor unit); the kickstart only enables it.
UNIT_PATH = f"/usr/lib/systemd/system/{UNIT_NAME}"
UNIT_WANTS_LINK = f"/etc/systemd/system/multi-user.target.wants/{UNIT_NAME}"
# The network as it was before the network step, until the new one is confirmed (0600): found
# at the start of a run, it means the last one was cut during its confirmation.
NETWORK_SNAPSHOT = f"{STATE_DIR}/network-snapshot.json"
