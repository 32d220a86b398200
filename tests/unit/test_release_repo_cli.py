"""iso build's repository options, the --repo folders and the DEMO stand-ins (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.cli import main
from appliance.errors import ExpandError
from appliance.runner import RecordingRunner
from iso.build import AddTree, BuildOptions, build_iso
from iso.demo_repo import (
    APPSTREAM,
    BASEOS,
    CORE_DEFAULT,
    CORE_MANDATORY,
    PRODUCT_REQUIRES,
    VENDOR_FOLDERS,
    StandIn,
    comps_xml,
    render_spec,
)
from kickstart.build import BASE_PACKAGES, HA_PACKAGES, PRODUCT_PACKAGES
from release.repo import RPM_LEAD, collect_rpms, kickstart_packages


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as done:
        main([*argv, "--help"])
    assert done.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_build_help_teaches_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys, "iso", "build")
    assert "--repo DIR" in text and "--no-repo" in text
    assert "the install will stop in %pre" in text
    assert "Before writing anything it checks closure" in text
    assert "--repo dist/ --repo ha-rpms/" in text
    assert "exit codes: 0 built; 1 refused" in text


def test_demo_base_help_names_the_vendor_folders(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys, "iso", "demo-base")
    assert "--vendor-repos DIR" in text and "DEMO stand-in" in text
    assert "--repo build/demo/vendor/HighAvailability" in text


def test_inspect_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert "ISO" in _help(capsys, "iso", "inspect")


def test_repo_and_no_repo_exclude_each_other(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["iso", "build", "--base", str(tmp_path / "b.iso"), "--out",
                 str(tmp_path / "o.iso"), "--repo", str(tmp_path), "--no-repo"])
    err = capsys.readouterr().err
    assert code == 1
    assert err == "expandctl: error: --repo and --no-repo exclude each other\n"


def test_add_cannot_take_the_place_of_the_repository(tmp_path: Path) -> None:
    runner = RecordingRunner()
    for place in ("/expand/repo", "/expand/repo/Packages"):
        opts = BuildOptions(tmp_path / "b.iso", tmp_path / "o.iso",
                            add=(AddTree.parse(f"{tmp_path}:{place}"),))
        with pytest.raises(ExpandError, match="is made by --repo DIR"):
            build_iso(opts, runner)
    assert runner.calls == []


def _rpm(path: Path, body: bytes = b"payload") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(RPM_LEAD + body)
    return path


def test_collect_rpms_walks_the_folders(tmp_path: Path) -> None:
    a = _rpm(tmp_path / "dist" / "expand-appliance-3.2.0-1.x86_64.rpm")
    b = _rpm(tmp_path / "ha" / "x86_64" / "pacemaker-2.1.7-5.el9.x86_64.rpm")
    _rpm(tmp_path / "ha" / "pacemaker-2.1.7-5.el9.src.rpm")  # sources are not installed
    (tmp_path / "ha" / "README").write_text("not a package")
    _rpm(tmp_path / "again" / a.name)  # the same file twice is fine
    found = collect_rpms([tmp_path / "dist", tmp_path / "ha", tmp_path / "again"])
    assert [p.name for p in found] == [a.name, b.name]


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: None, "not a folder"),
    (lambda p: p.write_text("x"), "not a folder"),
    (lambda p: p.mkdir(), "no binary .rpm files in it"),
    (lambda p: (p.mkdir(), (p / "x.rpm").write_text("<html>")), "not an RPM package"),
])
def test_collect_rpms_refuses_bad_folders(tmp_path: Path, make: object, message: str) -> None:
    folder = tmp_path / "repo"
    assert callable(make)
    make(folder)
    with pytest.raises(ExpandError, match=message) as err:
        collect_rpms([folder])
    assert "\n" not in str(err.value)


def test_collect_rpms_refuses_two_different_files_of_one_name(tmp_path: Path) -> None:
    _rpm(tmp_path / "a" / "pcs-0.11.7-2.el9.noarch.rpm", b"one")
    _rpm(tmp_path / "b" / "pcs-0.11.7-2.el9.noarch.rpm", b"two")
    with pytest.raises(ExpandError, match="with different contents"):
        collect_rpms([tmp_path / "a", tmp_path / "b"])


def test_kickstart_packages_are_what_the_kickstart_names() -> None:
    packages, groups = kickstart_packages()
    assert groups == ["core"]
    assert packages == [*BASE_PACKAGES, *HA_PACKAGES, *PRODUCT_PACKAGES]


def test_stand_ins_are_labelled_demo_and_cover_the_kickstart() -> None:
    spec = render_spec(BASEOS)
    assert spec.count("Summary: DEMO stand-in for ") == len(BASEOS)
    assert "AutoReqProv: no" in spec
    names = {p.name for p in (*BASEOS, *APPSTREAM)} | {
        p.name for folder in VENDOR_FOLDERS.values() for p in folder}
    assert set(BASE_PACKAGES + HA_PACKAGES) <= names
    assert {*CORE_MANDATORY, *CORE_DEFAULT} <= names
    assert {r for r in PRODUCT_REQUIRES if not r.startswith("(")} <= names
    assert '<packagereq type="optional">' in comps_xml()


@pytest.mark.parametrize("bad", [
    StandIn("bash\nRequires: evil", "1"), StandIn("bash", "1\n%post"),
    StandIn("bash", "1", requires=("x\n%pre",)), StandIn("bash", "1", files=("relative",)),
    StandIn("bash", "1", files=("/usr/bin/a b",))])
def test_stand_in_fields_cannot_start_spec_lines(bad: StandIn) -> None:
    with pytest.raises(ExpandError, match="is not usable"):
        render_spec([bad])


def test_a_repo_that_is_no_folder_is_refused_before_any_command(tmp_path: Path) -> None:
    runner = RecordingRunner()
    (tmp_path / "file").write_text("x")
    for repo in (tmp_path / "missing", tmp_path / "file"):
        with pytest.raises(ExpandError, match=r"^--repo .*: not a folder$"):
            build_iso(BuildOptions(tmp_path / "b.iso", tmp_path / "o.iso", repos=(repo,)),
                      runner)
    assert runner.calls == []
