"""The package as data (pure): name, version, payload, Requires and install scripts; the
spec is rendered from it (expand-appliance.spec.j2)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from appliance.errors import ExpandError
from appliance.paths import EXPANDCTL
from firstboot.paths import UNIT_NAME, UNIT_PATH
from firstboot.unit import unit_text
from release.requires import REQUIRES, Requirement
from release.wheeltags import Wheel

NAME = "expand-appliance"
ARCH = "x86_64"
VENV = "/opt/expand"
WHEEL_DIR = "/usr/share/expand/wheels"
COMMAND = EXPANDCTL
PYTHON = "python3.11"
TEMPLATE = Path(__file__).with_name("expand-appliance.spec.j2")
# rpm's Release: no '-', no whitespace (it ends the NVR).
_RELEASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+~]{0,39}$")


@dataclass(frozen=True)
class PackagePlan:
    version: str
    release: str
    wheels: tuple[Wheel, ...]   # every wheel in the payload, pip's included
    toolkit: Wheel
    pip: Wheel
    changelog_date: str         # "Tue Dec 01 2026": rpm's %changelog format
    requires: tuple[Requirement, ...] = REQUIRES

    @property
    def filename(self) -> str:
        return f"{NAME}-{self.version}-{self.release}.{ARCH}.rpm"

    @property
    def installed(self) -> tuple[Wheel, ...]:
        """What %post installs into the venv: all but pip (it only runs the install)."""
        return tuple(w for w in self.wheels if w is not self.pip)

    @property
    def files(self) -> tuple[str, ...]:
        """Every path the package owns."""
        return (COMMAND, UNIT_PATH, "/usr/share/expand", WHEEL_DIR,
                *(f"{WHEEL_DIR}/{w.filename}" for w in self.wheels))


def check_release(release: str) -> None:
    if not _RELEASE.match(release):
        raise ExpandError(f"--release {release!r}: use letters, digits and . _ + ~ "
                          "(no '-'), such as 1 or 2.el9")


def plan_package(version: str, release: str, wheels: Sequence[Wheel], *,
                 toolkit_name: str, changelog_date: str) -> PackagePlan:
    check_release(release)
    by_name = {w.name: w for w in wheels}
    for needed in (toolkit_name, "pip"):
        if needed not in by_name:
            raise ExpandError(f"the package's wheels lack {needed}")
    return PackagePlan(version, release, tuple(sorted(wheels, key=lambda w: w.filename)),
                       by_name[toolkit_name], by_name["pip"], changelog_date)


def wrapper_text() -> str:
    return ("#!/bin/sh\n"
            "# eXpand: the toolkit lives in its own venv, filled by the package's %post.\n"
            f'exec {VENV}/bin/expandctl "$@"\n')


def post_script(plan: PackagePlan) -> str:
    """Install (or, on upgrade, reinstall) the bundled wheels offline into the venv."""
    wheels = " \\\n    ".join(f"{WHEEL_DIR}/{w.filename}" for w in plan.installed)
    return f"""\
set -e
# --without-pip: the venv needs no ensurepip; the bundled pip wheel runs the install.
if [ ! -x {VENV}/bin/python3 ]; then
    {PYTHON} -m venv --without-pip {VENV}
fi
# --force-reinstall: an upgrade with the same versions still gets this build's files.
{VENV}/bin/python3 {WHEEL_DIR}/{plan.pip.filename}/pip install --isolated --no-index \\
    --no-deps --force-reinstall --no-warn-script-location --disable-pip-version-check -q \\
    {wheels}
"""


def preun_script() -> str:
    return f"""\
if [ "$1" -eq 0 ]; then
    systemctl --no-reload disable {UNIT_NAME} >/dev/null 2>&1 || :
fi
"""


def postun_script() -> str:
    # On erase only ($1 = 0): an upgrade's old package leaves the new one's venv alone.
    return f"""\
if [ "$1" -eq 0 ]; then
    rm -rf {VENV}
fi
"""


def sources() -> dict[str, str]:
    """The payload's text files, by their SOURCE name."""
    return {"expandctl": wrapper_text(), UNIT_NAME: unit_text(COMMAND)}


def spec_text(plan: PackagePlan) -> str:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             autoescape=False)
    template = env.from_string(TEMPLATE.read_text())
    return template.render(
        name=NAME, plan=plan, arch=ARCH, command=COMMAND, unit_path=UNIT_PATH,
        unit_name=UNIT_NAME, wheel_dir=WHEEL_DIR, python=PYTHON,
        post=post_script(plan), preun=preun_script(), postun=postun_script())
