"""The apply engine: ordered, idempotent, journaled steps; a report at the end.

``apply`` is what both the wizard and ``expandctl firstboot --answers`` call. A run cut
at any point (SIGKILL, power loss) resumes from the journal and ends with the same tree
as an uninterrupted run. Success removes the sentinel and disables the unit; failure
leaves both, and the report names the step and why.

A ``StepHook`` sees each step the run applies, before and after it, and may stop the apply
right there: the network safety net (``firstboot.network_safety``) confirms the new network
before anything else runs on it. Whatever the hook, a run first restores the network that a
cut run left unconfirmed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from appliance import backup
from appliance.answers import Answers
from appliance.answers_toml import dump_answers
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.platform import Platform, detect
from appliance.readers import ReadError, load_json, show_path
from appliance.runner import RecordingRunner, Redactor, Runner
from firstboot import network_safety, paths
from firstboot.actions import Action, RemoveFile, RunCommand, WriteFile
from firstboot.host import Host, gather
from firstboot.journal import Journal, journal_key, load_journal, save_journal
from firstboot.plan import Plan, PlannedStepEntry
from firstboot.steps import Context, Step, default_steps

log = logging.getLogger("expand.firstboot")

ProgressFn = Callable[[int, str], None]
# Test hook: SIGKILL this process right after the named step is journaled (crash tests),
# or at "countdown": while the terminal asks to keep the new network (firstboot/cli.py).
KILL_AFTER_ENV = "EXPAND_FIRSTBOOT_KILL_AFTER"
FINISH = ("finish", "Saving answers and disabling first boot")
RECOVER = ("recover", "Restoring the network a cut first boot left unconfirmed")
DRY_RUN_DONE = "dry run: nothing applied"


@dataclass(frozen=True)
class StepOutcome:
    name: str
    title: str
    status: str  # "done" | "already-done" | "failed"
    detail: str
    warnings: tuple[str, ...]
    shown_once: str = field(default="", repr=False)  # screen only: never in as_dict()

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "status": self.status,
                "detail": self.detail, "warnings": list(self.warnings)}


class StepHook(Protocol):
    """Called around each step the run applies (not around one the journal skips)."""

    def before_step(self, ctx: Context, step: Step) -> None: ...

    def after_step(self, ctx: Context, outcome: StepOutcome) -> str | None:
        """None to go on; otherwise why the apply stops here (the step is reported failed)."""
        ...


@dataclass(frozen=True)
class ApplyReport:
    ok: bool
    steps: tuple[StepOutcome, ...]
    warnings: tuple[str, ...]
    dry_run: bool = False  # an alternate root: files written there, nothing run here

    @property
    def shown_once(self) -> tuple[str, ...]:
        """What the operator must see on screen (the join code) and no file may hold."""
        return tuple(s.shown_once for s in self.steps if s.shown_once)

    @property
    def failed_step(self) -> StepOutcome | None:
        return next((s for s in self.steps if s.status == "failed"), None)

    def as_dict(self) -> dict[str, Any]:
        failed = self.failed_step
        return {"ok": self.ok, "dry_run": self.dry_run,
                "failed_step": failed.name if failed else None,
                "steps": [s.as_dict() for s in self.steps], "warnings": list(self.warnings)}


def make_context(answers: Answers, *, root: Path, runner: Runner, live: bool,
                 host: Host | None = None, platform: Platform | None = None) -> Context:
    platform = platform or detect(root)
    if not live and not isinstance(runner, RecordingRunner):
        runner = RecordingRunner()  # an alternate root never touches this machine's services
    # Gathering facts only reads (ip, /proc, /sys): done for real even for an alternate root.
    return Context(answers, Path(root), live, platform,
                   host if host is not None else gather(), FileSink(root), runner)


def plan(answers: Answers, *, root: Path, live: bool | None = None, host: Host | None = None,
         platform: Platform | None = None, steps: Sequence[Step] | None = None) -> Plan:
    """What apply would do (pure: reads the target, writes nothing, runs nothing)."""
    live = Path(root) == Path("/") if live is None else live
    ctx = make_context(answers, root=root, runner=RecordingRunner(), live=live, host=host,
                       platform=platform)
    entries = []
    for step in steps or default_steps():
        planned = step.plan(ctx)
        entries.append(PlannedStepEntry(step.name, step.title, planned.actions,
                                        planned.detail, planned.warnings))
    finish = finish_actions(ctx, report_text="(the final report)", ok=True)
    entries.append(PlannedStepEntry(*FINISH, tuple(finish), "answers saved without secrets; "
                                    f"the upgrade backup in {backup.BACKUP_DIR} refreshed", ()))
    return Plan(str(root), live, ctx.platform.family, ctx.host.nics, tuple(entries))


def finish_actions(ctx: Context, *, report_text: str, ok: bool) -> list[Action]:
    """After the last step: report always; on success also answers, sentinel and unit."""
    report = WriteFile(paths.REPORT, report_text)
    if not ok:
        return [report]
    header = ("Answers applied by expandctl firstboot (secrets are never saved here)",)
    actions: list[Action] = [
        WriteFile(paths.ANSWERS, dump_answers(ctx.answers, header=header), mode=0o600),
        report, RemoveFile(paths.SENTINEL), RemoveFile(paths.UNIT_WANTS_LINK)]
    if ctx.live and ctx.sink.exists(paths.UNIT_PATH):
        actions.append(RunCommand(("systemctl", "disable", paths.UNIT_NAME)))
    return actions


def apply(answers: Answers, *, root: Path, runner: Runner, live: bool,
          progress: ProgressFn | None = None, host: Host | None = None,
          platform: Platform | None = None, steps: Sequence[Step] | None = None,
          hook: StepHook | None = None) -> ApplyReport:
    """Apply every step not yet journaled for these answers; returns the report.

    ``host`` (NICs, hardware facts) and ``platform`` default to what the machine and the
    root's /etc/os-release say; tests and dry runs pass saved ones. ``hook`` (e.g. the
    network confirmation) is called around each step applied.
    """
    ctx = make_context(answers, root=root, runner=runner, live=live, host=host,
                       platform=platform)
    with _only_run(ctx.sink):
        report = _apply(ctx, tuple(steps or default_steps()), progress, hook)
        return _keep_backup(ctx, report) if report.ok else report


def _keep_backup(ctx: Context, report: ApplyReport) -> ApplyReport:
    """Every successful apply (wizard, --answers, --reconfigure) refreshes what an upgrade
    brings back (appliance.backup), with the answers' secrets; a failure is a warning."""
    try:
        backup.refresh(ctx.sink, ctx.runner, live=ctx.live,
                       answers_text=dump_answers(ctx.answers, include_secrets=True))
    except (ExpandError, OSError) as exc:
        why = Redactor(ctx.answers.secrets())(str(exc))
        log.error("the upgrade backup was not refreshed: %s", why)
        report = replace(report, warnings=(*report.warnings, "the upgrade backup on "
                                           f"{backup.BACKUP_DIR} was not refreshed: {why}"))
        with contextlib.suppress(ExpandError, OSError):
            ctx.sink.write(paths.REPORT, json.dumps(report.as_dict(), indent=2) + "\n")
    return report


