"""``pbx apply``: a site → a proven release → live, with only the changed modules reloaded.

Steps (each reported through ``progress``): render (pbx.render, secrets from
pbx.secrets_store) → the release tree and what changed (pbx.apply_plan, pure) → nothing
changed: done, nothing written or reloaded → a new release folder (pbx.releases) → proof on a
throwaway Asterisk (pbx.throwaway.prove; a rejected release is removed and the live one is
untouched) → a change no reload applies while Asterisk runs: the release is kept staged
(not live, recorded as pending) and "restart required" is reported; nothing is flipped or
reloaded, so the box never runs half of it → flip the /etc/asterisk symlink (the box's own
/etc/asterisk becomes release 0001 on the first apply) → no Asterisk running here (a passive
cluster node): the release is live on disk, done → the selected reloads → the live counts,
read by the proof's own parsers, must equal the model's → otherwise flip back, reload the
same modules again, and report why.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.errors import ExpandError
from appliance.readers import ReadError, read_bytes, show_path
from appliance.reports import Report, ValidationFailed
from appliance.runner import Result, Runner
from appliance.wait import poll
from pbx import releases, secrets_store
from pbx.apply_plan import ApplyPlan, expect_of, plan, release_name
from pbx.asterisk_counts import (
    Expect,
    count_problems,
    parse_contexts,
    parse_endpoints,
    parse_queues,
)
from pbx.releases import ETC, Release
from pbx.render import DEFAULT_BIND, expected, render
from pbx.site import check_file
from pbx.throwaway import AsteriskPlace, prove

Progress = Callable[[str], None]
EXIT_CODES = {"applied": 0, "unchanged": 0, "on-disk": 0, "dry-run": 0, "rejected": 1,
              "restart-required": 3}
_RELOAD_FAILED = re.compile(r"\b(fail\w*|error|not (reloaded|found|loaded|running))\b", re.I)


@dataclass
class Outcome:
    status: str  # applied, unchanged, on-disk, dry-run, rejected, restart-required
    release: str | None = None
    digest: str = ""
    changed: tuple[str, ...] = ()  # target paths
    reloads: tuple[str, ...] = ()  # CLI commands run (or, in a dry run, that would run)
    restart: tuple[str, ...] = ()  # "file: why" for changes only a restart applies
    notes: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    reason: str = ""
    counts: dict[str, Any] = field(default_factory=dict)
    rolled_back: bool = False

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "release": self.release, "digest": self.digest,
                "changed": list(self.changed), "reloads": list(self.reloads),
                "restart_required": list(self.restart), "notes": list(self.notes),
                "problems": list(self.problems), "reason": self.reason,
                "counts": self.counts, "rolled_back": self.rolled_back,
                "exit": self.exit_code}


def live_cli(place: AsteriskPlace, runner: Runner, command: str,
             timeout: float = 30) -> Result:
    """``asterisk -rx`` on the box's running Asterisk (its default asterisk.conf)."""
    return runner.run([*place.prefix, place.binary, "-rx", command], check=False,
                      timeout=timeout)


def asterisk_up(place: AsteriskPlace, runner: Runner) -> bool:
    try:
        answer = live_cli(place, runner, "core show version", timeout=15)
    except ExpandError:  # no asterisk binary: nothing runs
        return False
    return answer.returncode == 0 and answer.stdout.startswith("Asterisk")


def live_counts(place: AsteriskPlace, runner: Runner, expect: Expect
                ) -> tuple[dict[str, Any], list[str]]:
    """The running Asterisk's endpoints, contexts and queues, and how they differ from
    ``expect`` (read and judged exactly as the proof does)."""
    endpoints = parse_endpoints(live_cli(place, runner, "pjsip show endpoints"))
    contexts = parse_contexts(live_cli(place, runner, "dialplan show").stdout)
    queues = parse_queues(live_cli(place, runner, "queue show").stdout)
    counts = {"endpoints": endpoints, "contexts": len(contexts),
              "queues": {n: {"strategy": q.strategy, "members": list(q.members)}
                         for n, q in queues.items()}}
    return counts, count_problems(expect, endpoints, contexts, queues)


