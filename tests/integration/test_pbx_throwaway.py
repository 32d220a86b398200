"""The throwaway proof on a real Asterisk 22 (Debian unstable root): a valid directory
proves ok with its counts, broken ones fail naming file and line, a count the model does
not expect is reported, nothing listens beyond loopback and no Asterisk outlives a proof."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from appliance.errors import ExpandError
from appliance.runner import Result, Runner
from pbx.asterisk_counts import Expect
from pbx.cli_prove import add_prove
from pbx.throwaway import AsteriskPlace, Proof, prove
from tests.integration.asterisk_support import DATA, alive, asterisk_place, proof_servers

VALID = DATA / "valid"
EXPECT = Expect(endpoints=2, contexts=2, queues={"recl": "rrmemory"},
                members={"recl": ("PJSIP/550", "PJSIP/551")})


@pytest.fixture(scope="module")
def place() -> Iterator[AsteriskPlace]:
    # One hold of the heavy lock for the whole module (a few seconds of Asterisk boots).
    with asterisk_place() as where:
        yield where


class WatchingRunner(Runner):
    """Runs for real; when the proof reads its queues (Asterisk is up), it notes the
    throwaway servers' PIDs and what they listen on according to ss, and can fail there."""

    def __init__(self, fail_at: str | None = None, swallow: str | None = None) -> None:
        super().__init__()
        self.fail_at = fail_at
        self.swallow = swallow  # a CLI command answered "done" without being sent
        self.pids: list[int] = []
        self.uids: list[str] = []
        self.ss: list[str] = []

    def run(self, argv: Sequence[str], *, input: str | bytes | None = None,
            check: bool = True, env: Mapping[str, str] | None = None, cwd: Path | None = None,
            timeout: float | None = None) -> Result:
        if argv[-1:] == ["queue show"]:
            self.pids = proof_servers()
            self.uids = [line.split()[1] for pid in self.pids
                         for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                         if line.startswith("Uid:")]
            ss = subprocess.run(["ss", "-Hltunp"], capture_output=True, text=True, check=True)
            self.ss = [line for line in ss.stdout.splitlines()
                       if any(f"pid={pid}," in line for pid in self.pids)]
            if self.fail_at == "queue show":
                raise ExpandError("a failure injected while the throwaway Asterisk runs")
        if self.swallow is not None and argv[-1:] == [self.swallow]:
            return Result(tuple(argv), 0, "", "")
        return super().run(argv, input=input, check=check, env=env, cwd=cwd, timeout=timeout)


def variant(tmp_path: Path, edits: Mapping[str, tuple[str, str]] = {},
            appended: Mapping[str, str] = {}) -> Path:
    """A copy of the valid directory with ``edits`` (file → (old, new), each old found
    exactly once) and text ``appended`` to files."""
    target = tmp_path / "config"
    shutil.copytree(VALID, target)
    for name, (old, new) in edits.items():
        text = (target / name).read_text()
        assert text.count(old) == 1, f"{name}: {old!r} not found once"
        (target / name).write_text(text.replace(old, new))
    for name, text in appended.items():
        with open(target / name, "a") as fh:
            fh.write(text)
    return target


def assert_ended(proof: Proof) -> None:
    assert proof.pid is not None
    assert not alive(proof.pid), f"throwaway Asterisk {proof.pid} still running"
    assert proof_servers() == []


def test_valid_config_proves_ok_with_its_counts(place: AsteriskPlace) -> None:
    runner = WatchingRunner()
    start = time.monotonic()
    proof = prove(VALID, EXPECT, place=place, runner=runner)
    seconds = time.monotonic() - start
    print(f"\nthrowaway boot-to-verdict: {seconds:.2f} s ({proof.summary()}; {proof.version})")
    assert proof.ok, "\n".join(proof.problems)
    assert proof.endpoints == 2
    assert sorted(proof.contexts) == ["from-internal", "incoming"]
    assert proof.queues["recl"].strategy == "rrmemory"
    assert sorted(proof.queues["recl"].members) == ["PJSIP/550", "PJSIP/551"]
    # Modules without config complain; that is listed apart and does not fail the proof.
    assert any("Unable to load config" in m for m in proof.other_messages)
    assert proof.version.startswith("Asterisk 22.")
    assert_ended(proof)
    assert runner.pids == [proof.pid]
    # It ran as the root filesystem's asterisk user, not as root.
    passwd = (place.root / "etc/passwd").read_text().splitlines()
    [uid] = [line.split(":")[2] for line in passwd if line.startswith("asterisk:")]
    assert runner.uids == [uid] and uid != "0"