def recover_network(root: Path, runner: Runner) -> list[str] | None:
    """Restore the network a cut run left unconfirmed (the files changed), None if there
    was none; under the run lock, so a run in its countdown is never undone under it."""
    sink = FileSink(root)
    if not sink.exists(paths.NETWORK_SNAPSHOT):
        return None  # the common case writes nothing, not even the state directory
    with _only_run(sink):
        return network_safety.recover(sink, runner)


@contextlib.contextmanager
def _only_run(sink: FileSink) -> Iterator[None]:
    """One apply at a time per root (the tty1 unit and an SSH session could race): an
    exclusive lock on the state directory itself, so no lock file is left behind."""
    sink.mkdir(paths.STATE_DIR, 0o755)
    fd = os.open(sink.target(paths.STATE_DIR), os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise ExpandError("another first boot is applying to this system right now; "
                              "wait for it (expandctl firstboot status)") from exc
        yield
    finally:
        os.close(fd)


def _apply(ctx: Context, todo: tuple[Step, ...], progress: ProgressFn | None,
           hook: StepHook | None = None) -> ApplyReport:
    answers = ctx.answers
    outcomes: list[StepOutcome] = []
    notes: list[str] = []
    # Before the journal is read: the snapshot holds the journal of before the network step.
    recovered = _recover(ctx, progress)
    if isinstance(recovered, StepOutcome):
        return _finish(ctx, [recovered], Journal(""), ok=False)
    if recovered is not None:
        notes.append(recovered)
    key = journal_key(answers, ctx.platform.family, *ctx.host.nics)
    journal = load_journal(ctx.sink)
    if journal is None or journal.key != key:
        journal = Journal(key)
    for number, step in enumerate(todo):
        _tell(progress, 100 * number // (len(todo) + 1), step.title)
        outcome, journal = _run_step(ctx, step, journal, hook)
        outcomes.append(outcome)
        if outcome.status == "failed":
            return _finish(ctx, outcomes, journal, ok=False, notes=notes)
        maybe_die(step.name)
    _tell(progress, 100 * len(todo) // (len(todo) + 1), FINISH[1])
    report = _finish(ctx, outcomes, journal, ok=True, notes=notes)
    done = DRY_RUN_DONE if report.dry_run else "eXpand installed"
    _tell(progress, 100, done if report.ok else "Failed")
    return report


def _recover(ctx: Context, progress: ProgressFn | None) -> str | StepOutcome | None:
    """A note for the report when a cut run's network was restored; a failed outcome when
    that could not be done (then nothing else runs on a network nobody confirmed)."""
    try:
        changed = network_safety.recover(ctx.sink, ctx.runner)
    except (ExpandError, OSError) as exc:
        log.error("restoring the unconfirmed network failed: %s", exc)
        return _failed(ctx, *RECOVER, str(exc))
    if changed is None:
        return None
    _tell(progress, 0, RECOVER[1])
    return ("a previous first boot was cut before its new network was confirmed: the previous "
            "network configuration was restored first (" + (", ".join(changed) or
                                                             "files already back") + ")")


def _run_step(ctx: Context, step: Step, journal: Journal,
              hook: StepHook | None = None) -> tuple[StepOutcome, Journal]:
    skip = step.name in journal.done and not step.secret_inputs
    guard = None if skip else hook  # a step the journal skips writes nothing to guard
    try:
        if guard is not None:
            guard.before_step(ctx, step)
        # A step already done is re-planned (pure) so the report keeps its detail and warnings.
        result = step.plan(ctx) if skip else step.apply(ctx)
    except (ExpandError, OSError) as exc:
        log.error("step %s failed: %s", step.name, exc)
        return _after(ctx, guard, _failed(ctx, step.name, step.title, str(exc))), journal
    except Exception as exc:  # a bug must still end in a report, not a half-drawn screen
        log.exception("step %s: internal error", step.name)
        return _after(ctx, guard, _failed(ctx, step.name, step.title,
                                          f"internal error: {exc!r}")), journal
    before = journal
    if not skip:
        journal = journal.with_done(step.name)
        save_journal(ctx.sink, journal)
    log.info("step %s %s: %s", step.name, "already done" if skip else "done", result.detail)
    status = "already-done" if skip else "done"
    outcome = _after(ctx, guard, StepOutcome(step.name, step.title, status, result.detail,
                                             result.warnings, result.shown_once))
    if outcome.status == "failed" and journal is not before:
        save_journal(ctx.sink, before)  # stopped by the hook: a rerun applies it again
        journal = before
    return outcome, journal


def _after(ctx: Context, hook: StepHook | None, outcome: StepOutcome) -> StepOutcome:
    """The outcome as the hook leaves it: failed with its reason when it stops the apply."""
    if hook is None:
        return outcome
    try:
        stop = hook.after_step(ctx, outcome)
    except (ExpandError, OSError) as exc:
        log.error("after step %s: %s", outcome.name, exc)
        stop = str(exc)
    except Exception as exc:  # as for a step: a bug ends in a report
        log.exception("after step %s: internal error", outcome.name)
        stop = f"internal error: {exc!r}"
    if stop is None:
        return outcome
    return replace(_failed(ctx, outcome.name, outcome.title, stop), warnings=outcome.warnings)


def _finish(ctx: Context, outcomes: list[StepOutcome], journal: Journal, *,
            ok: bool, notes: Sequence[str] = ()) -> ApplyReport:
    warnings = tuple(dict.fromkeys([*notes, *(w for o in outcomes for w in o.warnings)]))
    report = ApplyReport(ok, tuple(outcomes), warnings, dry_run=not ctx.live)
    # Failure details quote stderr: scrub the answers' secrets whatever the runner did.
    text = Redactor(ctx.answers.secrets())(json.dumps(report.as_dict(), indent=2) + "\n")
    try:
        for action in finish_actions(ctx, report_text=text, ok=ok):
            action.execute(ctx.sink, ctx.runner)
            if isinstance(action, WriteFile) and action.path == paths.REPORT:
                maybe_die("report")
        if ok:
            save_journal(ctx.sink, Journal(journal.key, journal.done, complete=True))
    except (ExpandError, OSError) as exc:
        log.error("finishing failed: %s", exc)
        failed = ApplyReport(False, (*outcomes, _failed(ctx, *FINISH, str(exc))), warnings,
                             dry_run=not ctx.live)
        with contextlib.suppress(ExpandError, OSError):  # best effort: the report must not lie
            ctx.sink.write(paths.REPORT, json.dumps(failed.as_dict(), indent=2) + "\n")
        return failed
    return report


def _failed(ctx: Context, name: str, title: str, why: str) -> StepOutcome:
    # Details quote stderr: scrub the answers' secrets whatever the runner did.
    return StepOutcome(name, title, "failed", Redactor(ctx.answers.secrets())(why), ())


def _tell(progress: ProgressFn | None, percent: int, title: str) -> None:
    log.info("[%3d%%] %s", percent, title)
    if progress is not None:
        progress(percent, title)


def maybe_die(point: str) -> None:
    """The crash tests' kill point (``KILL_AFTER_ENV``); inert without the variable."""
    if os.environ.get(KILL_AFTER_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)


def read_report(root: Path) -> dict[str, Any] | None:
    """The last apply report; None when there is none, ExpandError naming a broken one."""
    path = FileSink(root).target(paths.REPORT)
    try:
        data = load_json(path, what="report")
    except ReadError as exc:
        if exc.missing:
            return None
        raise
    if not isinstance(data, dict) or not isinstance(data.get("warnings", []), list):
        raise ExpandError(f"{show_path(path)}: is not an apply report (expected a JSON object "
                          "with a list of warnings)")
    return data
