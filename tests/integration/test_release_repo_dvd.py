"""The DVD's product repository with the real tools: rpmbuild (stand-in packages),
createrepo_c, xorriso, the kickstart's own %pre. A complete DVD builds and inspects as
"closure ok"; what is not closed is refused before anything is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pykickstart.constants import KS_SCRIPT_PRE

from appliance.runner import Runner
from iso import xorriso
from iso.build import BuildOptions, build_iso
from iso.demo_base import build_demo_base
from iso.demo_repo import APPSTREAM, StandIn, build_rpms
from iso.inspect import inspect_iso
from kickstart.build import KS_INSTALL_PATH, parse
from release.closure import ClosureFailed
from release.repodata_xml import RepodataError
from tests.integration.iso_support import PRODUCT, demo_repos, product_standin
from tests.unit.kickstart_support import FakeDisk, make_procfs, make_sysfs

REPO = Path(__file__).resolve().parents[2]
EXPANDCTL = str(REPO / ".venv/bin/expandctl")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """The demo base DVD and the --repo folders of a complete DVD."""
    folder = tmp_path_factory.mktemp("release-repo")
    return build_demo_base(folder / "base.iso", Runner()), demo_repos(folder)


@pytest.fixture(scope="module")
def complete(demo: tuple[Path, list[Path]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("complete") / "eXpand.iso"
    build_iso(BuildOptions(demo[0], out, repos=tuple(demo[1])), Runner())
    return out


def _expandctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXPANDCTL, *args], capture_output=True, text=True, check=False)


def _nothing_written(out: Path) -> None:
    assert not out.exists()
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")] == []


def test_complete_dvd_lists_its_repository_and_closure_ok(complete: Path) -> None:
    proc = _expandctl("iso", "inspect", str(complete))
    assert proc.returncode == 0, proc.stderr
    assert "  product repository /expand/repo: 10 packages" in proc.stdout
    assert "    expand-appliance 3.2.0-1 noarch" in proc.stdout
    assert "    pacemaker 2.1.7-5.el9 noarch" in proc.stdout
    assert "  closure ok: " in proc.stdout
    data = json.loads(_expandctl("iso", "inspect", "--json", str(complete)).stdout)
    assert data["ok"] and data["closure"]["ok"] and data["closure"]["missing"] == []
    names = {p["name"] for p in data["product_repo"]}
    assert {"expand-appliance", "pacemaker", "corosync", "pcs", "drbd9x-utils",
            "asterisk"} <= names


def test_missing_ha_folder_is_refused_naming_the_packages(demo: tuple[Path, list[Path]],
                                                          tmp_path: Path) -> None:
    base, repos = demo
    out = tmp_path / "out.iso"
    without_ha = [str(r) for r in repos if r.name != "HighAvailability"]
    proc = _expandctl("iso", "build", "--base", str(base), "--out", str(out),
                      *(a for r in without_ha for a in ("--repo", r)))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("  ")]
    for name in ("pacemaker", "corosync", "pcs", "fence-agents-all", "resource-agents"):
        line = next(x for x in lines if x.startswith(f"  {name}: "))
        assert "expand-appliance-3.2.0-1.noarch" in line
        assert "the kickstart's %packages" in line
        assert "HighAvailability" in line
    _nothing_written(out)
    scripted = _expandctl("iso", "build", "--json", "--base", str(base), "--out", str(out),
                          *(a for r in without_ha for a in ("--repo", r)))
    assert scripted.returncode == 1
    closure = json.loads(scripted.stdout)["closure"]
    assert not closure["ok"]
    assert {m["requirement"] for m in closure["missing"]} == {
        "pacemaker", "corosync", "pcs", "fence-agents-all", "resource-agents"}
    _nothing_written(out)


def _build_with_product(demo: tuple[Path, list[Path]], tmp_path: Path,
                        requires: tuple[str, ...]) -> Path:
    """The complete DVD's folders, with a product stand-in requiring ``requires`` too."""
    base, repos = demo
    dist = product_standin(tmp_path / "dist", StandIn(
        PRODUCT.name, PRODUCT.version, PRODUCT.release,
        requires=(*PRODUCT.requires, *requires)))
    out = tmp_path / "out.iso"
    build_iso(BuildOptions(base, out, repos=(dist, *repos[1:])), Runner())
    return out


