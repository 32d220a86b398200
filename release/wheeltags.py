"""Which wheels fit the appliance: CPython 3.11 on manylinux x86_64 with glibc <= 2.34.

A wheel's file name carries its tags (PEP 427/425):
``NAME-VERSION[-BUILD]-PYTHON-ABI-PLATFORM.whl``, each tag possibly a '.'-joined set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from appliance.errors import ExpandError

TARGET = "CPython 3.11 on manylinux x86_64 with glibc <= 2.34 (Rocky 9)"
GLIBC_MAX = (2, 34)
# The legacy manylinux names and the glibc each stands for (PEP 600).
_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_PLATFORM = re.compile(r"^(manylinux1|manylinux2010|manylinux2014|manylinux_(\d+)_(\d+))_x86_64$")
_PYTHON = re.compile(r"^(py|cp)(\d)(\d*)$")


@dataclass(frozen=True)
class Wheel:
    filename: str
    name: str       # normalized distribution name (PEP 503)
    version: str
    python: tuple[str, ...]
    abi: tuple[str, ...]
    platform: tuple[str, ...]

    @property
    def tag(self) -> str:
        return "-".join(".".join(t) for t in (self.python, self.abi, self.platform))


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse(filename: str) -> Wheel:
    """The wheel a file name describes; ExpandError when the name is not a wheel's."""
    if not filename.endswith(".whl"):
        raise ExpandError(f"{filename}: not a wheel file name (no .whl)")
    parts = filename[:-4].split("-")
    if len(parts) not in (5, 6) or not all(parts):
        raise ExpandError(f"{filename}: not a wheel file name "
                          "(NAME-VERSION-PYTHON-ABI-PLATFORM.whl)")
    name, version, *_, python, abi, platform = parts
    return Wheel(filename, normalize(name), version, tuple(python.split(".")),
                 tuple(abi.split(".")), tuple(platform.split(".")))


def _python_fits(tag: str) -> bool:
    m = _PYTHON.match(tag)
    if not m:
        return False
    major, minor = int(m.group(2)), int(m.group(3) or 0)
    if m.group(1) == "py":
        return major == 3 and (not m.group(3) or minor <= 11)
    return major == 3 and minor <= 11


def _abi_fits(tag: str, python: tuple[str, ...]) -> bool:
    if tag in ("none", "abi3"):
        return tag == "none" or any(p.startswith("cp3") for p in python)
    return tag == "cp311"


def _platform_fits(tag: str) -> bool:
    if tag == "any":
        return True
    m = _PLATFORM.match(tag)
    if not m:
        return False
    glibc = _LEGACY.get(m.group(1)) or (int(m.group(2)), int(m.group(3)))
    return glibc <= GLIBC_MAX


def fits(wheel: Wheel) -> bool:
    """True when some tag triple of the wheel installs on the appliance."""
    return (any(_python_fits(p) for p in wheel.python)
            and any(_abi_fits(a, wheel.python) for a in wheel.abi)
            and any(_platform_fits(p) for p in wheel.platform))


def check_fits(wheel: Wheel) -> None:
    if not fits(wheel):
        raise ExpandError(f"{wheel.filename}: tag {wheel.tag} does not fit {TARGET}")
