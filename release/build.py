"""``release build``: the product RPM from this checkout, rpmbuild in a temp topdir, the
result checked by rpmlint and moved into the output folder only when complete."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.errors import ExpandError
from appliance.readers import is_directory, show_path
from appliance.runner import Runner
from release import wheelhouse, wheeltags
from release.plan import PackagePlan, check_release, plan_package, sources, spec_text
from release.wheelhouse import ProgressFn

REPO = Path(__file__).resolve().parent.parent
RPMLINTRC = Path(__file__).with_name("expand-appliance.rpmlintrc")
DEFAULT_CACHE = Path("/var/cache/expand/release-wheels")
RPMBUILD_TIMEOUT_S = 600


@dataclass(frozen=True)
class BuildOptions:
    out: Path = Path("dist")
    wheels: Path | None = None      # an offline wheelhouse; None: fill DEFAULT_CACHE first
    release: str = "1"
    checkout: Path = REPO
    cache: Path = DEFAULT_CACHE


@dataclass(frozen=True)
class BuildResult:
    path: Path
    version: str
    release: str
    size_bytes: int
    wheels: tuple[str, ...]
    requires: tuple[str, ...]
    rpmlint: str                    # rpmlint's summary line ("... 0 errors, 2 warnings ...")
    build_s: float

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "version": self.version, "release": self.release,
                "size_bytes": self.size_bytes, "wheels": list(self.wheels),
                "requires": list(self.requires), "rpmlint": self.rpmlint,
                "build_s": round(self.build_s, 2)}


def check_out_folder(out: Path) -> None:
    """Refuse, before anything is written, an --out that cannot take the package."""
    if out.exists() and not is_directory(out):
        raise ExpandError(f"--out {show_path(out)}: exists and is not a folder")
    folder = out if out.exists() else out.parent
    if not is_directory(folder):  # only one missing level is created (dist/, not a/b/c/)
        raise ExpandError(f"--out {show_path(out)}: its parent is not an existing folder")
    if os.statvfs(folder).f_flag & os.ST_RDONLY:
        raise ExpandError(f"--out {show_path(out)}: on a read-only file system")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExpandError(f"--out {show_path(out)}: not writable")


def build_release(opts: BuildOptions, runner: Runner, progress: ProgressFn) -> BuildResult:
    started = time.monotonic()
    check_out_folder(opts.out)
    check_release(opts.release)
    name, version, _ = wheelhouse.project(opts.checkout)
    if opts.wheels is None:
        house = opts.cache
        wheelhouse.fill(house, opts.checkout, runner, progress, what="wheel cache")
    else:
        house = opts.wheels
        wheelhouse.check(house)
    with tempfile.TemporaryDirectory(prefix="expand-release-") as tmp:
        work = Path(tmp)
        progress("building the toolkit's wheel (offline)")
        toolkit = wheelhouse.build_toolkit(opts.checkout, house, work, runner)
        progress("choosing the runtime wheels (offline)")
        closure = wheelhouse.closure(toolkit, house, work, runner)
        wheels = [wheeltags.parse(p.name) for p in closure]
        for wheel in wheels:
            wheeltags.check_fits(wheel)
        plan = plan_package(version, opts.release, wheels,
                            toolkit_name=wheeltags.normalize(name),
                            changelog_date=time.strftime("%a %b %d %Y", time.gmtime()))
        progress(f"rpmbuild {plan.filename} ({len(plan.wheels)} wheels)")
        rpm = _rpmbuild(plan, closure, work, runner)
        progress("rpmlint")
        verdict = rpmlint(rpm, runner)
        final = _publish(rpm, opts.out)
    return BuildResult(final, version, opts.release, final.stat().st_size,
                       tuple(w.filename for w in plan.wheels),
                       tuple(r.expression for r in plan.requires), verdict,
                       time.monotonic() - started)


def _rpmbuild(plan: PackagePlan, wheels: list[Path], work: Path, runner: Runner) -> Path:
    top = work / "rpmbuild"
    for sub in ("SOURCES", "SPECS", "BUILD", "BUILDROOT", "RPMS", "SRPMS"):
        (top / sub).mkdir(parents=True)
    for filename, text in sources().items():
        (top / "SOURCES" / filename).write_text(text)
    for wheel in wheels:
        shutil.copy2(wheel, top / "SOURCES" / wheel.name)
    spec = top / "SPECS" / "expand-appliance.spec"
    spec.write_text(spec_text(plan))
    runner.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", str(spec)],
               timeout=RPMBUILD_TIMEOUT_S)
    rpm = top / "RPMS" / "x86_64" / plan.filename
    if not rpm.is_file():
        raise ExpandError(f"rpmbuild did not write {plan.filename}")
    return rpm


def rpmlint(rpm: Path, runner: Runner) -> str:
    """rpmlint's summary line; ExpandError (with its errors) when it reports any."""
    result = runner.run(["rpmlint", "-r", str(RPMLINTRC), str(rpm)], check=False,
                        timeout=300)
    lines = result.stdout.strip().splitlines()
    summary = next((line for line in reversed(lines) if "checked" in line), "")
    errors = [line for line in lines if ": E: " in line]
    if errors or result.returncode not in (0, 64) or not summary:
        detail = "; ".join(errors[:5]) or (result.stderr.strip() or result.stdout.strip())[-300:]
        raise ExpandError(f"rpmlint rejects {rpm.name}: {detail}")
    return summary


def _publish(rpm: Path, out: Path) -> Path:
    """Copy into ``out`` under a temp name, fsync, rename: no half package is ever seen."""
    out.mkdir(exist_ok=True)
    final = out / rpm.name
    tmp = out / f".{rpm.name}.partial-{os.getpid()}"
    try:
        shutil.copyfile(rpm, tmp)
        os.chmod(tmp, 0o644)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return final
