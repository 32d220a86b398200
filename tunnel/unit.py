"""The systemd unit of the tunnel daemon."""

from __future__ import annotations

from appliance.paths import EXPANDCTL

UNIT_NAME = "expand-tunnel.service"


def unit_text(expandctl: str = EXPANDCTL) -> str:
    # Type=simple: boot never waits for the hub. The watchdog is fed only while the
    # forward is verified (an answered keepalive) or the support window is closed, so a
    # daemon wedged in any state is restarted; StartLimitIntervalSec=0: never give up.
    return f"""[Unit]
Description=eXpand support tunnel (reverse SSH forward to the support hub)
After=network-online.target sshd.service ssh.service
Wants=network-online.target
StartLimitIntervalSec=0

[Service]
Type=simple
ExecStart={expandctl} tunnel run
Restart=always
RestartSec=5s
WatchdogSec=60s
NotifyAccess=main
RuntimeDirectory=expand
RuntimeDirectoryPreserve=yes
StateDirectory=expand
NoNewPrivileges=yes
PrivateTmp=yes
ProtectHome=yes

[Install]
WantedBy=multi-user.target
"""
