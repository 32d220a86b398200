"""Start the interactive wizard: gather current facts and pre-fill, open dialog, run.

Kept apart from ``firstboot/cli.py`` (argument parsing) so tests can start the same
wizard with an apply function of their choice.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from appliance.errors import ExpandError
from appliance.readers import read_text
from appliance.runner import Runner
from firstboot.current import RESOLV_CONF, read_facts
from firstboot.engine import recover_network
from firstboot.network_safety import CONFIRM_SECONDS
from firstboot.wizard import ApplyFn, DescribeStep, WizardRun, describe_step
from firstboot.wizard_prefill import initial_state
from firstboot.wizard_ui import DialogUI


@contextlib.contextmanager
def terminal_to_dialog() -> Iterator[None]:
    """Log records on stderr would scribble over dialog's screen: while the wizard runs,
    only the log file (if any) gets them; the report screen shows what matters."""
    handlers = [h for h in logging.getLogger("expand").handlers
                if isinstance(h, logging.StreamHandler) and h.stream is sys.stderr]
    levels = [h.level for h in handlers]
    for handler in handlers:
        handler.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for handler, level in zip(handlers, levels, strict=True):
            handler.setLevel(level)


def require_terminal() -> None:
    """dialog draws on the terminal and reads keys from it: without one it fails midway."""
    for name, stream in (("stdin", sys.stdin), ("stdout", sys.stdout)):
        if stream is None or not stream.isatty():
            raise ExpandError(f"the wizard needs a terminal ({name} is not a tty); "
                              "use --answers FILE for an unattended run")


def is_live(root: Path) -> bool:
    return root.resolve() == Path("/")


def run_interactive(
    root: Path,
    *,
    reconfigure: bool,
    apply_fn: ApplyFn,
    runner: Runner,
    describe: DescribeStep = describe_step,
    confirm_seconds: int | None = None,
) -> int:
    """The wizard on this terminal; returns its exit code (see ``firstboot.wizard``).

    ``confirm_seconds``: the new network's countdown; None: 60 s on this system, none for
    an alternate root; 0: none.
    """
    live = is_live(root)
    if confirm_seconds is None:
        confirm_seconds = CONFIRM_SECONDS if live else 0
    # First of all (before the current facts are read): a run cut during its countdown
    # left a network nobody confirmed.
    restored = recover_network(root, runner)
    notice = "" if restored is None else (
        "The previous network configuration was restored: the last installation was cut "
        "before its new network was confirmed. The installation starts again.")
    # Current facts always come from the machine we run on (read only), even with --root:
    # they are what the technician sees on screen.
    try:
        resolv = read_text(RESOLV_CONF, what="resolver configuration")
    except ExpandError:
        resolv = ""  # no DNS pre-fill; the technician types it
    facts = read_facts(Runner(runner.redactor), resolv)
    state = initial_state(root, facts, reconfigure=reconfigure)
    require_terminal()  # after the pre-fill, so a broken answers file is named first
    wizard = WizardRun(DialogUI(), root, runner, live, apply_fn, describe_step=describe,
                       confirm_seconds=confirm_seconds, notice=notice)
    with terminal_to_dialog():
        return wizard.run(state)
