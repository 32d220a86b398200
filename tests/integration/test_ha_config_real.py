"""The rendered configuration, accepted by the real tools: corosync -t, pcs -f + crm_verify,
drbdadm. Under the heavy lock (pcs is slow-ish); about 30 s."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from xml.etree import ElementTree

import pytest

from appliance.answers import Answers, load_answers
from appliance.filesink import FileSink
from appliance.runner import CommandFailed, Runner
from ha import cib, corosync, drbd
from tests.support import heavy_lock, require_tools

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "answers"
NETNS = "xha-cfgcheck"


@pytest.fixture(scope="module", autouse=True)
def lock() -> Iterator[None]:
    with heavy_lock():
        yield


@pytest.fixture
def primary() -> Answers:
    return load_answers(EXAMPLES / "primary.toml")


@pytest.fixture
def node_netns() -> Iterator[str]:
    """A namespace holding the primary's addresses, so corosync finds its own node."""
    require_tools("corosync", "ip")
    run = Runner().run
    run(["ip", "netns", "add", NETNS])
    try:
        run(["ip", "-n", NETNS, "link", "add", "d0", "type", "veth", "peer", "name", "d1"])
        run(["ip", "-n", NETNS, "addr", "add", "203.0.113.1/30", "dev", "d0"])
        run(["ip", "-n", NETNS, "addr", "add", "198.51.100.11/24", "dev", "d0"])
        run(["ip", "-n", NETNS, "link", "set", "d0", "up"])
        yield NETNS
    finally:
        run(["ip", "netns", "delete", NETNS], check=False)


def corosync_test(netns: str, conf: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", netns, "corosync", "-t", "-c", str(conf)],
                          capture_output=True, text=True, check=False)


def test_corosync_accepts_rendered_conf(tmp_path: Path, primary: Answers,
                                        node_netns: str) -> None:
    sink = FileSink(tmp_path)
    corosync.ensure_authkey(sink)
    settings = replace(corosync.settings_from_answers(primary),
                       keyfile=str(sink.target(corosync.AUTHKEY_PATH)))
    corosync.write_corosync_conf(sink, settings)
    conf = sink.target(corosync.CONF_PATH)
    ok = corosync_test(node_netns, conf)
    assert ok.returncode == 0, ok.stderr
    # The same check rejects a broken file, so it is a real check.
    conf.write_text(conf.read_text().replace("token: 1000", "token 1000"))
    bad = corosync_test(node_netns, conf)
    assert bad.returncode != 0 and "parser error" in bad.stderr


@pytest.mark.parametrize(("storage", "fencing"), [("san", "ipmi"), ("drbd", "vmware"),
                                                  ("none", "sbd")])
def test_pcs_builds_a_cib_that_crm_verify_accepts(tmp_path: Path, primary: Answers,
                                                  storage: str, fencing: str) -> None:
    require_tools("pcs", "cibadmin", "crm_verify")
    targets = {"ipmi": ("198.51.100.201", "bmc2.example.com"),
               "vmware": ("PBX node 1", "PBX node 2"), "sbd": ("/dev/vdc", "/dev/vdc")}[fencing]
    answers = replace(primary,
                      storage=replace(primary.storage, mode=storage,
                                      device="" if storage == "none" else "/dev/vdb"),
                      fencing=replace(primary.fencing, mode=fencing, host="vc.example.com",
                                      primary_target=targets[0], secondary_target=targets[1]))
    runner = Runner()
    path = str(tmp_path / "cib.xml")
    cib.new_cib_file(runner, FileSink(Path("/")), path)
    cib.apply_steps(runner, cib.build_steps(answers, path), path)
    text = Path(path).read_text()
    runner.run(["crm_verify", "--xml-file", path])
    assert 'name="stonith-enabled" value="true"' in text
    assert 'name="resource-stickiness" value="200"' in text
    assert "no-quorum-policy" not in text
    assert (fencing != "sbd") == (answers.fencing.password in text)
    assert (Path(path).stat().st_mode & 0o777) == 0o600
    # every node is fenced only after the gateway check, on the same level
    levels = {(lv.get("target"), lv.get("index")): lv.get("devices")
              for lv in ElementTree.fromstring(text).iter("fencing-level")}
    assert levels == {(node, "1"): f"fence-gateway-check,fence-{node}"
                      for node in ("expand1", "expand2")}


def test_pcs_rejects_a_bad_step(tmp_path: Path) -> None:
    require_tools("pcs", "cibadmin")
    runner = Runner()
    path = str(tmp_path / "cib.xml")
    cib.new_cib_file(runner, FileSink(Path("/")), path)
    bad = cib.CibStep(("pcs", "-f", path, "resource", "create", "x",
                       "ocf:heartbeat:NoSuchAgent"), "bad agent")
    with pytest.raises(CommandFailed):
        cib.apply_steps(runner, [bad], path)


def test_drbdadm_parses_the_resource(tmp_path: Path, primary: Answers) -> None:
    require_tools("drbdadm", "unshare")
    # A by-path name (colons, dots) as udev makes them: quoted in the file, read back whole.
    disk = "/dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:1:0"
    answers = replace(primary, storage=replace(primary.storage, mode="drbd", device=disk))
    res = tmp_path / "expand.res"
    res.write_text(drbd.render_drbd_res(answers))
    conf = tmp_path / "drbd.conf"
    conf.write_text(f'global {{ usage-count no; }}\ninclude "{res}";\n')
    # drbdadm picks its "on HOST" section by host name: a UTS namespace named expand1.
    proc = subprocess.run(["unshare", "--uts", "sh", "-c",
                           f"hostname expand1 && drbdadm -c {conf} -d up expand"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "--protocol=C" in proc.stdout and "--fencing=resource-and-stonith" in proc.stdout
    assert "203.0.113.1:7789 ipv4:203.0.113.2:7789" in proc.stdout
    assert f"drbdsetup attach 0 {disk} {disk} internal" in proc.stdout
