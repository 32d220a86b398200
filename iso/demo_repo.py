"""DEMO stand-in packages: the repodata the demo base DVD carries (BaseOS, AppStream with
a comps group ``core``) and the folders a release engineer would supply (HighAvailability,
ELRepo DRBD, the Asterisk build), so ``make demo`` shows a DVD whose closure holds.

Every stand-in is an empty noarch RPM built with rpmbuild, its summary and description
saying DEMO. The stand-in product package requires ``release.requires.REQUIRES``.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.runner import Runner
from release.requires import REQUIRES

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_VERSION = re.compile(r"^[A-Za-z0-9._+~^]+$")
_DEP = re.compile(r"^[^\n\r%]+$")
SUMMARY = "DEMO stand-in for {name} (an empty package, not the real one)"
DESCRIPTION = ("DEMO: an empty stand-in built by 'expandctl iso demo-base' so the eXpand demo "
               "DVD's package closure can be shown. It installs nothing useful.")


@dataclass(frozen=True)
class StandIn:
    name: str
    version: str
    release: str = "1.el9"
    epoch: int = 0
    provides: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    files: tuple[str, ...] = ()

    def check(self) -> None:
        """The fields go into a spec file: nothing that could start a new spec line."""
        if not _NAME.match(self.name):
            raise ExpandError(f"stand-in package name {self.name!r} is not usable")
        for value in (self.version, self.release):
            if not _VERSION.match(value):
                raise ExpandError(f"stand-in {self.name}: version {value!r} is not usable")
        for dep in (*self.provides, *self.requires):
            if not _DEP.match(dep):
                raise ExpandError(f"stand-in {self.name}: dependency {dep!r} is not usable")
        for path in self.files:
            if not path.startswith("/") or not _NAME.match(path.replace("/", "x")[1:]):
                raise ExpandError(f"stand-in {self.name}: file {path!r} is not usable")


def _s(name: str, version: str, release: str = "1.el9", **kw: object) -> StandIn:
    return StandIn(name, version, release, **kw)  # type: ignore[arg-type]


BASEOS = (
    _s("bash", "5.1.8", "9.el9", provides=("/bin/sh",), files=("/usr/bin/bash", "/usr/bin/sh")),
    _s("coreutils", "8.32", "35.el9"),
    _s("glibc", "2.34", "100.el9", provides=(
        "libc.so.6()(64bit)", "libc.so.6(GLIBC_2.34)(64bit)", "libm.so.6()(64bit)",
        "ld-linux-x86-64.so.2()(64bit)", "rtld(GNU_HASH)")),
    _s("systemd", "252", "32.el9", files=("/usr/bin/systemctl",)),
    _s("kernel", "5.14.0", "427.13.1.el9_4"),
    _s("dnf", "4.14.0", "9.el9"),
    _s("rpm", "4.16.1.3", "29.el9"),
    _s("openssh-server", "8.7p1", "38.el9", files=("/usr/sbin/sshd",)),
    _s("NetworkManager", "1.46.0", "4.el9", epoch=1),
    _s("chrony", "4.5", "1.el9"),
    _s("cyrus-sasl-plain", "2.1.27", "21.el9"),
    _s("mdadm", "4.2", "14.el9", files=("/usr/sbin/mdadm",)),
    _s("firewalld", "1.3.0", "1.el9"),
    _s("python3", "3.9.18", "3.el9", files=("/usr/bin/python3",)),
    _s("rsync", "3.2.3", "19.el9"),
    _s("tar", "1.34", "6.el9", epoch=2),
    _s("efibootmgr", "16", "12.el9"),
)
APPSTREAM = (
    _s("python3.11", "3.11.7", "1.el9", provides=("python(abi) = 3.11",),
       files=("/usr/bin/python3.11",)),
    _s("dialog", "1.3", "32.20210117.el9"),
    _s("postfix", "3.5.9", "24.el9", epoch=2),
)
# The comps group "core" as anaconda reads it: mandatory and default packages are
# installed, optional ones not (this one is on no disc, on purpose).
CORE_MANDATORY = ("bash", "coreutils", "glibc", "systemd", "kernel", "dnf", "rpm")
CORE_DEFAULT = ("openssh-server", "NetworkManager")
CORE_OPTIONAL = ("expand-demo-optional-not-on-any-disc",)

HIGH_AVAILABILITY = (
    _s("corosync", "3.1.8", "1.el9"),
    _s("pacemaker", "2.1.7", "5.el9", requires=("corosync >= 3.0", "resource-agents")),
    _s("pcs", "0.11.7", "2.el9", requires=("pacemaker", "python3")),
    _s("fence-agents-common", "4.10.0", "62.el9"),
    _s("fence-agents-all", "4.10.0", "62.el9",
       requires=("fence-agents-common = 4.10.0-62.el9",)),
    _s("resource-agents", "4.10.0", "55.el9", requires=("/usr/bin/python3",)),
)
ELREPO_DRBD = (
    _s("kmod-drbd9x", "9.1.19", "1.el9_4.elrepo", requires=("kernel >= 5.14.0",)),
    _s("drbd9x-utils", "9.28.0", "1.el9.elrepo", requires=("(kmod-drbd9x or drbd-kmod)",)),
)
ASTERISK = (_s("asterisk", "20.7.0", "1.el9.expand", requires=("/bin/sh",)),)
VENDOR_FOLDERS = {"HighAvailability": HIGH_AVAILABILITY, "ELRepo-DRBD": ELREPO_DRBD,
                  "Asterisk": ASTERISK}

# The demo's stand-in product package requires what the real one does.
PRODUCT_REQUIRES = tuple(r.expression for r in REQUIRES)


def render_spec(packages: Sequence[StandIn]) -> str:
    """One spec, one subpackage per stand-in: a single rpmbuild run builds them all."""
    lines = ["Name: expand-demo-standins", "Version: 1", "Release: 1",
             "Summary: DEMO stand-in packages", "License: MIT", "BuildArch: noarch",
             "AutoReqProv: no", "%description", DESCRIPTION, ""]
    install = ["%install"]
    for pkg in packages:
        pkg.check()
        lines += [f"%package -n {pkg.name}", f"Version: {pkg.version}",
                  f"Release: {pkg.release}", f"Summary: {SUMMARY.format(name=pkg.name)}"]
        if pkg.epoch:
            lines.append(f"Epoch: {pkg.epoch}")
        lines += [f"Provides: {p}" for p in pkg.provides]
        lines += [f"Requires: {r}" for r in pkg.requires]
        lines += [f"%description -n {pkg.name}", DESCRIPTION, f"%files -n {pkg.name}",
                  *pkg.files, ""]
        for path in pkg.files:
            install.append(f"mkdir -p %{{buildroot}}{Path(path).parent}")
            install.append(f"echo 'DEMO stand-in' > %{{buildroot}}{path}")
    return "\n".join([*lines, *install, ""])


def build_rpms(runner: Runner, packages: Sequence[StandIn], out: Path) -> list[Path]:
    """The stand-ins as RPM files in ``out`` (created); returns their paths."""
    spec = render_spec(packages)
    with tempfile.TemporaryDirectory(prefix="expand-demo-rpms-") as tmp:
        top = Path(tmp)
        FileSink(top).write("/standins.spec", spec)
        runner.run(["rpmbuild", "--quiet", "--define", f"_topdir {top}",
                    "--define", "__os_install_post %{nil}", "--define", "_build_id_links none",
                    "-bb", str(top / "standins.spec")], timeout=600)
        out.mkdir(parents=True, exist_ok=True)
        built = []
        for rpm in sorted((top / "RPMS").rglob("*.rpm")):
            built.append(Path(shutil.copy2(rpm, out / rpm.name)))
    return built


def cached_rpms(runner: Runner, packages: Sequence[StandIn], cache: Path) -> list[Path]:
    """``build_rpms`` once per set of stand-ins (keyed by the spec's digest)."""
    digest = hashlib.sha256(render_spec(packages).encode()).hexdigest()[:16]
    folder = cache / f"standin-rpms-{digest}"
    if not folder.is_dir():
        # Built aside and renamed: tests running in parallel never see half a folder.
        cache.mkdir(parents=True, exist_ok=True)
        aside = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=cache))
        aside.chmod(0o755)
        build_rpms(runner, packages, aside)
        try:
            aside.rename(folder)
        except OSError:  # another run was first: its folder is as good
            shutil.rmtree(aside, ignore_errors=True)
    return sorted(folder.glob("*.rpm"))