def test_the_proof_listens_on_loopback_only(place: AsteriskPlace) -> None:
    runner = WatchingRunner()
    proof = prove(VALID, EXPECT, place=place, runner=runner)
    assert proof.ok, "\n".join(proof.problems)
    # Our transport (bind=0.0.0.0:5060 in the given file) was moved to a loopback port.
    [bind] = proof.binds
    assert bind.startswith("pjsip transport-udp 127.0.0.1:")
    port = bind.rsplit(":", 1)[1]
    assert f"udp 127.0.0.1:{port}" in proof.listening
    # ss, independently: every socket of the throwaway is on loopback, except res_pjsip's
    # two unconnected wildcard UDP sockets on kernel-chosen ports (no configured port).
    assert runner.ss, "ss saw nothing of the throwaway Asterisk"
    for line in runner.ss:
        proto, local = line.split()[0], line.split()[4]
        address, sock_port = local.rsplit(":", 1)
        if address.startswith(("127.", "[::1]")):
            continue
        assert proto == "udp" and address in ("0.0.0.0", "*", "[::]"), line
        assert int(sock_port) != 5060 and sock_port != port, line
    # The given port itself is nowhere (its number parsed: a free port may be 5060x).
    assert all(line.split()[4].rsplit(":", 1)[1] != "5060" for line in runner.ss)


@pytest.mark.parametrize(("case", "edits", "appended", "expected"), [
    ("unknown pjsip option", {"pjsip.conf": ("max_contacts = 1\n\n[550]",
                                             "max_contacts = 1\nno_such_option = yes\n\n[550]")},
     {}, ["pjsip.conf:18: ERROR: Could not find option suitable for category '550' named "
          "'no_such_option'",
          "pjsip.conf: ERROR: Could not create an object of type 'aor' with id '550'"]),
    ("invalid priority", {"extensions.conf": ("exten => 600,1,Goto", "exten => 600,x,Goto")},
     {}, ["extensions.conf:11: WARNING: Invalid priority/label 'x' at line 11"]),
    ("duplicate endpoint", {}, {"pjsip.conf": "\n[551]\ntype = endpoint\ncontext = incoming\n"},
     ["pjsip.conf: ERROR: Config file 'pjsip.conf' could not be loaded; configuration "
      "contains a duplicate object: '551' of type 'endpoint'",
      "pjsip endpoints: 0 loaded, 2 expected"]),
    ("music on hold without its files", {"musiconhold.conf": ("directory = moh",
                                                              "directory = no-such-moh")},
     {}, ["musiconhold.conf: WARNING: No music on hold classes configured"]),
    ("a required module that is missing", {}, {"modules.conf": "require => res_nope.so\n"},
     ["modules.conf: ERROR: *** Failed to load module res_nope.so - Required",
      "throwaway Asterisk exited while booting: Module initialization failed. "
      "ASTERISK EXITING!"]),
])
def test_a_broken_config_is_not_ok_and_named(
        place: AsteriskPlace, tmp_path: Path, case: str,
        edits: Mapping[str, tuple[str, str]], appended: Mapping[str, str],
        expected: list[str]) -> None:
    proof = prove(variant(tmp_path, edits, appended), EXPECT, place=place)
    assert not proof.ok, case
    for wanted in expected:
        assert any(p.startswith(wanted) for p in proof.problems), \
            f"{case}: no problem starting {wanted!r} in:\n" + "\n".join(proof.problems)
    assert_ended(proof)


def test_counts_that_differ_from_the_model_are_reported(
        place: AsteriskPlace) -> None:
    expect = Expect(endpoints=3, contexts=1, queues={"recl": "ringall", "prov": "rrmemory"},
                    members={"recl": ("PJSIP/550",)})
    proof = prove(VALID, expect, place=place)
    assert not proof.ok
    assert sorted(proof.problems) == sorted([
        "pjsip endpoints: 2 loaded, 3 expected",
        "dialplan contexts: 2 loaded (from-internal, incoming), 1 expected",
        "queue prov: not loaded",
        "queue recl: strategy rrmemory, ringall expected",
        "queue recl: members PJSIP/550, PJSIP/551, PJSIP/550 expected",
    ])
    assert_ended(proof)


def test_no_asterisk_outlives_a_failing_proof(place: AsteriskPlace) -> None:
    runner = WatchingRunner(fail_at="queue show")
    with pytest.raises(ExpandError, match="injected"):
        prove(VALID, EXPECT, place=place, runner=runner)
    assert len(runner.pids) == 1, runner.pids  # it was up when the failure came
    assert not alive(runner.pids[0])
    assert proof_servers() == []
    assert not list((place.root / "tmp").glob("expand-proof-*"))


