"""Bad input, every reader: one clear line naming the file or argument, exit ≥ 1, no
traceback, short output, nothing written. Each case runs the real CLI as its own process
(forked from one interpreter that imported it once, so the corpus stays fast)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from firstboot import paths
from tests.unit.bad_input_kit import (
    MIB,
    Maker,
    Run,
    check_refusal,
    directory,
    fifo,
    run_corpus,
    symlink_loop,
    write,
)
from tests.unit.cli_fork import cli_env
from tests.unit.firstboot_support import EXAMPLES, FIXTURES, REPO, seed_root

GOOD_ANSWERS = EXAMPLES / "primary.toml"


def _no_permission(path: Path) -> None:
    write(b"mode = 'primary'\n")(path)
    path.chmod(0)


DEEP_TOML_ARRAY = b"a = " + b"[" * 60000 + b"]" * 60000 + b"\n"
DEEP_TOML_TABLE = b"a = " + b"{b = " * 60000 + b"1" + b"}" * 60000 + b"\n"
DEEP_TOML_DOTTED = b"[" + b".".join([b"a"] * 60000) + b"]\nx = 1\n"
DEEP_JSON = b"[" * 60000 + b"]" * 60000
DEEP_JSON_OBJECT = b'{"a":' * 60000 + b"1" + b"}" * 60000
HUGE = b"# " + b"x" * (MIB + 10) + b"\n"
NUL = b"mode = 'primary'\n\0\0\0\n"
NOT_UTF8 = b"mode = 'prim\xffary'\n"
TRUNCATED_TOML = GOOD_ANSWERS.read_bytes()[:200]
HUGE_VALUE_TOML = b'mode = "' + b"p" * 900_000 + b'"\n'
HUGE_INT_TOML = b"mode = " + b"9" * 5000 + b"\n"

FILE_KINDS: dict[str, Callable[[Path], None]] = {
    "missing": lambda path: None,
    "empty": write(b""),
    "directory": directory,
    "nul": write(NUL),
    "not-utf8": write(NOT_UTF8),
    "huge": write(HUGE),
    "symlink-loop": symlink_loop,
}


# --- the cases ------------------------------------------------------------------------------

def answers_validate(kind: Callable[[Path], None], name: str = "a.toml") -> Maker:
    def make(case: Path) -> Run:
        path = case / name
        kind(path)
        return Run(["answers", "validate", str(path)], str(path)[:100])
    return make


def answers_apply(kind: Callable[[Path], None]) -> Maker:
    def make(case: Path) -> Run:
        root = seed_root(case / "root", "rocky9")
        path = case / "answers.toml"
        kind(path)
        return Run(["firstboot", "--answers", str(path), "--yes", "--root", str(root)],
                   str(path), watched=root)
    return make


def answers_plan(kind: Callable[[Path], None]) -> Maker:
    def make(case: Path) -> Run:
        path = case / "answers.toml"
        kind(path)
        return Run(["firstboot", "plan", str(path), "--root", str(case), "--platform",
                    "debian"], str(path))
    return make


def saved_answers(kind: Callable[[Path], None]) -> Maker:
    """--reconfigure pre-fills from the installed answers: a broken one is named."""
    def make(case: Path) -> Run:
        root = seed_root(case / "root", "debian12")
        kind(root / paths.ANSWERS.lstrip("/"))
        return Run(["firstboot", "--reconfigure", "--root", str(root)], paths.ANSWERS,
                   watched=root)
    return make


def add_secondary(kind: Callable[[Path], None]) -> Maker:
    def make(case: Path) -> Run:
        path = case / "answers.toml"
        kind(path)
        return Run(["ha", "add-secondary", "--answers", str(path)], str(path))
    return make


def status_with(state_file: str, kind: Callable[[Path], None]) -> Maker:
    def make(case: Path) -> Run:
        root = seed_root(case / "root", "rocky9")
        kind(root / state_file.lstrip("/"))
        return Run(["firstboot", "status", "--root", str(root)], state_file, watched=root)
    return make


def facts_check(kind: Callable[[Path], None]) -> Maker:
    def make(case: Path) -> Run:
        path = case / "facts.json"
        kind(path)
        return Run(["hardware", "check", "--facts", str(path)], str(path))
    return make


def facts_save(kind: Callable[[Path], None]) -> Maker:
    def make(case: Path) -> Run:
        path = case / "facts.json"
        kind(path)
        return Run(["hardware", "facts", "--facts", str(path), "--save",
                    str(case / "saved.json")], str(path))
    return make


def host_facts(kind: Callable[[Path], None]) -> Maker:
    def make(case: Path) -> Run:
        path = case / "host.json"
        kind(path)
        return Run(["firstboot", "plan", str(GOOD_ANSWERS), "--root", str(case),
                    "--platform", "debian", "--host-facts", str(path)], str(path))
    return make


def target_file(target: str, kind: Callable[[Path], None]) -> Maker:
    def make(case: Path) -> Run:
        root = seed_root(case / "root", "rocky9")
        host = root / target.lstrip("/")
        if host.exists():
            host.unlink()
        kind(host)
        return Run(["firstboot", "plan", str(GOOD_ANSWERS), "--root", str(root),
                    "--host-facts", str(FIXTURES / "host-two-nics.json")], target,
                   watched=root)
    return make


def kickstart(kind: Callable[[Path], None]) -> Maker:
    def make(case: Path) -> Run:
        path = case / "ks.cfg"
        kind(path)
        return Run(["kickstart", "validate", str(path)], str(path))
    return make


def kickstart_stdin(data: bytes) -> Maker:
    return lambda case: Run(["kickstart", "validate", "-"], "-", stdin=data)


def iso_inspect(kind: Callable[[Path], None]) -> Maker:
    def make(case: Path) -> Run:
        path = case / "dvd.iso"
        kind(path)
        return Run(["iso", "inspect", str(path)], str(path))
    return make


def iso_base(kind: Callable[[Path], None]) -> Maker:
    def make(case: Path) -> Run:
        path = case / "base.iso"
        kind(path)
        return Run(["iso", "build", "--base", str(path), "--out", str(case / "out/x.iso")],
                   str(path))
    return make


def iso_answers(kind: Callable[[Path], None]) -> Maker:
    def make(case: Path) -> Run:
        path = case / "answers.toml"
        kind(path)
        (case / "base.iso").write_bytes(b"\0" * 40000)
        return Run(["iso", "build", "--base", str(case / "base.iso"), "--answers", str(path),
                    "--out", str(case / "out/x.iso")], str(path))
    return make


def args(*argv: str, named: str) -> Maker:
    return lambda case: Run([a.replace("{case}", str(case)) for a in argv], named)


def pbx_apply(kind: Callable[[Path], None]) -> Maker:
    """pbx apply of a broken site file into a box root: named, exit 2, the root untouched."""
    def make(case: Path) -> Run:
        root = case / "root"
        (root / "etc/asterisk").mkdir(parents=True)
        (root / "etc/asterisk/asterisk.conf").write_text("[directories]\n")
        path = case / "site.toml"
        kind(path)
        return Run(["pbx", "apply", str(path), "--root", str(root)], str(path), watched=root)
    return make


def answers_site(kind: Callable[[Path], None]) -> Maker:
    """First boot of answers whose ``[pbx] site`` is a broken file: pbx.site named, the root
    untouched (it is read before anything is applied)."""
    def make(case: Path) -> Run:
        root = seed_root(case / "root", "rocky9")
        site = case / "site.toml"
        kind(site)
        answers = GOOD_ANSWERS.read_text().replace('site = ""', f'site = "{site}"')
        assert f'site = "{site}"' in answers
        path = case / "answers.toml"
        path.write_text(answers)
        return Run(["firstboot", "--answers", str(path), "--yes", "--root", str(root)],
                   "pbx.site", watched=root)
    return make


SITE_KINDS = {**FILE_KINDS, "deep-array": write(DEEP_TOML_ARRAY),
              "deep-inline-table": write(DEEP_TOML_TABLE)}
ACME_SITE = str(REPO / "examples" / "site" / "acme.toml")
JOURNAL_GOOD_SHAPE = b'{"version": 1, "key": "k", "done": [], "complete": false}'
FACTS_WRONG_TYPES = b'{"cpu": {"logical": "eight"}, "memory": {"total_bytes": true}}'
LONG_NAME = "n" * 300  # one component longer than NAME_MAX
LONG_PATH = "/".join(["d" * 200] * 25)  # longer than PATH_MAX

CASES: dict[str, Maker] = {
    # answers files, through every command that reads one
    **{f"answers-validate-{k}": answers_validate(f) for k, f in FILE_KINDS.items()},
    "answers-validate-deep-array": answers_validate(write(DEEP_TOML_ARRAY)),
    "answers-validate-deep-inline-table": answers_validate(write(DEEP_TOML_TABLE)),
    "answers-validate-deep-dotted-header": answers_validate(write(DEEP_TOML_DOTTED)),
    "answers-validate-truncated": answers_validate(write(TRUNCATED_TOML)),
    "answers-validate-huge-value": answers_validate(write(HUGE_VALUE_TOML)),
    "answers-validate-huge-integer": answers_validate(write(HUGE_INT_TOML)),
    "answers-validate-wrong-types": answers_validate(write(b"mode = 5\nnetwork = 'x'\n")),
    "answers-validate-table-for-value": answers_validate(write(b"[mode]\nx = 1\n")),
    "answers-validate-fifo": answers_validate(fifo),
    "answers-validate-name-too-long": answers_validate(FILE_KINDS["missing"], LONG_NAME),
    "answers-validate-no-permission": answers_validate(_no_permission),
    "answers-validate-path-too-long": args("answers", "validate", f"{{case}}/{LONG_PATH}",
                                           named="d" * 50),
    "answers-validate-device": args("answers", "validate", "/dev/null", named="/dev/null"),
    "answers-validate-not-a-dir-parent": args("answers", "validate",
                                              f"{GOOD_ANSWERS}/x.toml", named="x.toml"),
    "answers-show-nul": lambda case: _rename(answers_validate(write(NUL))(case), "show"),
    "answers-apply-missing": answers_apply(FILE_KINDS["missing"]),
    "answers-apply-directory": answers_apply(directory),
    "answers-apply-deep": answers_apply(write(DEEP_TOML_ARRAY)),
    "answers-apply-huge": answers_apply(write(HUGE)),
    "answers-apply-loop": answers_apply(symlink_loop),
    "answers-apply-huge-value": answers_apply(write(HUGE_VALUE_TOML)),
    "answers-plan-not-utf8": answers_plan(write(NOT_UTF8)),
    "answers-plan-path-too-long": args("firstboot", "plan", f"{{case}}/{LONG_PATH}", "--root",
                                       "{case}", "--platform", "debian", named="d" * 50),
    "answers-plan-truncated": answers_plan(write(TRUNCATED_TOML)),
    "iso-build-answers-deep": iso_answers(write(DEEP_TOML_TABLE)),
    # saved answers (/etc/expand/answers.toml)
    "saved-answers-nul": saved_answers(write(NUL)),
    "saved-answers-not-utf8": saved_answers(write(NOT_UTF8)),
    "saved-answers-deep": saved_answers(write(DEEP_TOML_ARRAY)),
    "saved-answers-directory": saved_answers(directory),
    "saved-answers-loop": saved_answers(symlink_loop),
    "saved-answers-truncated": saved_answers(write(TRUNCATED_TOML)),
    "saved-answers-huge": saved_answers(write(HUGE)),
    "saved-answers-missing": saved_answers(FILE_KINDS["missing"]),
    "add-secondary-deep": add_secondary(write(DEEP_TOML_DOTTED)),
    "add-secondary-not-utf8": add_secondary(write(NOT_UTF8)),
    "add-secondary-missing": add_secondary(FILE_KINDS["missing"]),
    # the journal and the report, through firstboot status
    "journal-nul": status_with(paths.JOURNAL, write(b"{\0}")),
    "journal-not-utf8": status_with(paths.JOURNAL, write(b'{"version": "\xff"}')),
    "journal-deep": status_with(paths.JOURNAL, write(DEEP_JSON)),
    "journal-directory": status_with(paths.JOURNAL, directory),
    "journal-loop": status_with(paths.JOURNAL, symlink_loop),
    "journal-truncated": status_with(paths.JOURNAL, write(JOURNAL_GOOD_SHAPE[:20])),
    "journal-wrong-types": status_with(paths.JOURNAL, write(
        b'{"version": 1, "key": "k", "done": 5}')),
    "journal-foreign-version": status_with(paths.JOURNAL, write(b'{"version": 99}')),
    "journal-huge": status_with(paths.JOURNAL, write(HUGE)),
    "report-nul": status_with(paths.REPORT, write(b'{"ok": true}\0')),
    "report-not-utf8": status_with(paths.REPORT, write(b'{"ok": "\xfe"}')),
    "report-deep": status_with(paths.REPORT, write(DEEP_JSON_OBJECT)),
    "report-directory": status_with(paths.REPORT, directory),
    "report-truncated": status_with(paths.REPORT, write(b'{"ok": tr')),
    "report-a-list": status_with(paths.REPORT, write(b"[1, 2]")),
    "report-warnings-not-a-list": status_with(paths.REPORT, write(b'{"warnings": 7}')),
    "status-root-is-a-file": args("firstboot", "status", "--root", str(GOOD_ANSWERS),
                                  named=str(GOOD_ANSWERS)),
    "status-root-missing": args("firstboot", "status", "--root", "{case}/nowhere",
                                named="nowhere"),
    "status-root-too-long": args("firstboot", "status", "--root", f"{{case}}/{LONG_NAME}",
                                 named="nnnnnnnn"),
    # hardware facts snapshots
    **{f"facts-{k}": facts_check(f) for k, f in FILE_KINDS.items()},
    "facts-deep": facts_check(write(DEEP_JSON)),
    "facts-truncated": facts_check(write(b'{"cpu": {"logical": 4')),
    "facts-wrong-types": facts_check(write(FACTS_WRONG_TYPES)),
    "facts-huge-integer": facts_check(write(b'{"cpu": {"logical": ' + b"7" * 5000 + b"}}")),
    "facts-a-list": facts_check(write(b"[]")),
    "facts-save-deep": facts_save(write(DEEP_JSON_OBJECT)),
    "facts-save-to-a-directory": args("hardware", "facts", "--root", str(REPO / "tests"),
                                      "--save", "{case}", named="cannot write"),
    "facts-root-is-a-file": args("hardware", "check", "--root", str(GOOD_ANSWERS),
                                 named=str(GOOD_ANSWERS)),
    "facts-root-missing": args("hardware", "check", "--root", "{case}/nowhere",
                               named="nowhere"),
    "host-facts-nul": host_facts(write(b'{"nics": []}\0')),
    "host-facts-deep": host_facts(write(DEEP_JSON)),
    "host-facts-directory": host_facts(directory),
    # files of a --root tree the plan reads
    "root-main-cf-directory": target_file("/etc/postfix/main.cf", directory),
    "root-main-cf-not-utf8": target_file("/etc/postfix/main.cf", write(b"relayhost = \xff\n")),
    "root-os-release-nul": target_file("/etc/os-release", write(b"ID=rocky\0\n")),
    # kickstarts, from a file and from standard input
    "kickstart-unbalanced-quote": kickstart(write(b'part / --fstype="xfs --size=1\n')),
    "kickstart-nul": kickstart(write(b"text\0\n")),
    "kickstart-not-utf8": kickstart(write(b"text\nrootpw \xff\n")),
    "kickstart-directory": kickstart(directory),
    "kickstart-missing": kickstart(FILE_KINDS["missing"]),
    "kickstart-huge": kickstart(write(HUGE)),
    "kickstart-loop": kickstart(symlink_loop),
    "kickstart-stdin-not-utf8": kickstart_stdin(b"text\n\xff\n"),
    "kickstart-render-to-a-directory": args("kickstart", "render", "-o", "{case}",
                                            named="cannot write"),
    "kickstart-render-name-too-long": args("kickstart", "render", "-o",
                                           f"{{case}}/{LONG_PATH}", named="d" * 50),
    "kickstart-empty-quoted-word": kickstart(write(b"text\n''\n")),
    "kickstart-stdin-huge": kickstart_stdin(HUGE),
    "kickstart-stdin-unbalanced-quote": kickstart_stdin(b"network --hostname='x\n"),
    # ISO images: cheap bad files only (no image is built)
    "iso-inspect-directory": iso_inspect(directory),
    "iso-inspect-empty": iso_inspect(write(b"")),
    "iso-inspect-not-an-iso": iso_inspect(write(b"\x7fELF" + b"\1" * 70000)),
    "iso-inspect-missing": iso_inspect(FILE_KINDS["missing"]),
    "iso-inspect-loop": iso_inspect(symlink_loop),
    "iso-inspect-device": args("iso", "inspect", "/dev/null", named="/dev/null"),
    "iso-base-directory": iso_base(directory),
    "iso-base-empty": iso_base(write(b"")),
    "iso-base-not-an-iso": iso_base(write(b"PK\3\4" + b"\0" * 70000)),
    "iso-base-missing": iso_base(FILE_KINDS["missing"]),
    "iso-base-loop": iso_base(symlink_loop),
    # arguments
    "arg-calls-not-a-number": args("hardware", "size", "--concurrent-calls", "many",
                                   named="--concurrent-calls"),
    "arg-calls-negative": args("hardware", "size", "--concurrent-calls", "-5",
                               named="-5"),
    "arg-check-calls-float": args("hardware", "check", "--concurrent-calls", "1.5",
                                  named="--concurrent-calls"),
    "arg-menu-timeout-not-a-number": args("iso", "build", "--base", "{case}/b.iso", "--out",
                                          "{case}/o.iso", "--menu-timeout", "soon",
                                          named="--menu-timeout"),
    "arg-firstboot-root-is-a-file": args("firstboot", "--answers", str(GOOD_ANSWERS), "--yes",
                                         "--root", str(GOOD_ANSWERS), named="--root"),
    "arg-plan-root-too-long": args("firstboot", "plan", str(GOOD_ANSWERS), "--root",
                                   f"{{case}}/{LONG_PATH}", named="--root"),
    "arg-plan-root-missing": args("firstboot", "plan", str(GOOD_ANSWERS), "--root",
                                  "{case}/nowhere", named="nowhere"),
    "arg-unknown-command": args("answers", "frobnicate", named="frobnicate"),
    "arg-validate-no-file": args("answers", "validate", named="FILE"),
    # pbx apply / status
    **{f"answers-pbx-site-{k}": answers_site(f) for k, f in SITE_KINDS.items()},
    **{f"pbx-apply-{k}": pbx_apply(f) for k, f in SITE_KINDS.items()},
    "pbx-apply-root-missing": args("pbx", "apply", ACME_SITE, "--root", "{case}/nowhere",
                                   named="--root"),
    "pbx-apply-root-is-a-file": args("pbx", "apply", ACME_SITE, "--root", ACME_SITE,
                                     named="--root"),
    "pbx-apply-in-root-without-asterisk": args("pbx", "apply", ACME_SITE, "--root", "{case}",
                                               "--in-root", "{case}", named="--in-root"),
    "pbx-apply-root-is-no-box": args("pbx", "apply", ACME_SITE, "--root", "{case}",
                                     "--dry-run", named="etc/asterisk"),
    "pbx-status-root-is-a-file": args("pbx", "status", "--root", ACME_SITE, named="--root"),
    "wizard-without-terminal": lambda case: Run(
        ["firstboot", "--root", str(seed_root(case / "root", "debian12"))], "terminal",
        watched=case / "root"),
}


def _rename(run: Run, sub: str) -> Run:
    run.argv[1] = sub
    return run


def _env() -> dict[str, str]:
    return cli_env()


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    return run_corpus(CASES, tmp_path_factory, "bad-inputs")


def test_the_corpus_is_large() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_clear_refusal(results: dict[str, Run], name: str) -> None:
    check_refusal(results[name])


@pytest.mark.parametrize("name", ["answers-validate-deep-array", "saved-answers-nul",
                                  "journal-not-utf8", "facts-deep", "kickstart-stdin-huge",
                                  "iso-base-loop", "arg-calls-not-a-number"])
def test_a_fresh_interpreter_says_the_same(results: dict[str, Run], name: str,
                                           tmp_path: Path) -> None:
    """The forked cases are what ``python -m appliance.cli`` gives, exit code and words."""
    run = CASES[name](tmp_path)
    fresh = subprocess.run([sys.executable, "-m", "appliance.cli", *run.argv],
                           input=run.stdin, capture_output=True, cwd=tmp_path, env=_env(),
                           timeout=60, check=False)
    forked, case = results[name].result, results[name].case
    assert forked is not None and case is not None
    assert fresh.returncode == forked.returncode
    assert (fresh.stderr.replace(bytes(tmp_path), b"CASE")
            == forked.stderr.replace(bytes(case), b"CASE"))


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b'{"nodes": 5}', b'{"nodes": [1]}',
                                     b"\xff", b"\0", DEEP_JSON])
def test_a_broken_lab_state_is_named(tmp_path: Path, content: bytes) -> None:
    """The lab's own state file (it has no command-line path, so in process)."""
    from appliance.errors import ExpandError
    from lab import state as control

    (tmp_path / control.STATE_NAME).write_bytes(content)
    with pytest.raises(ExpandError, match=control.STATE_NAME):
        control.node_names(tmp_path)
    with pytest.raises(ExpandError, match=control.STATE_NAME):
        control.status(tmp_path)


def test_a_fake_tree_with_a_fifo_and_a_huge_file_does_not_hang(tmp_path: Path) -> None:
    """hardware --root DIR reads DIR/proc and DIR/sys: a FIFO there must not block the
    command, a huge file is skipped (noted as not read), not loaded."""
    (tmp_path / "proc").mkdir()
    os.mkfifo(tmp_path / "proc/cpuinfo")
    (tmp_path / "proc/meminfo").write_bytes(b"MemTotal: 1 kB\n" + b"x" * (MIB + 1))
    proc = subprocess.run([sys.executable, "-m", "appliance.cli", "hardware", "facts",
                           "--root", str(tmp_path), "--json"], capture_output=True,
                          env=_env(), timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    facts = json.loads(proc.stdout)
    assert facts["cpu"]["logical"] == 0 and facts["memory"]["total_bytes"] == 0
