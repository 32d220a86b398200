"""Pure tests of the cluster configuration: corosync.conf, CIB commands, fencing, DRBD."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

import pytest

from appliance.answers import Answers, load_answers
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.joincode import new_join_code
from appliance.runner import RecordingRunner
from ha import cib, corosync, drbd, fencing

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "answers"


@pytest.fixture
def primary() -> Answers:
    return load_answers(EXAMPLES / "primary.toml")


def with_storage(answers: Answers, mode: str, device: str = "/dev/vdb") -> Answers:
    return replace(answers, storage=replace(answers.storage, mode=mode,
                                            device="" if mode == "none" else device))


def test_corosync_conf_has_two_encrypted_knet_links(primary: Answers) -> None:
    text = corosync.render_corosync_conf(corosync.settings_from_answers(primary))
    assert "transport: knet" in text
    assert "crypto_cipher: aes256" in text and "crypto_hash: sha256" in text
    assert "two_node: 1" in text and "to_syslog: no" in text
    assert "token: 1000" in text
    assert "ring0_addr: 203.0.113.1" in text and "ring1_addr: 198.51.100.11" in text
    assert "ring0_addr: 203.0.113.2" in text and "ring1_addr: 198.51.100.12" in text
    # corosync's parser: '{' must end its line, one option per line.
    for line in text.splitlines():
        if "{" in line:
            assert line.rstrip().endswith("{"), line
        assert line.count(":") <= 1 or line.lstrip().startswith("#"), line


def test_interconnect_link_is_preferred(primary: Answers) -> None:
    text = corosync.render_corosync_conf(corosync.settings_from_answers(primary))
    link0 = text.index("linknumber: 0")
    link1 = text.index("linknumber: 1")
    assert "knet_link_priority: 2" in text[link0:link1]
    assert "knet_link_priority: 1" in text[link1:]


def test_standalone_is_one_node_without_two_node(primary: Answers) -> None:
    settings = corosync.settings_from_answers(primary, with_secondary=False)
    text = corosync.render_corosync_conf(settings)
    assert "two_node" not in text and "expand2" not in text
    assert text.count("node {") == 1


def test_authkey_made_once_and_private(tmp_path: Path) -> None:
    sink = FileSink(tmp_path)
    assert corosync.ensure_authkey(sink, lambda n: b"k" * n)
    key_file = sink.target(corosync.AUTHKEY_PATH)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o400
    assert key_file.read_bytes() == b"k" * 256
    assert not corosync.ensure_authkey(sink, lambda n: b"x" * n)
    assert key_file.read_bytes() == b"k" * 256


def test_install_authkey_refuses_wrong_size(tmp_path: Path) -> None:
    with pytest.raises(ExpandError, match="256 bytes"):
        corosync.install_authkey(FileSink(tmp_path), b"short")


def argvs(steps: list[cib.CibStep]) -> list[str]:
    return [" ".join(s.argv) for s in steps]


def test_cib_fencing_on_by_default_and_never_ignore_quorum(primary: Answers) -> None:
    lines = argvs(cib.build_steps(primary, "cib.xml"))
    assert any("stonith-enabled=true" in line for line in lines)
    assert not any("no-quorum-policy" in line for line in lines)
    assert any("resource-stickiness=200" in line for line in lines)


def test_no_fencing_only_when_asked(primary: Answers) -> None:
    no_fence = replace(primary, fencing=replace(primary.fencing, mode="none"))
    with pytest.raises(ExpandError, match="--no-fencing"):
        cib.build_steps(no_fence, "cib.xml")
    lines = argvs(cib.build_steps(no_fence, "cib.xml", cib.CibOptions(no_fencing=True)))
    assert any("stonith-enabled=false" in line for line in lines)
    assert not any("stonith create" in line for line in lines)


def test_fencing_password_goes_on_stdin_only(primary: Answers) -> None:
    steps = cib.build_steps(primary, "cib.xml")
    password = primary.fencing.password
    assert all(password not in " ".join(s.argv) for s in steps)
    piped = [s for s in steps if s.input]
    assert len(piped) == 2 and all(password in (s.input or "") for s in piped)
    assert all(s.cib_file_env for s in piped)


def test_delay_is_on_the_device_that_fences_the_primary(primary: Answers) -> None:
    devices = {d.target_node: d for d in fencing.devices_from_answers(primary)}
    assert devices["expand1"].delay_base == fencing.PRIMARY_DELAY
    assert devices["expand2"].delay_base is None
    lines = argvs(cib.build_steps(primary, "cib.xml"))
    fence1 = next(line for line in lines if "stonith create fence-expand1" in line)
    assert "pcmk_delay_base=" in fence1
    assert "pcs -f cib.xml constraint location fence-expand1 avoids expand1" in lines


def test_each_node_is_fenced_only_after_the_gateway_answers(primary: Answers) -> None:
    lines = argvs(cib.build_steps(primary, "c"))
    check = next(line for line in lines if "stonith create fence-gateway-check" in line)
    assert "fence_heuristics_ping ping_targets=198.51.100.1" in check
    assert "pcmk_host_list=expand1 expand2" in check
    assert not any("constraint location fence-gateway-check" in line for line in lines)
    for node in ("expand1", "expand2"):
        level = f"pcs -f c stonith level add 1 {node} fence-gateway-check fence-{node} --force"
        assert lines.index(level) > lines.index(next(
            line for line in lines if f"stonith create fence-{node} " in line))
    no_fencing = argvs(cib.build_steps(primary, "c", cib.CibOptions(no_fencing=True)))
    assert not any("fence-gateway-check" in line for line in no_fencing)


TARGETS = {"ipmi": ("198.51.100.201", "bmc2.example"), "vmware": ("PBX node 1", "PBX node 2"),
           "sbd": ("/dev/disk/by-id/scsi-sbd", "/dev/disk/by-id/scsi-sbd")}


@pytest.mark.parametrize(("mode", "agent"), [("ipmi", "fence_ipmilan"),
                                             ("vmware", "fence_vmware_soap"),
                                             ("sbd", "fence_sbd")])
def test_fence_agent_per_mode(primary: Answers, mode: str, agent: str) -> None:
    first, second = TARGETS[mode]
    answers = replace(primary, fencing=replace(primary.fencing, mode=mode, host="vc.example",
                                               primary_target=first, secondary_target=second))
    assert {d.agent for d in fencing.devices_from_answers(answers)} == {agent}


@pytest.mark.parametrize(("mode", "target", "message"), [
    ("ipmi", "10.0.0.300", "not an IPv4 address"),
    ("vmware", 'pbx" ssl=0', "quotes"),
    ("sbd", "/dev/sdb,/dev/sdc", "not a plain device path"),
    ("sbd", "198.51.100.201", "not a device path")])
def test_fence_devices_refuse_a_target_of_the_wrong_kind(primary: Answers, mode: str,
                                                         target: str, message: str) -> None:
    answers = replace(primary, fencing=replace(primary.fencing, mode=mode, host="vc.example",
                                               primary_target=target))
    with pytest.raises(ExpandError, match=f"fencing.primary-target: .*{message}"):
        fencing.devices_from_answers(answers)


@pytest.mark.parametrize("device", ["/dev/x; } resource evil {", '/dev/x" ', "/dev/../x"])
def test_drbd_res_refuses_a_device_that_is_no_plain_path(primary: Answers, device: str) -> None:
    answers = replace(primary, storage=replace(primary.storage, mode="drbd", device=device))
    with pytest.raises(ExpandError, match=r"storage\.device"):
        drbd.render_drbd_res(answers)


def test_drbd_res_quotes_the_disk(primary: Answers) -> None:
    assert '        disk "/dev/vdb";' in drbd.render_drbd_res(with_storage(primary, "drbd"))


def test_storage_modes_chain_constraints(primary: Answers) -> None:
    drbd_lines = argvs(cib.build_steps(with_storage(primary, "drbd"), "c"))
    assert any("ocf:linbit:drbd" in line and "promotable" in line for line in drbd_lines)
    assert "pcs -f c constraint order promote drbd-data-clone then start data-fs" in drbd_lines
    san_lines = argvs(cib.build_steps(with_storage(primary, "san"), "c"))
    assert any("device=/dev/vdb" in line and "Filesystem" in line for line in san_lines)
    assert "pcs -f c constraint order start data-fs then start vip" in san_lines
    none_lines = argvs(cib.build_steps(with_storage(primary, "none"), "c"))
    assert not any("data-fs" in line for line in none_lines)
    assert any("cidr_netmask=24" in line and "ip=198.51.100.100" in line
               for line in none_lines)


def test_apply_runs_every_step_with_recording_runner(primary: Answers) -> None:
    steps = cib.build_steps(primary, "/x/cib.xml")
    runner = RecordingRunner()
    cib.apply_steps(runner, steps, "/x/cib.xml")
    assert runner.calls == [s.argv for s in steps]


def test_drbd_res_protocol_c_and_fence_handlers(primary: Answers) -> None:
    text = drbd.render_drbd_res(with_storage(primary, "drbd"))
    assert "protocol C;" in text and "fencing resource-and-stonith;" in text
    assert "crm-fence-peer.9.sh" in text and "crm-unfence-peer.9.sh" in text
    assert "address 203.0.113.2:7789;" in text
    assert "after-sb" not in text


def test_join_code_gives_the_same_authkey_on_both_nodes() -> None:
    from appliance import joincode
    code = joincode.new_join_code(lambda n: bytes(range(n)))
    assert len(code.split("-")) == 7 and all(len(g) <= 4 for g in code.split("-"))
    key = joincode.authkey_from_code(code)
    assert len(key) == corosync.AUTHKEY_BYTES
    typed = code.lower().replace("-", " ")
    assert joincode.authkey_from_code(typed) == key
    other = joincode.new_join_code(lambda n: bytes(reversed(range(n))))
    assert joincode.authkey_from_code(other) != key


@pytest.mark.parametrize("typo", ["drop", "swap", "bad-char"])
def test_join_code_typos_are_refused(typo: str) -> None:
    from appliance import joincode
    code = joincode.new_join_code(lambda n: bytes(range(n)))
    if typo == "drop":
        bad = code[:-1]
    elif typo == "swap":
        first = code[0]
        bad = ("B" if first != "B" else "C") + code[1:]
    else:
        bad = "9" + code[1:]
    with pytest.raises(ExpandError):
        joincode.authkey_from_code(bad)


def test_bootstrap_primary_makes_a_code_and_the_secondary_derives_the_same_key() -> None:
    from ha import bootstrap
    primary = load_answers(EXAMPLES / "primary.toml")
    secondary = load_answers(EXAMPLES / "secondary.toml")
    drawn = bootstrap.plan_bootstrap(primary, with_secondary=False)
    assert drawn.draw_join_code and drawn.join_code is None  # drawn when applied, not here
    assert corosync.AUTHKEY_PATH not in {f.path for f in drawn.files}
    code = new_join_code()
    first = bootstrap.plan_bootstrap(primary, with_secondary=False, join_code=code)
    assert first.join_code == code and first.cib_steps and not first.draw_join_code
    files = {f.path: f for f in first.files}
    assert files[corosync.AUTHKEY_PATH].mode == 0o400 and files[corosync.AUTHKEY_PATH].secret
    assert b"two_node" not in files[corosync.CONF_PATH].content  # standalone first
    second = bootstrap.plan_bootstrap(secondary, with_secondary=True,
                                      join_code=first.join_code)
    assert second.join_code is None and second.cib_steps == ()
    keys = {f.path: f.content for f in second.files}
    assert keys[corosync.AUTHKEY_PATH] == files[corosync.AUTHKEY_PATH].content
    assert b"two_node: 1" in keys[corosync.CONF_PATH]
    with pytest.raises(ExpandError, match="join code"):
        bootstrap.plan_bootstrap(secondary, with_secondary=True)
    rerun = bootstrap.plan_bootstrap(primary, with_secondary=False, authkey_exists=True)
    assert rerun.join_code is None
    assert corosync.AUTHKEY_PATH not in {f.path for f in rerun.files}
