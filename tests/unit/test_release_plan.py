"""The package plan (pure): Requires, files, the install scripts and the spec text."""

from __future__ import annotations

import subprocess

import pytest

from appliance.errors import ExpandError
from firstboot.paths import UNIT_PATH
from release.plan import (
    COMMAND,
    VENV,
    WHEEL_DIR,
    PackagePlan,
    plan_package,
    post_script,
    postun_script,
    preun_script,
    sources,
    spec_text,
)
from release.requires import REQUIRES
from release.wheeltags import parse

pytestmark = pytest.mark.unit

WHEELS = [parse(n) for n in (
    "expand_appliance-3.2.0-py3-none-any.whl", "pip-26.3-py3-none-any.whl",
    "jinja2-3.1.6-py3-none-any.whl",
    "cryptography-50.0.2-cp311-abi3-manylinux_2_34_x86_64.whl")]


def _plan(release: str = "1") -> PackagePlan:
    return plan_package("3.2.0", release, WHEELS, toolkit_name="expand-appliance",
                        changelog_date="Tue Dec 01 2026")


def test_requires_cover_what_the_appliance_drives() -> None:
    names = {n for r in REQUIRES for n in r.names}
    for needed in ("python3.11", "dialog", "postfix", "cyrus-sasl-plain", "mdadm",
                   "openssh-server", "firewalld", "corosync", "pacemaker", "pcs",
                   "fence-agents-all", "resource-agents", "asterisk", "drbd9x-utils"):
        assert needed in names
    drbd = next(r for r in REQUIRES if "drbd9x-utils" in r.names)
    assert drbd.expression == "(drbd9x-utils or drbd-utils)" and drbd.source == "ELRepo"
    assert all(r.why for r in REQUIRES)


def test_files_and_name() -> None:
    plan = _plan("2")
    assert plan.filename == "expand-appliance-3.2.0-2.x86_64.rpm"
    assert plan.files[:2] == (COMMAND, UNIT_PATH)
    assert UNIT_PATH == "/usr/lib/systemd/system/expand-firstboot.service"
    assert f"{WHEEL_DIR}/pip-26.3-py3-none-any.whl" in plan.files
    assert plan.pip.name == "pip" and plan.pip not in plan.installed
    assert plan.toolkit in plan.installed and len(plan.installed) == 3


def test_post_makes_the_venv_without_ensurepip_and_installs_offline() -> None:
    text = post_script(_plan())
    assert f"python3.11 -m venv --without-pip {VENV}" in text
    assert f"if [ ! -x {VENV}/bin/python3 ]" in text  # an upgrade keeps the venv
    assert f"{WHEEL_DIR}/pip-26.3-py3-none-any.whl/pip install --isolated --no-index" in text
    assert "--force-reinstall" in text and "--no-deps" in text
    assert f"{WHEEL_DIR}/expand_appliance-3.2.0-py3-none-any.whl" in text
    assert f"{WHEEL_DIR}/pip-26.3-py3-none-any.whl \\" not in text  # pip only runs it
    subprocess.run(["sh", "-n", "-c", text], check=True)


def test_erase_scripts_act_only_on_erase() -> None:
    for text in (preun_script(), postun_script()):
        assert text.startswith('if [ "$1" -eq 0 ]; then')
        subprocess.run(["sh", "-n", "-c", text], check=True)
    assert f"rm -rf {VENV}" in postun_script()


def test_sources_wrapper_and_unit() -> None:
    files = sources()
    assert files["expandctl"].startswith("#!/bin/sh\n")
    assert f'exec {VENV}/bin/expandctl "$@"' in files["expandctl"]
    assert "ExecStart=/usr/bin/expandctl firstboot\n" in files["expand-firstboot.service"]


def test_spec_text() -> None:
    spec = spec_text(_plan("3"))
    lines = spec.splitlines()
    assert "Version:        3.2.0" in lines and "Release:        3" in lines
    assert "ExclusiveArch:  x86_64" in lines
    requires = [line.split(":", 1)[1].strip() for line in lines
                if line.startswith("Requires:")]
    assert requires == [r.expression for r in REQUIRES]
    assert "Requires(post): python3.11" in lines
    for index, wheel in enumerate(sorted(w.filename for w in WHEELS), start=2):
        assert any(line.startswith(f"Source{index}:") and line.endswith(wheel)
                   for line in lines)
        assert f"{WHEEL_DIR}/{wheel}" in lines  # in %files
    for section in ("%post", "%preun", "%postun", "%files", "%changelog"):
        assert section in lines
    assert "* Tue Dec 01 2026 " in spec and spec.rstrip().endswith("checkout.")


@pytest.mark.parametrize("release", ["", "1-2", "a b", "-1", "x" * 41, "1;rm"])
def test_bad_release_is_refused(release: str) -> None:
    with pytest.raises(ExpandError, match="--release"):
        _plan(release)


def test_a_plan_without_pip_or_toolkit_is_refused() -> None:
    with pytest.raises(ExpandError, match="lack pip"):
        plan_package("3.2.0", "1", [WHEELS[0]], toolkit_name="expand-appliance",
                     changelog_date="x")
