"""Errors that the CLI turns into a clear message and a non-zero exit code."""

from __future__ import annotations


class ExpandError(Exception):
    """A problem the user can act on; the message is shown as is."""
