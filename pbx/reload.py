"""Which Asterisk reloads a changed file needs, and which changes only a restart can apply.

Pure: ``select(changed)`` maps the names of changed files (relative to /etc/asterisk, or
an absolute path outside it) to the CLI reloads, in a fixed order, and to the files that no
reload applies. A file read at call time (the PIN file, the fax mailer) needs nothing.
Anything not listed here is treated as restart-required: a reload we cannot name is never
guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pbx.render import DAHDI_SYSTEM
from pbx.render_dialplan import FAX_SCRIPT, PIN_FILE

# File → the `asterisk -rx` command that makes the running Asterisk read it again.
RELOADS: Mapping[str, str] = {
    "pjsip.conf": "module reload res_pjsip.so",
    "pjsip_notify.conf": "module reload res_pjsip_notify.so",
    "extensions.conf": "dialplan reload",
    "queues.conf": "module reload app_queue.so",
    "voicemail.conf": "module reload app_voicemail.so",
    "musiconhold.conf": "module reload res_musiconhold.so",
    "res_fax.conf": "module reload res_fax.so",
    "logger.conf": "logger reload",
}
# Read when a call uses them: a new file is live as soon as the symlink points at it.
AT_CALL_TIME = frozenset({PIN_FILE, FAX_SCRIPT})
# Why a file cannot be reloaded (the report says it).
RESTART_ONLY: Mapping[str, str] = {
    "chan_dahdi.conf": "DAHDI signalling is read when chan_dahdi loads",
    DAHDI_SYSTEM: "DAHDI spans are configured by dahdi_cfg before Asterisk starts",
    "modules.conf": "which modules load is decided at start",
    "asterisk.conf": "Asterisk's directories and options are read at start",
}


@dataclass(frozen=True)
class Selection:
    reloads: tuple[str, ...]  # CLI commands, each once, in RELOADS order
    restart: tuple[str, ...]  # "file: why" for every change no reload applies

    @property
    def restart_required(self) -> bool:
        return bool(self.restart)


def select(changed: Iterable[str]) -> Selection:
    names = set(changed)
    reloads = tuple(dict.fromkeys(cmd for name, cmd in RELOADS.items() if name in names))
    restart = []
    for name in sorted(names):
        if name in RELOADS or name in AT_CALL_TIME:
            continue
        why = RESTART_ONLY.get(name, "no reload of it is known")
        restart.append(f"{name}: {why}")
    return Selection(reloads, tuple(restart))
