"""pbx apply without Asterisk: the plan (digests, changed files, reload selection), the
releases on disk, and every decision of the apply (rejected, restart required, rollback,
no change) with the proof and the live CLI answered by stand-ins. The real Asterisk runs in
tests/integration/test_pbx_apply_live.py."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from appliance.reports import ValidationFailed
from appliance.runner import RecordingRunner, Result
from pbx import apply as apply_module
from pbx import releases
from pbx.apply import apply_site
from pbx.apply_plan import modules_change, plan
from pbx.asterisk_counts import Queue
from pbx.reload import select
from pbx.render import Rendered, expected, render
from pbx.secrets_store import complete
from pbx.site import load_site
from pbx.site_key import site_path
from pbx.throwaway import AsteriskPlace, Proof

REPO = Path(__file__).resolve().parents[2]
ACME = REPO / "examples" / "site" / "acme.toml"
BASE = {"asterisk.conf": (b"[directories]\n", 0o640), "logger.conf": (b"[logfiles]\n", 0o640),
        "modules.conf": (b"[modules]\nautoload=yes\nnoload => chan_alsa.so\n", 0o640)}


def test_reload_selection_names_each_module_once() -> None:
    chosen = select(["pjsip.conf", "queues.conf", "extensions.conf", "expand-pins"])
    assert chosen.reloads == ("module reload res_pjsip.so", "dialplan reload",
                              "module reload app_queue.so")
    assert not chosen.restart_required


def test_dahdi_and_unknown_files_need_a_restart() -> None:
    chosen = select(["chan_dahdi.conf", "/etc/dahdi/system.conf", "sip.conf"])
    assert chosen.reloads == ()
    assert [r.split(":")[0] for r in chosen.restart] == ["/etc/dahdi/system.conf",
                                                         "chan_dahdi.conf", "sip.conf"]


def test_modules_conf_noloads_added_are_notes_and_a_freed_fax_module_loads() -> None:
    old = b"[modules]\nautoload=yes\nnoload => res_fax_spandsp.so\nload => res_musiconhold.so\n"
    new = b"[modules]\nautoload = yes\nnoload => pbx_lua.so\n"
    loads, notes, restart = modules_change(old, new)
    assert loads == ["module load res_fax_spandsp.so"] and not restart
    assert "pbx_lua" in notes[0]
    assert modules_change(old, b"[modules]\nautoload=no\n")[2] is True


def _files(extra: str = "") -> dict[str, Rendered]:
    return {"/etc/asterisk/pjsip.conf": Rendered(f"[t]\n{extra}", 0o640),
            "/etc/asterisk/modules.conf": Rendered(BASE["modules.conf"][0].decode(), 0o640),
            "/etc/dahdi/system.conf": Rendered("span=1\n")}


def test_plan_keeps_base_files_and_digests_stably() -> None:
    first = plan(BASE, _files(), None)
    assert set(first.tree) == {"asterisk.conf", "logger.conf", "modules.conf", "pjsip.conf",
                               "_outside/etc/dahdi/system.conf"}
    assert first.digest == plan(BASE, _files(), None).digest
    again = plan(BASE, _files(), first.tree)
    assert again.unchanged and again.selection.reloads == ()
    changed = plan(BASE, _files("x=1\n"), first.tree)
    assert changed.changed == ("pjsip.conf",) and changed.digest != first.digest
    assert changed.selection.reloads == ("module reload res_pjsip.so",)
    dahdi = plan(BASE, {**_files(), "/etc/dahdi/system.conf": Rendered("span=2\n")},
                 first.tree)
    assert dahdi.changed_targets == ("/etc/dahdi/system.conf",)
    assert dahdi.selection.restart_required


def test_release_create_adopt_flip_prune(tmp_path: Path) -> None:
    (tmp_path / "etc/asterisk").mkdir(parents=True)
    (tmp_path / "etc/asterisk/asterisk.conf").write_text("[directories]\n")
    original = releases.adopt_original(tmp_path, {"created": "t"})
    assert original is not None and original.name.startswith("0001-")
    assert releases.live_name(tmp_path) == original.name
    assert (original.path / "asterisk.conf").read_text() == "[directories]\n"
    assert releases.adopt_original(tmp_path, {}) is None  # already a link
    made = []
    for n in range(8):
        tree = {"asterisk.conf": (b"x", 0o640), "pjsip.conf": (str(n).encode(), 0o600),
                "_outside/etc/dahdi/system.conf": (b"span", 0o644)}
        made.append(releases.create(tmp_path, tree, {"digest": releases.digest(tree),
                                                     "kind": "site"}))
    assert oct(made[0].path.stat().st_mode & 0o777) == "0o750"
    releases.flip(tmp_path, made[3])
    assert os.readlink(tmp_path / "etc/asterisk") == made[3].target
    assert (tmp_path / "etc/dahdi/system.conf").read_text() == "span"
    removed = releases.prune(tmp_path, keep=2)
    left = [r.name for r in releases.all_releases(tmp_path)]
    assert original.name in left and made[3].name in left and len(left) == 4
    assert made[0].name in removed


# --- the apply's decisions, the proof and the live CLI stood in for -----------------------

def _model_answers(site_file: Path, endpoints_delta: int = 0) -> dict[tuple[str, ...], Result]:
    site = load_site(site_file)
    model = expected(site)
    contexts = "".join(f"[ Context '{c}' created by 'pbx_config' ]\n"
                       for c in model["contexts"])
    queues = "".join(f"{n} has 0 calls (max unlimited) in '{q['strategy']}' strategy\n"
                     "   Members: \n" + "".join(f"      {m} (ringinuse disabled)\n"
                                               for m in q["members"]) + "   No Callers\n\n"
                     for n, q in model["queues"].items())
    count = len(model["endpoints"]) + endpoints_delta

    def ok(text: str) -> Result:
        return Result((), 0, text, "")
    return {("asterisk", "-rx", "core show version"): ok("Asterisk 22.0 built by x"),
            ("asterisk", "-rx", "pjsip show endpoints"): ok(f"Objects found: {count}\n"),
            ("asterisk", "-rx", "dialplan show"): ok(contexts),
            ("asterisk", "-rx", "queue show"): ok(queues),
            ("asterisk", "-rx", "module reload"): ok("Module reloaded successfully.\n"),
            ("asterisk", "-rx", "dialplan reload"): ok("Dialplan reloaded.\n")}


def _proof(ok: bool) -> Proof:
    return Proof(ok, 7, (), {"recl": Queue("rrmemory", ())}, () if ok else ("pjsip.conf:3: "
                 "ERROR: bad",), (), (), (), None, 1.0)


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "box"
    (root / "etc/asterisk").mkdir(parents=True)
    for name, (data, mode) in BASE.items():
        (root / "etc/asterisk" / name).write_bytes(data)
        (root / "etc/asterisk" / name).chmod(mode)
    monkeypatch.setattr(apply_module, "prove", lambda *a, **k: _proof(True))
    return root


def _apply(root: Path, runner: RecordingRunner, site: Path = ACME, **kw: Any
           ) -> apply_module.Outcome:
    return apply_site(site, root=root, place=AsteriskPlace(), live_place=AsteriskPlace(),
                      runner=runner, settle=0, **kw)


def _no_e1(tmp_path: Path) -> Path:
    text = ACME.read_text().replace('trunk = "pstn"', 'trunk = "gsm"')
    head, _, tail = text.partition("[e1-trunks.pstn]")
    out = tmp_path / "no-e1.toml"
    out.write_text(head + tail[tail.index("[sip-trunks"):])
    return out


def test_first_apply_with_a_running_asterisk_reloads_and_checks(box: Path,
                                                                tmp_path: Path) -> None:
    site = _no_e1(tmp_path)
    runner = RecordingRunner(answers=_model_answers(site))
    outcome = _apply(box, runner, site)
    assert outcome.status == "applied", outcome
    assert ("asterisk", "-rx", "dialplan reload") in runner.calls
    assert releases.live_name(box) == outcome.release
    assert len(releases.all_releases(box)) == 2
    secrets = box / "var/lib/expand/pbx/secrets.json"
    assert secrets.stat().st_mode & 0o777 == 0o600
    for secret in json.loads(secrets.read_text())["sip"].values():
        assert all(secret not in " ".join(call) for call in runner.calls)
    again = RecordingRunner(answers=_model_answers(site))
    rerun = _apply(box, again, site)
    assert rerun.status == "unchanged" and rerun.exit_code == 0 and again.calls == []
    assert len(releases.all_releases(box)) == 2


def test_a_rejected_proof_leaves_the_box_as_it_was(box: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apply_module, "prove", lambda *a, **k: _proof(False))
    site = _no_e1(tmp_path)
    outcome = _apply(box, RecordingRunner(answers=_model_answers(site)), site)
    assert (outcome.status, outcome.exit_code) == ("rejected", 1)
    assert outcome.problems == ("pjsip.conf:3: ERROR: bad",)
    assert not (box / "etc/asterisk").is_symlink()  # still the box's own folder
    assert releases.all_releases(box) == []


def test_live_counts_that_differ_roll_back(box: Path, tmp_path: Path) -> None:
    site = _no_e1(tmp_path)
    first = _apply(box, RecordingRunner(answers=_model_answers(site)), site)
    changed = tmp_path / "changed.toml"
    changed.write_text(site.read_text().replace('members = ["550", "551"]',
                                                'members = ["550", "551", "770"]', 1))
    runner = RecordingRunner(answers=_model_answers(site, endpoints_delta=-1))
    outcome = _apply(box, runner, changed)
    assert (outcome.status, outcome.rolled_back, outcome.exit_code) == ("rejected", True, 1)
    assert any("pjsip endpoints" in p for p in outcome.problems)
    assert releases.live_name(box) == first.release
    reloads = [c for c in runner.calls if c[2] == "module reload app_queue.so"]
    assert len(reloads) == 2  # the new queues.conf, then the old one again
    assert len(releases.all_releases(box)) == 2


def test_a_dahdi_change_on_a_running_box_is_staged(box: Path) -> None:
    runner = RecordingRunner(answers=_model_answers(ACME))
    outcome = _apply(box, runner)
    assert (outcome.status, outcome.exit_code) == ("restart-required", 3)
    assert not (box / "etc/asterisk").is_symlink()
    assert not (box / "etc/dahdi/system.conf").exists()
    assert releases.pending_release(box) == outcome.release
    assert not [c for c in runner.calls if "reload" in " ".join(c)]


def test_no_running_asterisk_goes_live_on_disk(box: Path) -> None:
    runner = RecordingRunner(answers={("asterisk",): Result((), 1, "", "Unable to connect")})
    outcome = _apply(box, runner)
    assert (outcome.status, outcome.exit_code) == ("on-disk", 0)
    assert releases.live_name(box) == outcome.release
    assert (box / "etc/dahdi/system.conf").is_file()


def test_dry_run_writes_nothing(box: Path) -> None:
    before = sorted(str(p) for p in box.rglob("*"))
    outcome = _apply(box, RecordingRunner(), dry_run=True)
    assert outcome.status == "dry-run" and outcome.restart
    assert sorted(str(p) for p in box.rglob("*")) == before


def test_a_bad_site_is_validation_failed(box: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[site]\nname = 1\n")
    with pytest.raises(ValidationFailed):
        _apply(box, RecordingRunner(), bad)


def test_render_is_the_same_as_pbx_render(tmp_path: Path) -> None:
    """The release holds exactly what ``pbx render`` writes (one renderer)."""
    site = load_site(ACME)
    secrets, _ = complete(site, {}, generate=lambda kind: "S" * 12 if kind == "sip"
                          else "123456")
    files = render(site, secrets)
    made = plan(BASE, files, None)
    assert made.tree["pjsip.conf"][0] == files["/etc/asterisk/pjsip.conf"].content.encode()


@pytest.mark.parametrize(("value", "problem"), [
    ("", None), (str(ACME), None), ("relative.toml", "absolute"), (3, "not a path"),
    ("/nowhere/site.toml", "problem"), (str(REPO), "problem")])
def test_the_answers_site_key(value: object, problem: str | None) -> None:
    checked, found = site_path(value)
    if problem is None:
        assert found is None and checked == value
    else:
        assert found is not None and problem in found
