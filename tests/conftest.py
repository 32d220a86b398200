"""Test tiers come from the folder: tests/unit, tests/integration, tests/vm."""

from __future__ import annotations

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


@pytest.fixture
def repo() -> Path:
    return REPO
