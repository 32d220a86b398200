"""Secrets in logs: the redacting formatter, private log files, expandctl's last resort, and
a first-boot step whose exception carries both passwords (engine and CLI, real logging)."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance import cli, console
from appliance.answers import Answers, load_answers
from appliance.console import REDACTOR, open_log_file, setup_logging
from appliance.errors import ExpandError
from appliance.runner import (
    REDACTED,
    RecordingRunner,
    RedactingFormatter,
    Redactor,
)
from firstboot import engine, paths
from firstboot.cli import register_secrets
from firstboot.host import load_host
from firstboot.steps.system import TimezoneStep
from tests.unit.firstboot_support import FIXTURES, REPO, seed_root
from tests.unit.secrets_support import (
    SECRETS,
    BuggyStep,
    answers_file,
    expand_logger_restored,
    leaks,
)

HOST_FACTS = FIXTURES / "host-two-nics.json"
LINE = re.compile(r"^expandctl: internal error: RuntimeError: .+, details in (?P<log>\S+)\n$")


@pytest.fixture(autouse=True)
def _logger() -> Iterator[None]:
    with expand_logger_restored():
        yield


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def record_with_traceback(secret: str) -> logging.LogRecord:
    try:
        raise ValueError(f"bad {secret}")
    except ValueError:
        return logging.LogRecord("expand.t", logging.ERROR, __file__, 1, "saw %s", (secret,),
                                 sys.exc_info(), sinfo=f"Stack (most recent call last):\n{secret}")


# --- the formatter ------------------------------------------------------------------------

def test_formatter_redacts_message_exception_and_stack() -> None:
    secret = "fmt-Secret-12"
    text = RedactingFormatter(Redactor([secret]), "%(message)s").format(
        record_with_traceback(secret))
    assert "Traceback" in text and "ValueError: bad ********" in text
    assert "saw ********" in text and "Stack (most recent call last)" in text
    assert secret not in text


def test_terminal_formatter_leaves_the_traceback_to_the_file() -> None:
    secret = "fmt-Secret-13"
    record = record_with_traceback(secret)
    bare = RedactingFormatter(Redactor([secret]), "%(message)s", tracebacks=False)
    assert bare.format(record) == "saw ********"
    # The record itself is untouched: the file handler after it still gets the traceback.
    assert "Traceback" in RedactingFormatter(Redactor([secret])).format(record)


def test_redactor_finds_escaped_forms() -> None:
    secret = 'q"uote\\back'
    redact = Redactor([secret])
    assert redact(json.dumps({"detail": f"x {secret} y"})) == '{"detail": "x ******** y"}'
    assert redact(repr(RuntimeError(secret))) == f"RuntimeError('{REDACTED}')"


# --- log files ----------------------------------------------------------------------------

def test_log_file_created_0600_and_existing_one_made_0600(tmp_path: Path) -> None:
    new = tmp_path / "sub/new.log"
    open_log_file(new).close()
    assert mode(new) == 0o600
    old = tmp_path / "old.log"
    old.write_text("kept\n")
    old.chmod(0o644)
    with open_log_file(old) as out:
        out.write("more\n")
    assert mode(old) == 0o600 and old.read_text() == "kept\nmore\n"


@pytest.mark.parametrize("kind", ["symlink", "directory", "dangling symlink", "fifo"])
def test_log_file_refuses_what_is_not_a_plain_file(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   kind: str) -> None:
    target = tmp_path / "shadow"
    target.write_text("root:x:0:0\n")
    target.chmod(0o644)
    arg = tmp_path / "expand.log"
    if kind == "symlink":
        arg.symlink_to(target)
    elif kind == "dangling symlink":
        arg.symlink_to(tmp_path / "nowhere")
    elif kind == "directory":
        arg.mkdir()
    else:
        os.mkfifo(arg)
    code = cli.main(["--log-file", str(arg), "firstboot", "status", "--root", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.startswith(f"expandctl: error: --log-file {arg}: ") and err.count("\n") == 1
    assert "Traceback" not in err
    assert target.read_text() == "root:x:0:0\n" and mode(target) == 0o644  # not followed
    assert not (tmp_path / "nowhere").exists()


def test_setup_logging_refuses_before_touching_the_handlers(tmp_path: Path) -> None:
    setup_logging(False, tmp_path / "first.log")
    before = list(logging.getLogger("expand").handlers)
    with pytest.raises(ExpandError, match="is a directory"):
        setup_logging(False, tmp_path)
    assert logging.getLogger("expand").handlers == before


def test_first_boot_log_under_the_root_is_never_followed(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str],
                                                         ) -> None:
    root = seed_root(tmp_path / "root", "debian12")
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    log = root / paths.LOG.lstrip("/")
    log.parent.mkdir(parents=True)
    log.symlink_to(victim)
    code = cli.main(["firstboot", "--answers", str(answers_file(tmp_path)), "--yes",
                     "--root", str(root), "--host-facts", str(HOST_FACTS)])
    err = capsys.readouterr().err
    assert code == 1 and err == f"expandctl: error: {log}: is a symbolic link; give the log " \
                                "file itself\n"
    assert victim.read_text() == "precious\n"
    assert not (root / paths.JOURNAL.lstrip("/")).exists()  # nothing applied


# --- a step whose exception carries both passwords ----------------------------------------

def assert_no_secret_in_tree(root: Path) -> None:
    for path in (p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        assert leaks(path.read_text(errors="replace")) == [], path


@pytest.mark.parametrize("error", [RuntimeError, ExpandError, OSError])
def test_engine_step_exception_with_passwords_is_redacted_everywhere(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], error: type[Exception]) -> None:
    answers = load_answers(answers_file(tmp_path))
    assert set(answers.secrets()) == set(SECRETS)
    root = seed_root(tmp_path / "root", "debian12")
    log = tmp_path / "expandctl.log"
    setup_logging(True, log)
    register_secrets(answers)
    report = engine.apply(answers, root=root, runner=RecordingRunner(), live=False,
                          host=load_host(HOST_FACTS), steps=[TimezoneStep(), BuggyStep(error)])
    assert not report.ok and report.failed_step is not None
    assert report.failed_step.name == "buggy" and REDACTED in report.failed_step.detail
    err = capsys.readouterr().err
    text = log.read_text()
    assert "step buggy" in err and f"then fence with {REDACTED}" in text
    if error is RuntimeError:  # a bug: the traceback goes to the log, not the terminal
        assert "Traceback (most recent call last)" in text and "Traceback" not in err
    for where in (err, text, report.failed_step.detail, json.dumps(report.as_dict())):
        assert leaks(where) == []
    assert "timezone" in (root / paths.JOURNAL.lstrip("/")).read_text()  # one step done
    assert json.loads((root / paths.REPORT.lstrip("/")).read_text())["failed_step"] == "buggy"
    assert_no_secret_in_tree(root)


def test_cli_step_exception_with_passwords_is_redacted_everywhere(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The real CLI set-up in-process: stderr, --log-file, firstboot.log, journal, report."""
    monkeypatch.setattr(engine, "default_steps", lambda: (TimezoneStep(), BuggyStep()))
    root = seed_root(tmp_path / "root", "debian12")
    log = tmp_path / "expandctl.log"
    code = cli.main(["-v", "--log-file", str(log), "firstboot", "--answers",
                     str(answers_file(tmp_path)), "--yes", "--root", str(root),
                     "--host-facts", str(HOST_FACTS)])
    out, err = capsys.readouterr()
    assert code == 2, err  # a step failed
    target_log = (root / paths.LOG.lstrip("/")).read_text()
    for text in (log.read_text(), target_log):
        assert "Traceback (most recent call last)" in text and REDACTED in text
    assert "step buggy: internal error" in err and "Traceback" not in err
    assert leaks(out + err) == []
    assert mode(log) == 0o600 and mode(root / paths.LOG.lstrip("/")) == 0o600
    assert_no_secret_in_tree(root)
    assert leaks(log.read_text()) == []


