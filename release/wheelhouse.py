"""The wheels the package bundles: filled from PyPI into a cache, checked, and narrowed to
the toolkit's runtime closure offline (pip's own resolver, never a second one).

Online only in ``fill`` (``expandctl release wheels``, an install step); everything a
build does reads a local wheelhouse with ``pip --isolated --no-index``.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from appliance.errors import ExpandError
from appliance.readers import is_directory, load_toml, show_path
from appliance.runner import CommandFailed, Runner
from release import wheeltags
from release.wheeltags import Wheel

ProgressFn = Callable[[str], None]
# pip's options that pick wheels for the appliance instead of this host.
TARGET_OPTIONS = (
    "--only-binary=:all:", "--implementation", "cp", "--python-version", "3.11",
    *(arg for tag in ("manylinux_2_34_x86_64", "manylinux_2_28_x86_64",
                      "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64")
      for arg in ("--platform", tag)),
)
# On PyPI only as sdists: built here into (pure-Python) wheels.
SDIST_ONLY = ("pykickstart", "pythondialog")
# Not bundled into the venv but needed: pip runs the %post install, setuptools builds the
# toolkit's own wheel offline (>= 70.1 carries bdist_wheel itself).
PIP = "pip"
BUILD_REQUIRES = ("setuptools>=70.1",)
PIP_TIMEOUT_S = 1800
_MISSING = re.compile(r"No matching distribution found for (\S+)")


def pip_argv() -> list[str]:
    return [sys.executable, "-m", "pip"]


def project(checkout: Path) -> tuple[str, str, tuple[str, ...]]:
    """(name, version, runtime dependencies) from the checkout's pyproject.toml."""
    data = load_toml(checkout / "pyproject.toml", what="pyproject")
    meta = data.get("project", {})
    try:
        return str(meta["name"]), str(meta["version"]), tuple(map(str, meta["dependencies"]))
    except (KeyError, TypeError):
        raise ExpandError(f"{checkout / 'pyproject.toml'}: [project] lacks name, version or "
                          "dependencies") from None


def _requirement_name(spec: str) -> str:
    return wheeltags.normalize(re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0])


def fill(out: Path, checkout: Path, runner: Runner, progress: ProgressFn, *,
         what: str = "--out") -> list[Wheel]:
    """Download (and build, for sdist-only projects) every wheel a release build needs into
    ``out``; returns what ``out`` then holds, checked. ``what`` names ``out`` in messages."""
    _, _, deps = project(checkout)
    if out.exists() and not is_directory(out):
        raise ExpandError(f"{what} {show_path(out)}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExpandError(f"{what} {show_path(out)}: cannot create it ({exc.strerror})") \
            from None
    if _complete(out, deps, runner):
        progress(f"{out} already holds every wheel a release build needs; nothing downloaded")
        return check(out, what=what)
    sdists = [d for d in deps if _requirement_name(d) in SDIST_ONLY]
    if sdists:
        progress(f"building wheels of {', '.join(map(_requirement_name, sdists))} from sdists")
        runner.run([*pip_argv(), "wheel", "-q", "--no-deps", "--wheel-dir", str(out), *sdists],
                   timeout=PIP_TIMEOUT_S)
    progress(f"downloading wheels for {wheeltags.TARGET} into {out}")
    runner.run([*pip_argv(), "download", "-q", "--dest", str(out), "--find-links", str(out),
                *TARGET_OPTIONS, *deps, PIP, *BUILD_REQUIRES], timeout=PIP_TIMEOUT_S)
    return check(out, what=what)


def _complete(out: Path, deps: Sequence[str], runner: Runner) -> bool:
    """True when ``out`` already resolves offline (``make test`` then needs no network)."""
    if not any(out.glob("*.whl")):
        return False
    with tempfile.TemporaryDirectory(prefix="expand-wheels-") as tmp:
        try:
            _offline_pip(runner, ["download", "-q", "--dest", tmp, *TARGET_OPTIONS, *deps,
                                  PIP, *BUILD_REQUIRES], out, "")
        except ExpandError:
            return False
    return True


def check(folder: Path, *, what: str = "--wheels") -> list[Wheel]:
    """Every wheel in ``folder``, each a real wheel that fits the appliance."""
    if not folder.exists():
        raise ExpandError(f"{what} {show_path(folder)}: folder not found")
    if not is_directory(folder):
        raise ExpandError(f"{what} {show_path(folder)}: not a folder")
    try:
        names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".whl"))
    except OSError as exc:
        raise ExpandError(f"{what} {show_path(folder)}: cannot list it ({exc.strerror})") \
            from None
    if not names:
        raise ExpandError(f"{what} {show_path(folder)}: holds no wheel (*.whl); "
                          "fill it with 'expandctl release wheels --out DIR'")
    wheels = []
    for name in names:
        wheel = wheeltags.parse(name)
        wheeltags.check_fits(wheel)
        _check_archive(folder / name)
        wheels.append(wheel)
    return wheels


def _check_archive(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            if not any(n.endswith(".dist-info/METADATA") for n in archive.namelist()):
                raise ExpandError(f"{show_path(path)}: not a wheel (no .dist-info/METADATA)")
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ExpandError(f"{show_path(path)}: not a wheel (not a zip archive)") from None


def build_toolkit(checkout: Path, wheels: Path, work: Path, runner: Runner) -> Path:
    """The toolkit's own wheel, built offline from a copy of the checkout (the build never
    writes into the checkout); setuptools comes from the wheelhouse."""
    src = work / "src"
    shutil.copytree(checkout, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "tests", "bench", "*.egg-info", "__pycache__",
        ".*_cache", ".hypothesis"))
    out = work / "toolkit"
    _offline_pip(runner, ["wheel", "-q", "--no-deps", "--wheel-dir", str(out), str(src)],
                 wheels, "to build the toolkit's wheel")
    built = sorted(out.glob("*.whl"))
    if len(built) != 1:
        raise ExpandError(f"building the toolkit's wheel gave {len(built)} wheels, not one")
    return built[0]


def closure(toolkit: Path, wheels: Path, work: Path, runner: Runner) -> list[Path]:
    """The toolkit's wheel, every wheel its runtime needs (transitively) and pip's, as
    copies in ``work/closure``; the wheelhouse's other wheels are left out."""
    dest = work / "closure"
    _offline_pip(runner, ["download", "-q", "--dest", str(dest), *TARGET_OPTIONS,
                          str(toolkit), PIP], wheels, "for the package")
    return sorted(dest.glob("*.whl"))


def _offline_pip(runner: Runner, args: Sequence[str], wheels: Path, purpose: str) -> None:
    argv = [*pip_argv(), *args[:1], "--isolated", "--no-index", "--find-links", str(wheels),
            "--disable-pip-version-check", *args[1:]]
    try:
        runner.run(argv, timeout=PIP_TIMEOUT_S)
    except CommandFailed as exc:
        missing = _MISSING.search(exc.stderr)
        if missing:
            raise ExpandError(f"--wheels {show_path(wheels)}: no fitting wheel of "
                              f"{missing.group(1)} {purpose}") from None
        raise