def test_an_asterisk_that_ignores_stop_is_killed_by_pid(place: AsteriskPlace) -> None:
    runner = WatchingRunner(swallow="core stop now")
    start = time.monotonic()
    proof = prove(VALID, EXPECT, place=place, runner=runner, stop_timeout=3)
    assert proof.ok, "\n".join(proof.problems)
    assert time.monotonic() - start >= 3  # it waited for the stop, then SIGKILLed
    assert_ended(proof)


def test_ami_and_http_of_the_config_move_to_loopback(place: AsteriskPlace,
                                                     tmp_path: Path) -> None:
    config = variant(tmp_path, appended={
        "manager.conf": "[general]\nenabled = yes\nbindaddr = 0.0.0.0\nport = 5038\n\n"
                        "[admin]\nsecret = proof-ami-secret\nread = all\nwrite = all\n",
        "http.conf": "[general]\nenabled = yes\nbindaddr = 0.0.0.0\nbindport = 8088\n"})
    runner = WatchingRunner()
    proof = prove(config, EXPECT, place=place, runner=runner)
    assert proof.ok, "\n".join(proof.problems)
    kinds = sorted(b.split()[0] for b in proof.binds)
    assert kinds == ["http", "manager", "pjsip"]
    tcp = [x for x in proof.listening if x.startswith("tcp")]
    assert sorted(x.split(":")[-1] for x in tcp) == \
        sorted(b.rsplit(":", 1)[1] for b in proof.binds if not b.startswith("pjsip"))
    assert all(x.startswith("tcp 127.0.0.1:") for x in tcp)
    assert not any(":5038 " in line or ":8088 " in line for line in runner.ss)
    assert "proof-ami-secret" not in repr(proof)
    assert_ended(proof)


def test_two_proofs_at_once_do_not_meet(place: AsteriskPlace) -> None:
    # An appliance proves a new release while its live Asterisk runs; here two proofs.
    with ThreadPoolExecutor(2) as pool:
        proofs = list(pool.map(lambda _: prove(VALID, EXPECT, place=place), range(2)))
    assert [p.ok for p in proofs] == [True, True], [p.problems for p in proofs]
    assert proofs[0].binds != proofs[1].binds
    for proof in proofs:
        assert_ended(proof)


def test_a_missing_directory_is_one_clear_error(place: AsteriskPlace,
                                                tmp_path: Path) -> None:
    with pytest.raises(ExpandError, match=r"nowhere: not a directory of Asterisk"):
        prove(tmp_path / "nowhere", EXPECT, place=place)


def cli(*argv: str) -> int:
    """``pbx prove ARGV`` as expandctl runs it (pbx/cli.py registers it with add_prove)."""
    parser = argparse.ArgumentParser(prog="expandctl pbx")
    add_prove(parser.add_subparsers(dest="cmd", required=True))
    args = parser.parse_args(["prove", *argv])
    code: int = args.func(args)
    return code


def test_cli_proves_and_reports(place: AsteriskPlace, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    root = str(place.root)
    assert cli(str(VALID), "--in-root", root, "--endpoints", "2", "--contexts", "2",
               "--queue", "recl=rrmemory", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["endpoints"] == 2
    assert data["queues"]["recl"]["strategy"] == "rrmemory"

    broken = variant(tmp_path, {"extensions.conf": ("exten => 600,1,Goto",
                                                    "exten => 600,x,Goto")})
    assert cli(str(broken), "--in-root", root, "--queue", "recl=ringall") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{broken}: throwaway Asterisk: FAILED (2 problems)")
    assert out[1].startswith("  extensions.conf:11: WARNING: Invalid priority/label 'x'")
    assert out[2] == "  queue recl: strategy rrmemory, ringall expected"
    assert out[3].endswith("warnings/errors about other files (modules without config; "
                           "--all lists them)")
    assert proof_servers() == []


def test_cli_bad_arguments_are_one_clear_line(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ExpandError, match=r"--in-root .*nowhere: no usr/sbin/asterisk"):
        cli(str(VALID), "--in-root", str(tmp_path / "nowhere"))
    with pytest.raises(SystemExit) as exit_info:
        cli(str(VALID), "--queue", "recl")
    assert exit_info.value.code == 2
    assert "'recl': NAME=STRATEGY, e.g. recl=rrmemory" in capsys.readouterr().err
