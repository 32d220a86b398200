"""The pytest plugin the checks run under (``-p verify.plugin``): options and fixtures.

``--expand-root`` prefixes every appliance path the checks read: ``/`` on a real
appliance, a folder on a test box that holds a fake appliance tree.
"""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from appliance.answers import Answers, parse_answers
from appliance.paths import ANSWERS


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("expand", "eXpand appliance checks")
    group.addoption("--expand-root", default="/", help="where the appliance's files are")
    group.addoption("--expand-cluster", action="store_true",
                    help="the hosts are the nodes of one cluster")


@pytest.fixture(scope="session")
def expand_root(pytestconfig: pytest.Config) -> str:
    root = str(pytestconfig.getoption("expand_root")).rstrip("/")
    return root


@pytest.fixture(scope="session")
def clustered(pytestconfig: pytest.Config) -> bool:
    return bool(pytestconfig.getoption("expand_cluster"))


def target(root: str, path: str) -> str:
    """An appliance path below the checked root."""
    return f"{root}{path}"


def read_answers(host: Any, root: str) -> Answers:
    """The answers the appliance was set up with, read on the host itself."""
    path = target(root, ANSWERS)
    file = host.file(path)
    if not file.is_file:
        pytest.fail(f"{path}: missing (the first boot saves the answers there)")
    try:
        data = tomllib.loads(file.content_string)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        pytest.fail(f"{path}: not valid TOML: {exc}")
    answers, reports = parse_answers(data, path, secrets_left_out=True)
    if answers is None:
        pytest.fail("; ".join(str(r) for r in reports[:3]))
    return answers


@pytest.fixture
def answers(host: Any, expand_root: str) -> Answers:
    return read_answers(host, expand_root)


@pytest.fixture(scope="session")
def all_hosts(pytestconfig: pytest.Config) -> list[Any]:
    """Every host of the run at once, for the checks that judge the cluster as a whole."""
    import testinfra

    option = pytestconfig.option
    names = option.hosts.split(",") if option.hosts else [None]
    return list(testinfra.get_hosts(names, connection=option.connection,
                                    ssh_config=option.ssh_config,
                                    ssh_identity_file=option.ssh_identity_file))