def comps_xml(group: str = "core") -> str:
    reqs = [*((n, "mandatory") for n in CORE_MANDATORY), *((n, "default") for n in CORE_DEFAULT),
            *((n, "optional") for n in CORE_OPTIONAL)]
    body = "\n".join(f'      <packagereq type="{t}">{n}</packagereq>' for n, t in reqs)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">\n'
            f"<comps>\n  <group>\n    <id>{group}</id>\n    <name>Core (DEMO)</name>\n"
            "    <description>DEMO stand-in of the Rocky 9 core group</description>\n"
            "    <default>true</default>\n    <uservisible>false</uservisible>\n"
            f"    <packagelist>\n{body}\n    </packagelist>\n  </group>\n</comps>\n")


def write_base_repos(runner: Runner, tree: Path, cache: Path) -> None:
    """``tree``/BaseOS and ``tree``/AppStream: Packages/ and repodata/ (BaseOS with comps)."""
    with tempfile.TemporaryDirectory(prefix="expand-comps-") as tmp:
        comps = Path(tmp) / "comps-BaseOS.xml"
        comps.write_text(comps_xml())
        for name, packages, extra in (("BaseOS", BASEOS, ["--groupfile", str(comps)]),
                                      ("AppStream", APPSTREAM, [])):
            folder = tree / name
            (folder / "Packages").mkdir(parents=True, exist_ok=True)
            for rpm in cached_rpms(runner, packages, cache):
                shutil.copyfile(rpm, folder / "Packages" / rpm.name)
            runner.run(["createrepo_c", "--quiet", "--no-database", *extra, str(folder)],
                       timeout=600)


def write_vendor_folders(runner: Runner, out: Path, cache: Path) -> list[Path]:
    """The folders a release engineer supplies, as DEMO stand-ins: out/HighAvailability,
    out/ELRepo-DRBD, out/Asterisk. Returns them (for ``iso build --repo``)."""
    folders = []
    for name, packages in VENDOR_FOLDERS.items():
        folder = out / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for rpm in cached_rpms(runner, packages, cache):
            shutil.copyfile(rpm, folder / rpm.name)
        (folder / "README-DEMO.txt").write_text(
            f"DEMO stand-ins for what a release engineer takes from {name}; "
            "pass this folder to 'expandctl iso build --repo'.\n")
        folders.append(folder)
    return folders
