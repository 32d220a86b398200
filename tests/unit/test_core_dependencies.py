"""Declared dependencies: each one is imported by the toolkit, and none is a test tool."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("appliance", "hardware_profiles", "kickstart", "iso", "firstboot", "ha",
            "tunnel", "verify", "pbx", "lab")
# Distribution name → the module it is imported as, where the two differ.
IMPORT_NAMES = {"pythondialog": "dialog", "pytest-testinfra": "testinfra"}


def _declared(group: str | None = None) -> list[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return [re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0] for spec in specs]


def _imported_modules() -> set[str]:
    found: set[str] = set()
    pattern = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_][A-Za-z0-9_]*)", re.M)
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            found.update(pattern.findall(path.read_text()))
    return found


def test_every_declared_dependency_is_imported() -> None:
    imported = _imported_modules()
    unused = [name for name in _declared()
              if IMPORT_NAMES.get(name, name.lower().replace("-", "_")) not in imported]
    assert unused == [], f"declared in pyproject but imported nowhere: {unused}"


def test_an_appliance_carries_no_test_tool() -> None:
    runtime = {name.lower() for name in _declared()}
    assert not runtime & {"pytest", "pytest-testinfra", "hypothesis", "mypy", "ruff"}
    assert "pytest-testinfra" in _declared("verify")
