"""The systemd oneshot unit that runs the wizard on tty1 at first boot."""

from __future__ import annotations

from firstboot.paths import SENTINEL


def unit_text(expandctl: str = "/usr/bin/expandctl") -> str:
    """The unit; ``expandctl``: the command's path (the product package's wrapper)."""
    # ConditionPathExists: the unit is a no-op once a first boot succeeded and removed the
    # sentinel, even if something re-enables it. Before=getty@tty1 keeps the login prompt
    # from fighting the wizard for the console.
    return f"""[Unit]
Description=eXpand first-boot configuration wizard
After=network-online.target systemd-user-sessions.service
Wants=network-online.target
Before=getty@tty1.service
ConditionPathExists={SENTINEL}

[Service]
Type=oneshot
ExecStart={expandctl} firstboot
StandardInput=tty
StandardOutput=tty
StandardError=journal
TTYPath=/dev/tty1
TTYReset=yes
TTYVHangup=yes
Environment=TERM=linux
TimeoutStartSec=0

[Install]
WantedBy=multi-user.target
"""
