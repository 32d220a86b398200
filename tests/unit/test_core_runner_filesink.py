"""Runner: logs, redacts and raises with stderr. FileSink: atomic, modes, stays under its root."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.runner import CommandFailed, RecordingRunner, Redactor, Result, Runner

SECRET = "Sup3r-Secret-Pw"


def test_runner_returns_output() -> None:
    result = Runner().run(["sh", "-c", "echo out; echo err >&2"])
    assert (result.returncode, result.stdout, result.stderr) == (0, "out\n", "err\n")


def test_runner_raises_with_redacted_stderr_and_argv(caplog: pytest.LogCaptureFixture) -> None:
    runner = Runner(Redactor([SECRET]))
    with caplog.at_level(logging.INFO, logger="expand.run"), pytest.raises(CommandFailed) as err:
        runner.run(["sh", "-c", f"echo bad {SECRET} >&2; exit 3", SECRET])
    assert err.value.returncode == 3
    assert "bad ********" in str(err.value)
    assert SECRET not in str(err.value)
    assert SECRET not in caplog.text
    assert "+ sh -c" in caplog.text


def test_secret_passed_on_stdin_reaches_the_command() -> None:
    result = Runner(Redactor([SECRET])).run(["cat"], input=SECRET)
    assert result.stdout == SECRET


def test_missing_command_is_a_clear_error() -> None:
    with pytest.raises(ExpandError, match="command not found: no-such-tool"):
        Runner().run(["no-such-tool"])


def test_timeout_is_a_clear_error() -> None:
    with pytest.raises(ExpandError, match="timed out"):
        Runner().run(["sleep", "5"], timeout=0.2)


def test_check_false_returns_failure() -> None:
    assert Runner().run(["false"], check=False).returncode == 1


def test_recording_runner_records_and_answers() -> None:
    runner = RecordingRunner(answers={("ip", "-j"): Result(("ip",), 0, "[]", "")})
    assert runner.run(["ip", "-j", "addr"]).stdout == "[]"
    assert runner.run(["systemctl", "restart", "postfix"]).returncode == 0
    assert runner.calls == [("ip", "-j", "addr"), ("systemctl", "restart", "postfix")]
    failing = RecordingRunner(answers={("ping",): Result(("ping",), 1, "", "unreachable")})
    with pytest.raises(CommandFailed):
        failing.run(["ping", "-c1", "198.51.100.1"])


def test_redactor_ignores_trivial_values_and_prefers_longest() -> None:
    redact = Redactor(["", "ab", "secret", "secret-longer"])
    assert redact("a secret-longer ab") == "a ******** ab"


def test_filesink_writes_atomically_with_mode(tmp_path: Path) -> None:
    sink = FileSink(tmp_path)
    assert sink.write("/etc/postfix/sasl_passwd", "x y\n", mode=0o600) is True
    host = tmp_path / "etc/postfix/sasl_passwd"
    assert host.read_text() == "x y\n"
    assert stat.S_IMODE(host.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "etc").stat().st_mode) == 0o755
    assert not [p for p in host.parent.iterdir() if p.name.startswith(".")]


def test_filesink_unchanged_write_reports_false(tmp_path: Path) -> None:
    sink = FileSink(tmp_path)
    sink.write("/a", "same")
    before = (tmp_path / "a").stat().st_mtime_ns
    assert sink.write("/a", "same") is False
    assert (tmp_path / "a").stat().st_mtime_ns == before
    assert sink.write("/a", "same", mode=0o600) is True


def test_filesink_mode_set_before_content_is_visible(tmp_path: Path) -> None:
    # Replace a world-readable file with a secret: no moment where the secret is 0644.
    sink = FileSink(tmp_path)
    sink.write("/s", "public")
    sink.write("/s", SECRET, mode=0o600)
    assert stat.S_IMODE((tmp_path / "s").stat().st_mode) == 0o600


@pytest.mark.parametrize("bad", ["relative/path", "/etc/../../escape", "/a/../b"])
def test_filesink_refuses_escaping_paths(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ExpandError):
        FileSink(tmp_path).write(bad, "x")
    assert list(tmp_path.iterdir()) == []


def test_filesink_failed_write_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    sink = FileSink(tmp_path)
    sink.write("/f", "old")

    with pytest.raises(TypeError):
        sink.write("/f", 12345)  # type: ignore[arg-type]
    assert (tmp_path / "f").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_filesink_symlink_and_remove(tmp_path: Path) -> None:
    sink = FileSink(tmp_path)
    link = "/etc/systemd/system/multi-user.target.wants/x.service"
    assert sink.symlink(link, "/etc/systemd/system/x.service") is True
    assert sink.symlink(link, "/etc/systemd/system/x.service") is False
    assert os.readlink(tmp_path / link.lstrip("/")) == "/etc/systemd/system/x.service"
    assert sink.remove(link) is True and sink.remove(link) is False
    assert sink.read_text("/nope") is None
