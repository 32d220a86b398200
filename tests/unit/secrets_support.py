"""Helpers for the secrets tests: answers with awkward passwords, a step with a bug, and the
``expand`` logger put back after a test that ran ``setup_logging`` in-process."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from firstboot.steps import Context, StepPlan
from tests.unit.firstboot_support import EXAMPLES

# A quote and a backslash: JSON and repr() escape them, so a plain search would miss them.
SMTP_PASSWORD = 'sm"tp\\Secret-91'
FENCING_PASSWORD = "fe'nce\\Secret-38"
SECRETS = (SMTP_PASSWORD, FENCING_PASSWORD)


def toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def answers_file(folder: Path) -> Path:
    """examples/answers/primary.toml with the two passwords above."""
    text = (EXAMPLES / "primary.toml").read_text()
    text = text.replace('password = "demo-Smtp-Secret-42"',
                        f"password = {toml_string(SMTP_PASSWORD)}")
    text = text.replace('password = "demo-Ipmi-Secret-17"',
                        f"password = {toml_string(FENCING_PASSWORD)}")
    assert SMTP_PASSWORD in text.replace("\\\\", "\\").replace('\\"', '"')
    path = folder / "primary-awkward.toml"
    path.write_text(text)
    return path


def leaks(text: str) -> list[str]:
    """Every form of either secret found in ``text``: as is, JSON-escaped, repr-escaped."""
    forms = {form for secret in SECRETS
             for form in (secret, secret.replace("\\", "\\\\"),
                          secret.replace('"', '\\"').replace("\\", "\\\\"),
                          repr(secret)[1:-1])}
    found = [form for form in forms if form in text]
    # The distinctive tail, should an escape we did not think of split the secret.
    found += [tail for tail in ("Secret-91", "Secret-38") if tail in text]
    return found


class BuggyStep:
    """A first-boot step whose bug puts both passwords in its exception's message."""

    name = "buggy"
    title = "A step with a bug"
    secret_inputs = False

    def __init__(self, error: type[Exception] = RuntimeError) -> None:
        self.error = error

    def plan(self, ctx: Context) -> StepPlan:
        return StepPlan(detail="would fail")

    def apply(self, ctx: Context) -> StepPlan:
        a = ctx.answers
        raise self.error(f"login {a.smtp.password!r} then fence with {a.fencing.password}")


@contextlib.contextmanager
def expand_logger_restored() -> Iterator[logging.Logger]:
    """The ``expand`` logger put back (added handlers closed) after a test that ran
    ``setup_logging`` in-process."""
    logger = logging.getLogger("expand")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    try:
        yield logger
    finally:
        for handler in list(logger.handlers):
            if handler not in handlers:
                logger.removeHandler(handler)
                handler.close()
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
