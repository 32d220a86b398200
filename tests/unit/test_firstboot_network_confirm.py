"""``expandctl firstboot --confirm-timeout`` as a real process into --root: a refused or
unanswered confirmation stops the apply right after the network step with the old network
back; a SIGKILL during the countdown leaves the snapshot on disk and the next run restores
the old network before anything else."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from firstboot import paths
from firstboot.engine import KILL_AFTER_ENV
from tests.unit.firstboot_support import (
    EXAMPLES,
    EXPANDCTL,
    FIXTURES,
    apply_cli,
    expandctl,
    seed_root,
    tree,
)

PRIMARY = EXAMPLES / "primary.toml"
BEFORE_NETWORK = ["hardware", "timezone", "hostname"]
# The network as the installer left it, per platform: what must come back byte for byte.
OLD_NETWORK = {
    "debian12": {"/etc/systemd/network/50-dhcp.network": ("[Match]\nName=eth0\n[Network]\n"
                                                          "DHCP=yes\n", 0o640),
                 "/etc/resolv.conf": ("nameserver 198.51.100.53\n", 0o644)},
    "rocky9": {"/etc/NetworkManager/system-connections/eth0.nmconnection": (
        "[connection]\nid=eth0\ntype=ethernet\n[ipv4]\nmethod=auto\n", 0o600)},
}
NETWORK_ROOTS = ("/etc/systemd/network/", "/etc/resolv.conf", "/etc/NetworkManager/")
RESTART = {"debian12": "(not run) + networkctl reload",
           "rocky9": "(not run) + nmcli networking on"}
LATER_STEPS_FILES = ("/etc/postfix/sasl_passwd", "/etc/postfix/sasl_passwd.db",
                     "/etc/corosync/corosync.conf", "/etc/corosync/authkey")


def seeded(tmp_path: Path, platform: str) -> Path:
    root = seed_root(tmp_path / "root", platform)
    for path, (text, mode) in OLD_NETWORK[platform].items():
        host = root / path.lstrip("/")
        host.parent.mkdir(parents=True, exist_ok=True)
        host.write_text(text)
        host.chmod(mode)
    return root


def network(root: Path) -> dict[str, str]:
    return {p: v for p, v in tree(root).items() if p.startswith(NETWORK_ROOTS)}


def later_steps_untouched(root: Path, before: dict[str, str]) -> None:
    now = tree(root)
    assert not [p for p in LATER_STEPS_FILES if p in now]
    assert now["/etc/postfix/main.cf"] == before["/etc/postfix/main.cf"]
    assert not (root / "etc/corosync").exists()


def report(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / paths.REPORT.lstrip("/")).read_text())
    return data


def journal_done(root: Path) -> list[str]:
    return list(json.loads((root / paths.JOURNAL.lstrip("/")).read_text())["done"])


def confirm_cli(root: Path, seconds: str = "30", *, answer: str | None = None,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return expandctl("firstboot", "--answers", str(PRIMARY), "--yes", "--root", str(root),
                     "--host-facts", str(FIXTURES / "host-two-nics.json"),
                     "--confirm-timeout", seconds, env=env, input=answer)


@pytest.mark.parametrize("platform", ["debian12", "rocky9"])
def test_refused_confirmation_restores_the_network_and_applies_nothing_after_it(
        tmp_path: Path, platform: str) -> None:
    root = seeded(tmp_path, platform)
    before = tree(root)
    proc = confirm_cli(root, answer="n\n")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Dry run: the new network files are under" in proc.stdout
    assert "Keep the new network? [y/N]" in proc.stdout
    assert "eXpand NOT installed: step 'network' failed" in proc.stdout
    assert network(root) == network_of(before)  # byte for byte, modes too
    later_steps_untouched(root, before)
    saved = report(root)
    assert (saved["ok"], saved["dry_run"], saved["failed_step"]) == (False, True, "network")
    assert saved["steps"][-1]["detail"] == ("not confirmed within 30 s; the previous network "
                                            "configuration is restored")
    assert [s["name"] for s in saved["steps"]] == [*BEFORE_NETWORK, "network"]
    assert journal_done(root) == BEFORE_NETWORK  # a rerun starts again at the network step
    assert (root / paths.SENTINEL.lstrip("/")).exists()
    assert not (root / paths.NETWORK_SNAPSHOT.lstrip("/")).exists()
    log = (root / paths.LOG.lstrip("/")).read_text()
    assert RESTART[platform] in log

    again = confirm_cli(root, answer="yes\n")
    assert again.returncode == 0, again.stdout + again.stderr
    statuses = {s["name"]: s["status"] for s in report(root)["steps"]}
    assert [n for n, s in statuses.items() if s == "already-done"] == BEFORE_NETWORK
    assert statuses["network"] == "done" and "/etc/postfix/sasl_passwd" in tree(root)


def test_unanswered_confirmation_times_out(tmp_path: Path) -> None:
    root = seeded(tmp_path, "debian12")
    before = network(root)
    argv = [str(EXPANDCTL), "firstboot", "--answers", str(PRIMARY), "--yes", "--root",
            str(root), "--host-facts", str(FIXTURES / "host-two-nics.json"),
            "--confirm-timeout", "1"]
    started = time.monotonic()
    # stdin stays open and silent (we hold the pipe's write end): only the time limit
    # ends the question.
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.run(argv, stdin=read_end, capture_output=True, text=True,
                              timeout=60, check=False)
    finally:
        os.close(read_end)
        os.close(write_end)
    out = proc.stdout
    assert proc.returncode == 2, out + proc.stderr
    assert time.monotonic() - started >= 1
    assert "no answer within 1 s" in out
    assert network(root) == before
    assert report(root)["steps"][-1]["detail"].startswith("not confirmed within 1 s;")


@pytest.mark.parametrize("platform", ["debian12", "rocky9"])
def test_killed_during_the_countdown_the_rerun_restores_the_old_network_first(
        tmp_path: Path, platform: str) -> None:
    root = seeded(tmp_path, platform)
    before = tree(root)
    killed = confirm_cli(root, env={KILL_AFTER_ENV: "countdown"})
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert "Keep the new network?" in killed.stdout  # killed while asking
    snapshot = root / paths.NETWORK_SNAPSHOT.lstrip("/")
    assert snapshot.stat().st_mode & 0o7777 == 0o600
    assert network(root) != network_of(before)  # the power went out on the new network
    assert journal_done(root) == [*BEFORE_NETWORK, "network"]

    # Unattended rerun, cut right after its first step: the old network is already back.
    cut = apply_cli(PRIMARY, root, env={KILL_AFTER_ENV: "hardware"})
    assert cut.returncode == -signal.SIGKILL, cut.stdout + cut.stderr
    assert cut.stdout.splitlines()[0] == ("[  0%] Restoring the network a cut first boot "
                                          "left unconfirmed")
    assert network(root) == network_of(before)  # byte for byte, modes too
    assert not snapshot.exists()
    assert journal_done(root) == BEFORE_NETWORK  # the network step is applied again
    later_steps_untouched(root, before)
    log = (root / paths.LOG.lstrip("/")).read_text()
    assert log.index("new network was confirmed") < log.rindex("Checking hardware")
    assert RESTART[platform] in log


def test_the_restore_is_reported(tmp_path: Path) -> None:
    root = seeded(tmp_path, "debian12")
    assert confirm_cli(root, env={KILL_AFTER_ENV: "countdown"}).returncode == -signal.SIGKILL
    rerun = apply_cli(PRIMARY, root)  # unattended, no question: the new network is kept
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    warnings = report(root)["warnings"]
    assert any(w.startswith("a previous first boot was cut before its new network was "
                            "confirmed: the previous network configuration was restored first")
               for w in warnings), warnings
    assert "a previous first boot was cut" in rerun.stdout


def network_of(files: dict[str, str]) -> dict[str, str]:
    return {p: v for p, v in files.items() if p.startswith(NETWORK_ROOTS)}


@pytest.mark.parametrize(("value", "why"), [("abc", "'abc': whole seconds from 0 to 3600"),
                                            ("-5", "'-5': whole seconds from 0 to 3600"),
                                            ("3601", "'3601': whole seconds")])
def test_bad_confirm_timeout_is_one_line_naming_the_option(tmp_path: Path, value: str,
                                                           why: str) -> None:
    root = seeded(tmp_path, "debian12")
    before = tree(root)
    proc = confirm_cli(root, value)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert f"argument --confirm-timeout: {why}" in proc.stderr
    assert tree(root) == before


def test_confirm_timeout_is_refused_in_json_mode(tmp_path: Path) -> None:
    root = seeded(tmp_path, "debian12")
    before = tree(root)
    proc = expandctl("firstboot", "--answers", str(PRIMARY), "--yes", "--json", "--root",
                     str(root), "--host-facts", str(FIXTURES / "host-two-nics.json"),
                     "--confirm-timeout", "5")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "--confirm-timeout asks on the terminal: not with --json" in proc.stderr
    assert tree(root) == before


def test_zero_means_no_question(tmp_path: Path) -> None:
    root = seeded(tmp_path, "debian12")
    proc = confirm_cli(root, "0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Keep the new network?" not in proc.stdout
    assert (root / "etc/systemd/network/10-expand-lan.network").is_file()
    assert not (root / paths.NETWORK_SNAPSHOT.lstrip("/")).exists()


def test_dry_run_says_nothing_applied(tmp_path: Path) -> None:
    proc = apply_cli(PRIMARY, seeded(tmp_path, "debian12"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    progress = [line for line in lines if re.match(r"\[ *\d+%\]", line)]
    assert progress[-1] == "[100%] dry run: nothing applied"
    assert "dry run: nothing applied (files written under the --root folder only, no command "\
        "run)" in lines
    assert "eXpand installed" not in proc.stdout
    json_proc = expandctl("firstboot", "--answers", str(PRIMARY), "--yes", "--json", "--root",
                          str(tmp_path / "root"), "--host-facts",
                          str(FIXTURES / "host-two-nics.json"))
    assert json.loads(json_proc.stdout)["dry_run"] is True


def test_both_answers_piped_at_once_are_read(tmp_path: Path) -> None:
    """The plan's question and the network's, answered by one write on a pipe that stays
    open: the second line, already buffered by stdin, keeps the network."""
    root = seeded(tmp_path, "debian12")
    argv = [str(EXPANDCTL), "firstboot", "--answers", str(PRIMARY), "--root", str(root),
            "--host-facts", str(FIXTURES / "host-two-nics.json"), "--confirm-timeout", "20"]
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"y\nyes\n")
        started = time.monotonic()
        proc = subprocess.run(argv, stdin=read_end, capture_output=True, text=True,
                              timeout=60, check=False)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Apply this configuration? [y/N]" in proc.stdout
    assert "Keep the new network? [y/N]" in proc.stdout
    assert time.monotonic() - started < 20
    assert report(root)["ok"] is True
