"""verify.run without a host: the pytest command, the JUnit parsing, the pinned ssh_config."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.errors import ExpandError
from verify.cli import host_urls, table
from verify.run import CheckResult, check_modules, parse_junit, pinned_ssh_config, pytest_argv

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="checks_appliance" name="test_sshd_running[ssh://root@h:2222]"/>
<testcase classname="checks_appliance" name="test_sshd_config[ssh://root@h:2222]">
<failure message="AssertionError: /etc/ssh/sshd_config: missing&#10;assert False">x</failure>
</testcase>
<testcase classname="checks_appliance" name="test_cluster_services[local]">
<skipped type="pytest.skip" message="not a cluster check run (--cluster)">skip</skipped>
</testcase>
<testcase classname="checks_appliance" name="test_addresses[ssh://root@h:2222]">
<failure message="RuntimeError: CommandResult(rc=255, stderr=b'Host key verification failed.')"
>tb</failure></testcase>
<testcase classname="checks_appliance" name="test_vip_on_exactly_one_node"/>
</testsuite></testsuites>"""


def test_junit_rows_name_check_host_status_and_why() -> None:
    rows = parse_junit(JUNIT)
    assert rows == [
        CheckResult("sshd_running", "ssh://root@h:2222", "ok"),
        CheckResult("sshd_config", "ssh://root@h:2222", "failed",
                    "/etc/ssh/sshd_config: missing"),
        CheckResult("cluster_services", "local", "skipped",
                    "not a cluster check run (--cluster)"),
        CheckResult("addresses", "ssh://root@h:2222", "failed",
                    "ssh: Host key verification failed (host unreachable or not trusted)"),
        CheckResult("vip_on_exactly_one_node", "cluster", "ok"),
    ]
    lines = table(rows).splitlines()
    assert lines[0].split() == ["CHECK", "HOST", "RESULT", "WHY"]
    assert lines[2].split() == ["sshd_config", "ssh://root@h:2222", "failed",
                                "/etc/ssh/sshd_config:", "missing"]


@pytest.mark.parametrize("text", ["", "<testsuites", "\0\0"])
def test_broken_results_are_one_error(text: str) -> None:
    with pytest.raises(ExpandError, match="check results: not JUnit XML"):
        parse_junit(text)


def test_ssh_config_trusts_only_the_pinned_file() -> None:
    text = pinned_ssh_config(Path("/k/known_hosts"), Path("/k/id"))
    for line in ("StrictHostKeyChecking yes", "UserKnownHostsFile /k/known_hosts",
                 "GlobalKnownHostsFile none", "BatchMode yes", "IdentityFile /k/id",
                 "IdentitiesOnly yes", "UpdateHostKeys no"):
        assert f"  {line}\n" in text
    assert "accept-new" not in text and "StrictHostKeyChecking no" not in text


def test_pytest_runs_every_checks_module_with_our_plugin(tmp_path: Path) -> None:
    argv = pytest_argv(["ssh://a", "ssh://b"], tmp_path, ssh_config=tmp_path / "c",
                       root="/", cluster=True)
    assert argv[1:3] == ["-m", "pytest"]
    assert "verify.plugin" in argv and "--hosts=ssh://a,ssh://b" in argv
    assert f"--ssh-config={tmp_path / 'c'}" in argv and "--expand-cluster" in argv
    modules = check_modules()
    assert [m.name for m in modules][:1] == ["checks_appliance.py"]
    assert argv[-len(modules):] == [str(m) for m in modules]


@pytest.mark.parametrize("bad", ["root@h", "http://h", "ssh://h:0", "ssh://h:70000",
                                 "ssh://h;rm -rf /", "ssh://-oProxyCommand=x", "ssh://"])
def test_host_must_be_an_ssh_url(bad: str) -> None:
    with pytest.raises(ExpandError, match="--host"):
        host_urls([bad])


def test_good_hosts_pass() -> None:
    assert host_urls(["ssh://root@198.51.100.11", "ssh://h:2222"]) == [
        "ssh://root@198.51.100.11", "ssh://h:2222"]
