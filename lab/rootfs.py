"""A cached Debian root filesystem for systemd-nspawn nodes, with the toolkit's dependencies.

Built once under /var/cache/expand/rootfs/<suite> (debootstrap minbase, ~2 min) and rebuilt
only when its package list changes; a copy of it with a venv of the toolkit's Python
dependencies (from a cached wheelhouse) is made once per dependency list.
Nodes never write into it: each gets an overlay (see lab/nspawn.py).
Run the build under the heavy lock (``flock /tmp/expand-heavy.lock ...``): it is CPU-bound.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import shutil
import sys
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from appliance.errors import ExpandError
from appliance.runner import Runner
from lab.mirror import check_mirror_url, host_mirror

log = logging.getLogger("expand.lab")

CACHE = Path("/var/cache/expand")
PACKAGES: tuple[str, ...] = (
    "systemd-sysv", "dbus", "iproute2", "iputils-ping", "procps", "hostname",
    "postfix", "libsasl2-modules", "ca-certificates", "python3", "python3-venv",
)
# The RHEL-family stand-in: the same root plus NetworkManager, whose keyfiles the
# appliance writes on Rocky/Alma (nodes swap in a Rocky os-release; see lab/nspawn.py).
NM_PACKAGES: tuple[str, ...] = (*PACKAGES, "network-manager", "libpam-systemd")
# Nodes whose own first boot runs the cluster step for real (corosync, pacemaker, the
# offline CIB tools, the IPaddr2 agent and the fence agents: fence_heuristics_ping gates
# every fencing level).
# debootstrap does not resolve virtual packages: pcs → python3-cryptography needs the
# cffi backend named explicitly ("python3-cffi-backend-api-min ... is not installed").
HA_PACKAGES: tuple[str, ...] = (*PACKAGES, "corosync", "pacemaker", "pacemaker-cli-utils",
                                "pcs", "resource-agents", "fence-agents", "python3-cffi-backend")
NODE_VENV = "/opt/expand/venv"
REPO = Path(__file__).resolve().parent.parent
BASE_STAMP = ".expand-rootfs-packages"
VENV_STAMP = ".expand-rootfs-venv"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def python_dependencies(pyproject: Path = REPO / "pyproject.toml") -> tuple[str, ...]:
    with open(pyproject, "rb") as fh:
        data = tomllib.load(fh)
    return tuple(data["project"]["dependencies"])


def toolkit_packages(pyproject: Path = REPO / "pyproject.toml") -> tuple[str, ...]:
    """The top-level packages the distribution ships (its setuptools include patterns)."""
    with open(pyproject, "rb") as fh:
        data = tomllib.load(fh)
    patterns = data["tool"]["setuptools"]["packages"]["find"]["include"]
    return tuple(p.removesuffix("*") for p in patterns if p.endswith("*"))


@contextmanager
def _build_lock(cache: Path) -> Iterator[None]:
    # Separate from the heavy lock (held by the caller): only stops two builds racing.
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".rootfs.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def rootfs_dir(suite: str = "bookworm", cache: Path = CACHE, flavor: str = "") -> Path:
    return cache / "rootfs" / (f"{suite}-{flavor}" if flavor else suite)


def ensure_rootfs(
    suite: str = "bookworm",
    *,
    packages: Sequence[str] = PACKAGES,
    flavor: str = "",
    cache: Path = CACHE,
    runner: Runner | None = None,
    mirror: str | None = None,
) -> Path:
    """The cached root for ``suite`` (``flavor`` names a variant package list) with the
    toolkit's Python dependencies, built as needed; returns its path. A build fetches from
    ``mirror``, by default the host's own Debian mirror (its apt sources: lab.mirror).

    The Debian base is built once per package list; each dependency list gets its own
    finished copy (``NAME+DIGEST``), written once and never changed afterwards, so nodes
    whose overlays use it are never pulled from under (another checkout with other
    dependencies gets another copy instead of rebuilding this one's venv in place)."""
    runner = runner or Runner()
    base = rootfs_dir(suite, cache, flavor)
    with _build_lock(cache):
        base_key = ensure_base(base, suite, packages, runner, mirror)
        deps = python_dependencies()
        venv_key = _digest(base_key, *deps)
        target = base.with_name(f"{base.name}+{venv_key}")
        if _stamp(target, VENV_STAMP) != venv_key:
            partial = target.with_name(target.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            runner.run(["cp", "-a", "--reflink=auto", str(base), str(partial)], timeout=900)
            _install_venv(partial, deps, cache / "wheelhouse", runner)
            (partial / VENV_STAMP).write_text(venv_key + "\n")
            shutil.rmtree(target, ignore_errors=True)
            partial.rename(target)
    return target


def ensure_base(target: Path, suite: str, packages: Sequence[str], runner: Runner,
                mirror: str | None) -> str:
    """Debootstrap ``target`` unless it already holds ``packages``; returns its key. Call it
    under the build lock. ``mirror``: by default the host's own Debian mirror."""
    key = _digest(suite, *sorted(packages))
    if _stamp(target, BASE_STAMP) != key:
        url = check_mirror_url(mirror) if mirror else host_mirror()
        _debootstrap(target, suite, packages, url, runner)
        (target / BASE_STAMP).write_text(key + "\n")
    return key


def _stamp(target: Path, name: str) -> str | None:
    try:
        return (target / name).read_text().strip()
    except FileNotFoundError:
        return None


def _debootstrap(target: Path, suite: str, packages: Sequence[str], mirror: str,
                 runner: Runner) -> None:
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    log.info("building %s root filesystem in %s from %s (a few minutes)", suite, partial,
             mirror)
    runner.run(["debootstrap", "--variant=minbase", f"--include={','.join(packages)}",
                suite, str(partial), mirror], timeout=1800)
    # Nodes configure their own network; a unique machine-id is made at each node's boot.
    (partial / "etc/machine-id").write_text("")
    # Swap by renames (the old tree is removed only once the new one is in place): a reader
    # never finds the root half-deleted or missing.
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    partial.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _install_venv(target: Path, deps: Sequence[str], wheelhouse: Path, runner: Runner) -> None:
    """A venv in the root holding the toolkit's dependencies (the toolkit itself is per node)."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    pip = REPO / ".venv/bin/pip"
    if not pip.exists():
        raise ExpandError(f"{pip}: missing; run 'make venv' first")
    runner.run([str(pip), "wheel", "-q", "--wheel-dir", str(wheelhouse), *deps], timeout=1200)
    inner_wh = target / "opt/expand/wheelhouse"
    shutil.rmtree(inner_wh, ignore_errors=True)
    shutil.copytree(wheelhouse, inner_wh)
    shutil.rmtree(target / NODE_VENV.lstrip("/"), ignore_errors=True)
    nspawn = ["systemd-nspawn", "-q", "-D", str(target), "--register=no", "--keep-unit",
              "--resolv-conf=off", "--timezone=off", "--link-journal=no"]
    runner.run([*nspawn, "python3", "-m", "venv", NODE_VENV], timeout=600)
    runner.run([*nspawn, f"{NODE_VENV}/bin/pip", "install", "-q", "--no-index",
                "--find-links", "/opt/expand/wheelhouse", *deps], timeout=1200)
    shutil.rmtree(inner_wh, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m lab.rootfs [plain|nm|ha] [--suite S] [--mirror URL]``: build the cache."""
    import argparse

    parser = argparse.ArgumentParser(prog="lab.rootfs")
    parser.add_argument("flavor", nargs="?", choices=["plain", "nm", "ha"], default="plain")
    parser.add_argument("--suite", default="bookworm")
    parser.add_argument("--mirror", metavar="URL",
                        help="Debian mirror (default: the host's, from its apt sources)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    packages = {"plain": PACKAGES, "nm": NM_PACKAGES, "ha": HA_PACKAGES}[args.flavor]
    try:
        path = ensure_rootfs(args.suite, packages=packages,
                             flavor="" if args.flavor == "plain" else args.flavor,
                             mirror=args.mirror)
    except ExpandError as exc:
        print(f"lab.rootfs: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
