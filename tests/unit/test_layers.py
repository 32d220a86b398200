"""The top-level folders are the architecture: imports point down (DESIGN.md "Layout").

Every import line counts, a lazy one inside a function too: a layer that reaches up, even
lazily, makes the lower one depend on the upper one's code and data.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# What each top-level package may import (besides itself and third-party code).
ALLOWED: dict[str, set[str]] = {
    "appliance": set(),
    "hardware_profiles": {"appliance"},
    "ha": {"appliance"},
    "pbx": {"appliance"},
    "verify": {"appliance"},
    "tunnel": {"appliance", "verify"},
    "firstboot": {"appliance", "hardware_profiles", "ha", "pbx", "tunnel"},
    "kickstart": {"appliance", "firstboot"},
    "release": {"appliance", "firstboot", "kickstart"},
    "iso": {"appliance", "kickstart", "release"},
    "lab": {"appliance", "hardware_profiles", "ha", "pbx", "tunnel", "verify", "firstboot",
            "kickstart", "release", "iso"},
}
_IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", re.M)


def test_every_package_is_in_the_table() -> None:
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"bench", "tests"}
    assert packages == set(ALLOWED)


def test_imports_point_down() -> None:
    wrong = []
    for package, allowed in ALLOWED.items():
        for path in sorted((REPO / package).rglob("*.py")):
            for name in set(_IMPORT.findall(path.read_text())):
                if name in ALLOWED and name != package and name not in allowed:
                    wrong.append(f"{path.relative_to(REPO)} imports {name}")
    assert wrong == []
