"""Test tiers come from the folder: tests/unit, tests/integration, tests/vm."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TIERS = ("unit", "integration", "vm")
REPO = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).relative_to(REPO / "tests").parts
        tier = parts[0] if parts and parts[0] in TIERS else None
        if tier is None:
            raise pytest.UsageError(f"{item.nodeid}: tests live in tests/unit, "
                                    "tests/integration or tests/vm")
        item.add_marker(getattr(pytest.mark, tier))


def pytest_collection_finish(session: pytest.Session) -> None:
    # After -m deselection. The root tiers fail loudly rather than skip: a skipped tier
    # would pass CI silently.
    needs_root = [i.nodeid for i in session.items if i.get_closest_marker("unit") is None]
    if needs_root and os.geteuid() != 0:
        raise pytest.UsageError(f"{len(needs_root)} integration/vm tests need root "
                                f"(first: {needs_root[0]}); run them as root or use -m unit")


@pytest.fixture
def repo() -> Path:
    return REPO
