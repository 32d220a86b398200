"""Paths on the appliance that more than one package uses (target paths, used through a
FileSink): first boot writes them, ``expandctl ha`` reads them."""

from __future__ import annotations

# The command on an installed box (the product package puts it there; see release/).
EXPANDCTL = "/usr/bin/expandctl"
STATE_DIR = "/var/lib/expand"
CONFIG_DIR = "/etc/expand"
# Answers as applied (never with secrets); --reconfigure and ha add-secondary read them.
ANSWERS = f"{CONFIG_DIR}/answers.toml"
# The primary's join code (0600 root), for a resumed first boot and 'ha join-code'.
JOIN_CODE = f"{STATE_DIR}/cluster-join-code"
