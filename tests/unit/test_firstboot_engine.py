"""The engine in-process: failure and resume, changed answers, plans, NICs, file edits."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
from pathlib import Path

import pytest

from appliance.answers import Answers, load_answers
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.runner import RecordingRunner, Result
from firstboot import engine, paths
from firstboot.actions import EnableUnit, WriteFile
from firstboot.host import Host, gather, load_host
from firstboot.steps import Context, StepPlan, default_steps
from firstboot.steps.postfix import edit_main_cf
from hardware_profiles.nics import default_route_nics, detect_nics, ethernet_nics
from tests.unit.firstboot_support import (
    EXAMPLES,
    FIXTURES,
    SMTP_SECRET,
    expandctl,
    seed_root,
    tree,
    tree_hash,
)

TWO_NICS = load_host(FIXTURES / "host-two-nics.json")


def primary() -> Answers:
    return load_answers(EXAMPLES / "primary.toml")


def test_failed_step_is_named_sentinel_stays_and_rerun_resumes(tmp_path: Path) -> None:
    root = seed_root(tmp_path, "debian12")
    # live=True against a scratch root with a recording runner: the live commands are
    # built and "run", and postmap fails, quoting the password on stderr.
    failing = RecordingRunner(answers={("postmap",): Result(
        ("postmap",), 1, "", f"postmap: fatal: bad line {SMTP_SECRET}")})
    seen: list[tuple[int, str]] = []
    report = engine.apply(primary(), root=root, runner=failing, live=True, host=TWO_NICS,
                          progress=lambda pct, title: seen.append((pct, title)))
    assert not report.ok
    assert report.failed_step is not None and report.failed_step.name == "postfix"
    assert "postmap" in report.failed_step.detail
    assert (root / paths.SENTINEL.lstrip("/")).exists()
    assert not (root / paths.ANSWERS.lstrip("/")).exists()
    written = (root / paths.REPORT.lstrip("/")).read_text()
    assert json.loads(written)["failed_step"] == "postfix"
    assert SMTP_SECRET not in written
    assert [t for _, t in seen][:2] == ["Checking hardware and RAID", "Setting the time zone"]
    assert ("hostname", "expand1") in failing.calls  # live mode sets the running host name

    good = RecordingRunner()
    report = engine.apply(primary(), root=root, runner=good, live=True, host=TWO_NICS)
    assert report.ok
    assert [s.status for s in report.steps] == ["already-done"] * 5 + ["done"] * 5
    assert good.calls[0] == ("postmap", "hash:/etc/postfix/sasl_passwd")
    assert ("systemctl", "disable", paths.UNIT_NAME) in good.calls
    assert not (root / paths.SENTINEL.lstrip("/")).exists()


def test_changed_answers_run_every_step_again(tmp_path: Path) -> None:
    root = seed_root(tmp_path, "rocky9")
    first = engine.apply(primary(), root=root, runner=RecordingRunner(), live=False,
                         host=TWO_NICS)
    again = engine.apply(primary(), root=root, runner=RecordingRunner(), live=False,
                         host=TWO_NICS)
    assert {s.status for s in first.steps} == {"done"}
    assert [s.status for s in again.steps][:5] == ["already-done"] * 5
    changed = dataclasses.replace(primary(), nodes=dataclasses.replace(
        primary().nodes, primary_hostname="pbx-a"))
    third = engine.apply(changed, root=root, runner=RecordingRunner(), live=False,
                         host=TWO_NICS)
    assert {s.status for s in third.steps} == {"done"}
    assert (root / "etc/hostname").read_text() == "pbx-a\n"
    hosts = (root / "etc/hosts").read_text()
    assert "pbx-a-ic" in hosts and "expand1" not in hosts


def test_rerun_leaves_the_tree_unchanged(tmp_path: Path) -> None:
    root = seed_root(tmp_path, "debian12")
    engine.apply(primary(), root=root, runner=RecordingRunner(), live=False, host=TWO_NICS)
    before = tree(root, skip=(paths.REPORT,))  # the report says "already-done" the 2nd time
    engine.apply(primary(), root=root, runner=RecordingRunner(), live=False, host=TWO_NICS)
    assert tree(root, skip=(paths.REPORT,)) == before


def test_torn_journal_means_start_over(tmp_path: Path) -> None:
    root = seed_root(tmp_path, "rocky9")
    journal = root / paths.JOURNAL.lstrip("/")
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_text('{"version": 1, "key": "abc", "do')
    report = engine.apply(primary(), root=root, runner=RecordingRunner(), live=False,
                          host=TWO_NICS)
    assert report.ok and {s.status for s in report.steps} == {"done"}


def test_plan_lists_files_and_commands_and_writes_nothing(tmp_path: Path) -> None:
    root = seed_root(tmp_path, "rocky9")
    before = tree_hash(root)
    proc = expandctl("firstboot", "plan", str(EXAMPLES / "primary.toml"), "--root", str(root),
                     "--host-facts", str(FIXTURES / "host-two-nics.json"), "--json")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert tree_hash(root) == before
    assert "/etc/NetworkManager/system-connections/expand-lan.nmconnection" in plan["files"]
    assert "/etc/postfix/sasl_passwd" in plan["files"]
    assert paths.SENTINEL in plan["files"]
    assert ["postmap", "hash:/etc/postfix/sasl_passwd"] in plan["commands"]
    assert SMTP_SECRET not in proc.stdout + proc.stderr


def test_live_plan_edits_main_cf_and_restarts_services(tmp_path: Path) -> None:
    root = seed_root(tmp_path, "debian12")
    plan = engine.plan(primary(), root=root, live=True, host=TWO_NICS)
    commands = [" ".join(c) for c in plan.commands]
    assert not any(c.startswith("postconf") for c in commands)
    assert "systemctl restart systemd-networkd" in commands
    assert "systemctl restart postfix.service" in commands
    assert "/etc/postfix/main.cf" in plan.files  # edited as text, as under --root
    assert all(SMTP_SECRET not in c for c in commands)
    lines = "\n".join(plan.lines())
    assert "write /etc/postfix/sasl_passwd (mode 0600)" in lines and SMTP_SECRET not in lines


@pytest.mark.parametrize("platform", ["debian12", "rocky9"])
def test_dry_run_plans_what_a_live_run_does(tmp_path: Path, platform: str) -> None:
    """Only the runner and the sink differ: the same files, the same contents, the same
    commands (a dry run records them)."""
    root = seed_root(tmp_path, platform)
    ctx_live = engine.make_context(primary(), root=root, runner=RecordingRunner(), live=True,
                                   host=TWO_NICS)
    ctx_dry = dataclasses.replace(ctx_live, live=False)
    for step in default_steps():
        if step.name in ("cluster", "sshd"):  # their software checks own live/dry differences
            continue
        live, dry = step.plan(ctx_live), step.plan(ctx_dry)
        assert live.actions == dry.actions, step.name
    postfix = next(s for s in default_steps() if s.name == "postfix").plan(ctx_live)
    main_cf = next(a for a in postfix.actions if isinstance(a, WriteFile)
                   and a.path == "/etc/postfix/main.cf")
    assert "relayhost = [smtp.example.com]:587" in str(main_cf.content)


def test_rhel_live_plan_brings_connections_up(tmp_path: Path) -> None:
    root = seed_root(tmp_path, "rocky9")
    plan = engine.plan(primary(), root=root, live=True, host=TWO_NICS)
    assert ("nmcli", "connection", "up", "expand-interconnect") in plan.commands


def test_no_nic_at_all_fails_the_network_step(tmp_path: Path) -> None:
    root = seed_root(tmp_path, "rocky9")
    report = engine.apply(primary(), root=root, runner=RecordingRunner(), live=False,
                          host=Host(()))
    assert report.failed_step is not None and report.failed_step.name == "network"
    assert "--lan-nic" in report.failed_step.detail


LINKS = json.dumps([
    {"ifname": "lo", "link_type": "loopback"},
    {"ifname": "ens192", "link_type": "ether"},
    {"ifname": "ens224", "link_type": "ether"},
    {"ifname": "eth0", "link_type": "ether", "linkinfo": {"info_kind": "veth"}},
    {"ifname": "ifb0", "link_type": "ether", "linkinfo": {"info_kind": "ifb"}},
    {"ifname": "br0", "link_type": "ether", "linkinfo": {"info_kind": "bridge"}},
    {"ifname": "ens256", "link_type": "ether", "master": "br0"},
    {"ifname": "veth12ab", "link_type": "ether", "linkinfo": {"info_kind": "veth"}},
    {"ifname": "wg0", "link_type": "none", "linkinfo": {"info_kind": "wireguard"}},
])


def test_ethernet_nics_leave_out_virtual_and_enslaved_links() -> None:
    assert ethernet_nics(LINKS) == ["ens192", "ens224", "eth0"]
    assert ethernet_nics("") == []


def test_nic_with_the_default_route_is_the_lan() -> None:
    routes = json.dumps([{"dst": "default", "gateway": "198.51.100.1", "dev": "ens224"}])
    assert default_route_nics(routes) == ["ens224"]
    runner = RecordingRunner(answers={
        ("ip", "-j", "-d", "link"): Result((), 0, LINKS, ""),
        ("ip", "-j", "route"): Result((), 0, routes, "")})
    assert detect_nics(runner) == ("ens224", "ens192", "eth0")
    no_route = RecordingRunner(answers={("ip", "-j", "-d", "link"): Result((), 0, LINKS, "")})
    assert detect_nics(no_route) == ("ens192", "ens224", "eth0")


def test_hardware_warnings_judge_the_nics_the_network_step_configures(tmp_path: Path) -> None:
    """The dry-run bug: a VM whose /sys shows one NIC, run with --lan-nic eth0
    --interconnect-nic eth1, warned "one NIC (eth0)" while it configured eth1."""
    one_nic_vm = load_host(FIXTURES / "host-one-nic.json")
    assert one_nic_vm.hardware is not None and one_nic_vm.hardware.virtualization.is_vm
    host = one_nic_vm.with_nic_overrides("eth0", "eth1")
    assert host.hardware is not None
    assert [n.name for n in host.hardware.nics] == ["eth0", "eth1"]
    root = seed_root(tmp_path, "rocky9")
    plan = engine.plan(primary(), root=root, live=False, host=host)
    entries = {e.name: e for e in plan.steps}
    assert "interconnect eth1" in entries["network"].detail
    assert not any("NIC" in w for w in entries["hardware"].warnings), entries["hardware"]
    # Without the override the same VM is warned about, with the NIC it really has.
    alone = engine.plan(primary(), root=root, live=False, host=one_nic_vm)
    warnings = {e.name: e for e in alone.steps}["hardware"].warnings
    assert any("one NIC (eth0)" in w for w in warnings)


def test_gathered_facts_describe_the_detected_nics() -> None:
    """One detector: the hardware facts of the live machine list the NICs ``ip -j`` found
    (a veth inside a container included), not a second scan of /sys."""
    links = json.dumps([{"ifname": "eth0", "link_type": "ether",
                         "linkinfo": {"info_kind": "veth"}},
                        {"ifname": "eth1", "link_type": "ether"}])
    routes = json.dumps([{"dst": "default", "dev": "eth1"}])
    runner = RecordingRunner(answers={
        ("ip", "-j", "-d", "link"): Result((), 0, links, ""),
        ("ip", "-j", "route"): Result((), 0, routes, "")})
    host = gather(runner)
    assert host.nics == ("eth1", "eth0")
    assert host.hardware is not None
    assert [n.name for n in host.hardware.nics] == ["eth1", "eth0"]


def test_nic_overrides_come_first() -> None:
    host = Host(("eth0", "eth1", "eth2")).with_nic_overrides("eth2", "eth0")
    assert host.nics == ("eth2", "eth0", "eth1")


def test_existing_hosts_file_is_kept_but_stale_names_go(tmp_path: Path) -> None:
    root = seed_root(tmp_path, "debian12")
    (root / "etc/hosts").write_text("127.0.0.1 localhost\n127.0.1.1 debian\n"
                                    "10.9.9.9 expand1 # old\n10.1.1.1 printer\n")
    engine.apply(primary(), root=root, runner=RecordingRunner(), live=False, host=TWO_NICS)
    hosts = (root / "etc/hosts").read_text()
    assert "10.1.1.1 printer" in hosts
    assert "127.0.1.1" not in hosts and "10.9.9.9" not in hosts
    assert hosts.count("BEGIN eXpand cluster") == 1


@pytest.mark.parametrize("current", [None, "", "relayhost = old\n  continued\nbiff = no\n"])
def test_main_cf_edit_sets_each_value_once(current: str | None) -> None:
    wanted = [("relayhost", "[mx.example.com]:587"), ("smtp_sasl_auth_enable", "yes")]
    text = edit_main_cf(current, wanted)
    assert text.count("relayhost = ") == 1 and "continued" not in text
    assert "smtp_sasl_auth_enable = yes" in text
    assert edit_main_cf(text, wanted) == text  # idempotent
    if current:
        assert "biff = no" in text


def test_enable_unit_only_when_not_enabled(tmp_path: Path) -> None:
    action = EnableUnit("postfix.service")
    enabled = RecordingRunner()  # is-enabled answers 0
    action.execute(FileSink(tmp_path), enabled)
    assert enabled.calls == [("systemctl", "is-enabled", "--quiet", "postfix.service")]
    disabled = RecordingRunner(answers={("systemctl", "is-enabled"): Result((), 1, "", "")})
    action.execute(FileSink(tmp_path), disabled)
    assert disabled.calls[-1] == ("systemctl", "enable", "postfix.service")


def test_bare_root_folder_needs_platform(tmp_path: Path) -> None:
    proc = expandctl("firstboot", "plan", str(EXAMPLES / "primary.toml"), "--root", str(tmp_path),
                     "--host-facts", str(FIXTURES / "host-two-nics.json"))
    assert proc.returncode == 1 and "--platform rhel or --platform debian" in proc.stderr
    proc = expandctl("firstboot", "plan", str(EXAMPLES / "primary.toml"), "--root", str(tmp_path),
                     "--host-facts", str(FIXTURES / "host-two-nics.json"), "--platform", "rhel")
    assert proc.returncode == 0 and "expand-lan.nmconnection" in proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_live_plan_warns_when_sasl_plain_is_missing(tmp_path: Path) -> None:
    root = seed_root(tmp_path, "rocky9")
    plan = engine.plan(primary(), root=root, live=True, host=TWO_NICS)
    assert any("cyrus-sasl-plain" in w for w in plan.warnings)
    plugin = root / "usr/lib64/sasl2/libplain.so.3"
    plugin.parent.mkdir(parents=True)
    plugin.write_text("")
    plan = engine.plan(primary(), root=root, live=True, host=TWO_NICS)
    assert not any("SASL" in w for w in plan.warnings)


class BrokenStep:
    name = "broken"
    title = "A step with a bug"
    secret_inputs = False

    def plan(self, ctx: Context) -> StepPlan:
        return StepPlan()

    def apply(self, ctx: Context) -> StepPlan:
        raise KeyError(f"oops {SMTP_SECRET}")


def test_a_bug_in_a_step_still_ends_in_a_report(tmp_path: Path) -> None:
    root = seed_root(tmp_path, "rocky9")
    steps = (*default_steps()[:2], BrokenStep())
    report = engine.apply(primary(), root=root, runner=RecordingRunner(), live=False,
                          host=TWO_NICS, steps=steps)
    assert report.failed_step is not None and report.failed_step.name == "broken"
    assert report.failed_step.detail.startswith("internal error: KeyError")
    assert SMTP_SECRET not in report.failed_step.detail
    assert json.loads((root / paths.REPORT.lstrip("/")).read_text())["failed_step"] == "broken"


def test_a_second_apply_at_the_same_time_is_refused(tmp_path: Path) -> None:
    root = seed_root(tmp_path, "rocky9")
    state = root / paths.STATE_DIR.lstrip("/")
    fd = os.open(state, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as a running apply holds it
        with pytest.raises(ExpandError, match="another first boot is applying"):
            engine.apply(primary(), root=root, runner=RecordingRunner(), live=False,
                         host=TWO_NICS)
        assert not (root / paths.JOURNAL.lstrip("/")).exists()
    finally:
        os.close(fd)
    assert engine.apply(primary(), root=root, runner=RecordingRunner(), live=False,
                        host=TWO_NICS).ok