def test_cli_process_step_exception_with_passwords_is_redacted(tmp_path: Path) -> None:
    """The same in a process of its own: what really reaches file descriptor 2."""
    root = seed_root(tmp_path / "root", "debian12")
    log = tmp_path / "expandctl.log"
    driver = textwrap.dedent("""
        import sys
        from appliance import cli
        from firstboot import engine
        from tests.unit.secrets_support import BuggyStep
        from firstboot.steps.system import TimezoneStep
        engine.default_steps = lambda: (TimezoneStep(), BuggyStep())
        sys.exit(cli.main(sys.argv[1:]))
    """)
    proc = subprocess.run(
        [sys.executable, "-c", driver, "-v", "--log-file", str(log), "firstboot", "--answers",
         str(answers_file(tmp_path)), "--yes", "--root", str(root), "--host-facts",
         str(HOST_FACTS)], capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "step buggy: internal error" in proc.stderr and "Traceback" not in proc.stderr
    assert leaks(proc.stdout + proc.stderr) == []
    assert "Traceback" in log.read_text() and leaks(log.read_text()) == []
    assert_no_secret_in_tree(root)


# --- the last resort: a bug in a command ----------------------------------------------------

def buggy_plan(answers: Answers, **kwargs: object) -> object:
    raise RuntimeError(f"plan bug near {answers.smtp.password} and "
                       f"{answers.fencing.password!r}\nsecond line")


def plan_argv(tmp_path: Path) -> list[str]:
    root = seed_root(tmp_path / "root", "debian12")
    return ["firstboot", "plan", str(answers_file(tmp_path)), "--root", str(root),
            "--host-facts", str(HOST_FACTS)]


def test_bug_in_a_command_gives_one_line_and_the_traceback_in_the_log(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "plan", buggy_plan)
    log = tmp_path / "mine.log"
    code = cli.main(["--log-file", str(log), *plan_argv(tmp_path)])
    out, err = capsys.readouterr()
    assert code == cli.EXIT_INTERNAL == 70
    match = LINE.match(err)
    assert match and match["log"] == str(log), err
    assert "plan bug near ********" in err and "second line" not in err
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "buggy_plan" in text
    assert "RuntimeError: plan bug near ********" in text and "second line" in text
    assert leaks(out + err + text) == [] and mode(log) == 0o600


def test_bug_without_log_file_goes_to_the_default_log(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "plan", buggy_plan)
    default = tmp_path / "var/log/expand/expandctl.log"
    monkeypatch.setattr(console, "CRASH_LOG", default)
    assert cli.main(plan_argv(tmp_path)) == 70
    match = LINE.match(capsys.readouterr().err)
    assert match and match["log"] == str(default)
    assert "Traceback" in default.read_text() and leaks(default.read_text()) == []
    assert mode(default) == 0o600


def test_bug_with_default_log_unwritable_gets_a_private_file_of_its_own(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "plan", buggy_plan)
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    monkeypatch.setattr(console, "CRASH_LOG", blocked)  # a directory: cannot be the log
    runtime = tmp_path / "run-user"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert cli.main(plan_argv(tmp_path)) == 70
    match = LINE.match(capsys.readouterr().err)
    assert match, "no one-line report"
    crash = Path(match["log"])
    assert crash.parent == runtime and crash.name.startswith("expandctl-crash-")
    assert mode(crash) == 0o600 and "Traceback" in crash.read_text()
    assert leaks(crash.read_text()) == [] and list(blocked.iterdir()) == []


def test_bug_in_a_command_process_gives_one_line(tmp_path: Path) -> None:
    log = tmp_path / "mine.log"
    driver = textwrap.dedent("""
        import sys
        from appliance import cli
        from firstboot import engine
        from tests.unit.test_core_logging_secrets import buggy_plan
        engine.plan = buggy_plan
        sys.exit(cli.main(sys.argv[1:]))
    """)
    proc = subprocess.run([sys.executable, "-c", driver, "--log-file", str(log),
                           *plan_argv(tmp_path)], capture_output=True, text=True, cwd=REPO,
                          timeout=120, check=False)
    assert proc.returncode == 70
    match = LINE.match(proc.stderr)
    assert match and match["log"] == str(log), proc.stderr
    assert "Traceback" in log.read_text() and leaks(proc.stderr + log.read_text()) == []


def test_argument_errors_stay_argparse_s(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["firstboot", "plan"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: expandctl firstboot plan") and "internal error" not in err


def test_help_documents_the_internal_error_exit(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "70 internal error" in text and "/var/log/expand/expandctl.log" in text


def test_registered_secret_never_in_the_one_line(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console, "CRASH_LOG", tmp_path / "expandctl.log")
    REDACTOR.add("line-Secret-55")
    line = console.record_crash(RuntimeError("x line-Secret-55 y"), None)
    assert "line-Secret-55" not in line