def test_a_versioned_requires_not_met_is_refused(demo: tuple[Path, list[Path]],
                                                 tmp_path: Path) -> None:
    with pytest.raises(ClosureFailed) as refused:
        _build_with_product(demo, tmp_path, ("python3.11 >= 3.12", "dialog >= 1.3"))
    missing = refused.value.closure.missing
    assert [m.requirement for m in missing] == ["python3.11 >= 3.12"]  # dialog 1.3-32 is fine
    assert missing[0].needed_by == ("expand-appliance-3.2.0-1.noarch",)
    _nothing_written(tmp_path / "out.iso")


def test_file_requires_are_met_by_file_lists(demo: tuple[Path, list[Path]],
                                             tmp_path: Path) -> None:
    out = _build_with_product(demo, tmp_path, ("/usr/sbin/mdadm", "/bin/sh"))
    seen = inspect_iso(Runner(), out, verify=False)
    assert seen.closure is not None and seen.closure["ok"], seen.problems


def test_a_file_nobody_has_is_refused(demo: tuple[Path, list[Path]], tmp_path: Path) -> None:
    with pytest.raises(ClosureFailed) as refused:
        _build_with_product(demo, tmp_path, ("/usr/sbin/no-such-tool",))
    assert [m.requirement for m in refused.value.closure.missing] == ["/usr/sbin/no-such-tool"]


def test_no_repo_builds_a_menu_only_disc(demo: tuple[Path, list[Path]],
                                         tmp_path: Path) -> None:
    out = tmp_path / "menus.iso"
    proc = _expandctl("iso", "build", "--base", str(demo[0]), "--out", str(out), "--no-repo")
    assert proc.returncode == 0, proc.stderr
    assert "product repository: none" in proc.stdout
    seen = _expandctl("iso", "inspect", str(out))
    assert seen.returncode == 1  # a disc without /expand/repo is a problem to inspect
    assert "no product repository /expand/repo on the disc" in seen.stderr


def test_no_repo_and_no_no_repo_is_refused(demo: tuple[Path, list[Path]],
                                           tmp_path: Path) -> None:
    out = tmp_path / "out.iso"
    proc = _expandctl("iso", "build", "--base", str(demo[0]), "--out", str(out))
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1].startswith("expandctl: error: no product repository: "
                                                   "give --repo DIR")
    _nothing_written(out)