def _site_sha(site_path: Path) -> str:
    try:
        return hashlib.sha256(read_bytes(site_path, what="site file")).hexdigest()
    except ReadError:
        return ""


def _base_and_live(root: Path) -> tuple[releases.Tree, releases.Tree, Release | None]:
    """The packaged base files, the live tree, the live release (None before the first
    apply, when /etc/asterisk is still the box's own folder)."""
    etc = root / ETC.lstrip("/")
    found = releases.all_releases(root)
    name = releases.live_name(root)
    live = next((r for r in found if r.name == name), None)
    if live is None:
        if etc.is_symlink() or not etc.is_dir():
            raise ExpandError(f"{show_path(etc)}: not a directory nor a release of ours "
                              "(is asterisk installed?)")
        tree = releases.read_tree(etc)
        return tree, tree, None
    original = next((r for r in found if r.meta.get("kind") == "original"), live)
    return releases.read_tree(original.path), releases.read_tree(live.path), live


def _reload(place: AsteriskPlace, runner: Runner, commands: tuple[str, ...],
            progress: Progress) -> list[str]:
    failed = []
    for command in commands:
        answer = live_cli(place, runner, command)
        text = (answer.stdout + answer.stderr).strip()
        bad = answer.returncode != 0 or _RELOAD_FAILED.search(text)
        progress(f"reload: {command}: {'FAILED ' if bad else ''}{text.splitlines()[-1:] or ''}")
        if bad:
            failed.append(f"'{command}' failed: {' | '.join(text.splitlines()[-3:])}")
    return failed


def apply_site(site_path: Path, *, root: Path = Path("/"), place: AsteriskPlace | None = None,
               live_place: AsteriskPlace | None = None, runner: Runner | None = None,
               bind: str = DEFAULT_BIND, dry_run: bool = False, keep: int = releases.KEEP,
               progress: Progress = lambda line: None, boot_timeout: float = 60,
               settle: float = 10) -> Outcome:
    """Apply ``site_path`` to the box under ``root`` (module docstring). ``place`` runs the
    throwaway proof; ``live_place`` reaches the box's running Asterisk (None: none is
    reachable from here, as under a --root without its Asterisk). Raises ValidationFailed
    for a bad site, ExpandError for a root that is not a box."""
    runner = runner or Runner()
    place = place or AsteriskPlace()
    site, reports = check_file(site_path)
    if site is None:
        raise ValidationFailed(reports)
    # In a cluster the generated secrets derive from the shared authkey: both nodes agree.
    secrets, keep_secrets = secrets_store.complete(site, secrets_store.load(root),
                                                   authkey=secrets_store.cluster_key(root))
    for secret in secrets.all():
        runner.redactor.add(secret)
    files = render(site, secrets, source=show_path(site_path), bind=bind)
    progress(f"render: {len(files)} files from {show_path(site_path)}")
    base, live_tree, live = _base_and_live(root)
    wanted = plan(base, files, live_tree)
    model = expected(site)
    expect = expect_of(model)
    outcome = Outcome("dry-run", live.name if live else None, wanted.digest,
                      wanted.changed_targets, wanted.selection.reloads,
                      wanted.selection.restart, wanted.notes)
    if wanted.unchanged:
        progress(f"no change: release {outcome.release or '(the box own)'} already holds it")
        if not dry_run:
            secrets_store.save(root, keep_secrets)
            if releases.pending_release(root):
                releases.clear_pending(root)
        outcome.status, outcome.reloads, outcome.restart = "unchanged", (), ()
        return outcome
    progress(f"plan: {len(wanted.changed)} file(s) changed; reloads: "
             f"{', '.join(wanted.selection.reloads) or 'none'}")
    if dry_run:
        return outcome
    secrets_store.save(root, keep_secrets)
    release = _release(root, wanted, site_path, model)
    outcome.release = release.name
    progress(f"release: {release.target}")
    ours = [n for n in (release_name(t) for t in files) if not n.startswith("_outside/")]
    return _prove_and_go(root, release, ours, wanted, expect, outcome,
                         place, live_place, runner, progress, boot_timeout, settle, keep)


