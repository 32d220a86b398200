"""Which wheels fit the appliance (CPython 3.11, manylinux x86_64, glibc <= 2.34)."""

from __future__ import annotations

import pytest

from appliance.errors import ExpandError
from release.wheeltags import check_fits, fits, normalize, parse

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("filename", [
    "jinja2-3.1.6-py3-none-any.whl",
    "deprecated-1.3.1-py2.py3-none-any.whl",
    "cryptography-50.0.2-cp311-abi3-manylinux_2_34_x86_64.whl",
    "bcrypt-5.0.0-cp39-abi3-manylinux_2_34_x86_64.whl",
    "psutil-7.2.2-cp36-abi3-manylinux2010_x86_64.manylinux_2_12_x86_64.manylinux_2_28_x86_64.whl",
    "markupsafe-3.0.4-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
    "wrapt-2.5.2-cp311-cp311-manylinux1_x86_64.manylinux_2_28_x86_64.manylinux_2_5_x86_64.whl",
    "pkg-1.0-1build-py3-none-any.whl",  # with a build tag
    # One fitting platform in the set is enough (pip picks it).
    "x-1.0-cp311-cp311-manylinux_2_39_x86_64.manylinux_2_17_x86_64.whl",
])
def test_fits(filename: str) -> None:
    assert fits(parse(filename))


@pytest.mark.parametrize(("filename", "why"), [
    ("markupsafe-3.0.4-cp312-cp312-manylinux_2_17_x86_64.whl", "cp312"),
    ("cryptography-50.0.2-cp311-abi3-manylinux_2_39_x86_64.whl", "manylinux_2_39"),
    ("x-1.0-cp311-cp311-manylinux_2_17_aarch64.whl", "aarch64"),
    ("x-1.0-cp311-cp311-musllinux_1_2_x86_64.whl", "musllinux"),
    ("x-1.0-cp311-cp311-win_amd64.whl", "win_amd64"),
    ("x-1.0-cp310-cp310-manylinux2014_x86_64.whl", "cp310"),  # another ABI
    ("x-1.0-py2-none-any.whl", "py2"),
    ("x-1.0-pp310-pypy310_pp73-manylinux2014_x86_64.whl", "pypy"),
])
def test_unfit_wheels_are_refused_naming_the_tag(filename: str, why: str) -> None:
    with pytest.raises(ExpandError) as raised:
        check_fits(parse(filename))
    message = str(raised.value)
    assert message.startswith(filename) and why in message
    assert "glibc <= 2.34" in message and "\n" not in message


@pytest.mark.parametrize("filename", ["x.whl", "x-1.0.whl", "x-1.0-py3-none-any.zip",
                                      "x-1.0--none-any.whl", "a-b-c-d-e-f-g.whl"])
def test_names_that_are_no_wheel_are_refused(filename: str) -> None:
    with pytest.raises(ExpandError, match="not a wheel file name"):
        parse(filename)


def test_name_and_tag_read_from_the_file_name() -> None:
    wheel = parse("Tomli_W-1.2.0-py3-none-any.whl")
    assert (wheel.name, wheel.version, wheel.tag) == ("tomli-w", "1.2.0", "py3-none-any")
    assert normalize("Foo.Bar__baz") == "foo-bar-baz"