def test_the_kickstarts_pre_finds_the_repository_on_the_built_disc(complete: Path,
                                                                   tmp_path: Path) -> None:
    media = tmp_path / "media"
    subprocess.run(["xorriso", "-osirrox", "on", "-indev", str(complete), "-extract",
                    "/expand/repo", str(media / "expand/repo"), "-extract", KS_INSTALL_PATH,
                    str(media / "ks.cfg")], check=True, capture_output=True)
    pre = next(s.script for s in parse((media / "ks.cfg").read_text()).scripts
               if s.type == KS_SCRIPT_PRE)
    (tmp_path / "pre.py").write_text(pre)
    env = {**os.environ, "EXPAND_PRE_SYSFS": str(make_sysfs(tmp_path, [FakeDisk("sda", 500)])),
           "EXPAND_PRE_PROCFS": str(make_procfs(tmp_path, 8)),
           "EXPAND_PRE_REPO": str(media / "expand/repo"),
           "EXPAND_PRE_INCLUDE": str(tmp_path / "part.ks"),
           "EXPAND_PRE_WARNINGS": str(tmp_path / "warnings")}
    proc = subprocess.run([sys.executable, "-I", str(tmp_path / "pre.py")], env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "part / " in (tmp_path / "part.ks").read_text()
    # ... and without the repository (a --no-repo disc) the same %pre stops, naming it.
    env["EXPAND_PRE_REPO"] = str(tmp_path / "no-such-repo")
    stopped = subprocess.run([sys.executable, "-I", str(tmp_path / "pre.py")], env=env,
                             capture_output=True, text=True, check=False)
    assert stopped.returncode == 1 and "package repository is missing" in stopped.stderr


def test_a_corrupt_base_repomd_is_one_line_naming_it(demo: tuple[Path, list[Path]],
                                                     tmp_path: Path) -> None:
    bad = tmp_path / "repomd.xml"
    bad.write_bytes(b"<repomd><data type='primary'>\x00\xff garbage")
    base = tmp_path / "corrupt-repodata.iso"
    subprocess.run(["xorriso", "-indev", str(demo[0]), "-outdev", str(base), "-boot_image",
                    "any", "replay", "-map", str(bad), "/AppStream/repodata/repomd.xml"],
                   check=True, capture_output=True)
    out = tmp_path / "out.iso"
    repos = [a for r in demo[1] for a in ("--repo", str(r))]
    proc = _expandctl("iso", "build", "--base", str(base), "--out", str(out), *repos)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("expandctl: error: the base DVD /AppStream/repodata/repomd.xml: "
                           "not valid XML"), proc.stderr
    _nothing_written(out)
    assert xorriso.read_volume_header(base).volid == xorriso.read_volume_header(demo[0]).volid


def test_a_symlinked_repomd_on_the_disc_is_not_followed(demo: tuple[Path, list[Path]],
                                                        tmp_path: Path) -> None:
    link = tmp_path / "repomd.xml"
    link.symlink_to("/etc/hostname")
    base = tmp_path / "symlink-repodata.iso"
    subprocess.run(["xorriso", "-indev", str(demo[0]), "-outdev", str(base), "-boot_image",
                    "any", "replay", "-rm", "/AppStream/repodata/repomd.xml", "--",
                    "-map", str(link), "/AppStream/repodata/repomd.xml"],
                   check=True, capture_output=True)
    listing = subprocess.run(["xorriso", "-indev", str(base), "-lsdl",
                              "/AppStream/repodata/repomd.xml"],
                             capture_output=True, text=True, check=True).stdout
    assert "-> '/etc/hostname'" in listing  # the disc really holds a symlink
    out = tmp_path / "out.iso"
    with pytest.raises(RepodataError, match=r"AppStream/repodata/repomd\.xml: not on the disc"):
        build_iso(BuildOptions(base, out, repos=tuple(demo[1])), Runner())
    _nothing_written(out)


def test_inspect_lists_what_a_disc_is_missing(complete: Path, tmp_path: Path) -> None:
    """A DVD whose AppStream lost python3.11 after it was built (remastered by hand)."""
    appstream = tmp_path / "AppStream"
    build_rpms(Runner(), [p for p in APPSTREAM if p.name != "python3.11"], appstream)
    subprocess.run(["createrepo_c", "--quiet", "--no-database", str(appstream)], check=True)
    broken = tmp_path / "broken.iso"
    subprocess.run(["xorriso", "-indev", str(complete), "-outdev", str(broken), "-boot_image",
                    "any", "replay", "-rm_r", "/AppStream/repodata", "--", "-map",
                    str(appstream / "repodata"), "/AppStream/repodata"],
                   check=True, capture_output=True)
    proc = _expandctl("iso", "inspect", str(broken))
    assert proc.returncode == 1
    assert "  closure 1 MISSING (see the problems)" in proc.stdout
    assert ("problem: closure: python3.11: needed by expand-appliance-3.2.0-1.noarch; "
            "usually from BaseOS/AppStream") in proc.stderr
    data = json.loads(_expandctl("iso", "inspect", "--json", str(broken)).stdout)
    assert [m["requirement"] for m in data["closure"]["missing"]] == ["python3.11"]