def _release(root: Path, wanted: ApplyPlan, site_path: Path,
             model: dict[str, Any]) -> Release:
    """The staged release of this digest (a rerun while a restart is pending), or a new one."""
    for existing in releases.all_releases(root):
        if existing.digest == wanted.digest and existing.meta.get("kind") == "site":
            return existing
    meta = {"digest": wanted.digest, "kind": "site", "site": str(site_path),
            "site_sha256": _site_sha(site_path),
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "expected": model}
    return releases.create(root, wanted.tree, meta)


def _prove_and_go(root: Path, release: Release, ours: list[str], wanted: ApplyPlan,
                  expect: Expect, outcome: Outcome, place: AsteriskPlace,
                  live_place: AsteriskPlace | None, runner: Runner, progress: Progress,
                  boot_timeout: float, settle: float, keep: int) -> Outcome:
    try:
        proof = prove(release.path, expect, place=place, runner=runner,
                      boot_timeout=boot_timeout, ours=ours)
    except ExpandError as exc:
        return _reject(root, release, outcome, f"the proof could not run: {exc}", ())
    progress(f"proof: {proof.summary()}")
    if not proof.ok:
        return _reject(root, release, outcome, "the throwaway Asterisk rejected it",
                       proof.problems)
    running = live_place is not None and asterisk_up(live_place, runner)
    if wanted.selection.restart_required and running:
        releases.set_pending(root, release.name, list(wanted.selection.restart))
        progress("restart required: the release is staged, not live")
        outcome.status, outcome.reloads = "restart-required", ()
        outcome.reason = ("Asterisk cannot reload these changes: the release is proven and "
                          "kept staged, nothing is live; rerun when Asterisk is stopped")
        return outcome
    releases.adopt_original(root, {"created": release.meta.get("created", "")})
    previous = releases.live_name(root)
    releases.flip(root, release)
    progress(f"flip: {ETC} -> {release.target}")
    releases.clear_pending(root)
    if not running or live_place is None:
        outcome.status, outcome.reloads = "on-disk", ()
        outcome.reason = "no Asterisk runs here: the release is live on disk, nothing reloaded"
        progress(outcome.reason)
        releases.prune(root, keep)
        return outcome
    failed = _reload(live_place, runner, wanted.selection.reloads, progress)
    counts: dict[str, Any] = {}
    problems: list[str] = []
    if not failed:
        settled, (counts, problems) = poll(
            lambda: live_counts(live_place, runner, expect), lambda answer: not answer[1],
            timeout=settle, interval=0.5)
        progress(f"counts: endpoints={counts.get('endpoints')} "
                 f"contexts={counts.get('contexts')} queues={len(counts.get('queues', {}))}"
                 f"{'' if settled else ' (differ from the model)'}")
    outcome.counts = counts
    if failed or problems:
        assert previous is not None  # adopt_original made /etc/asterisk a release
        back = next(r for r in releases.all_releases(root) if r.name == previous)
        releases.flip(root, back)
        _reload(live_place, runner, wanted.selection.reloads, progress)
        progress(f"rolled back: {ETC} -> {back.target}")
        outcome.status, outcome.rolled_back = "rejected", True
        outcome.problems = tuple(failed + problems)
        outcome.reason = f"the live Asterisk did not take it; back on {back.name}"
        releases.remove(root, release)
        return outcome
    outcome.status = "applied"
    releases.prune(root, keep)
    return outcome


def _reject(root: Path, release: Release, outcome: Outcome, reason: str,
            problems: tuple[str, ...]) -> Outcome:
    if releases.pending_release(root) != release.name:
        releases.remove(root, release)
    outcome.status, outcome.reason, outcome.problems = "rejected", reason, problems
    outcome.reloads, outcome.release = (), releases.live_name(root)
    return outcome


def bad_input(argument: str, message: str) -> ValidationFailed:
    return ValidationFailed([Report(argument, "", message)])
