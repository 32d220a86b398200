"""The repodata reader against the real tools: rpm's own rpmvercmp, createrepo_c's
compressions (gz, xz, bz2, zstd) of repodata built from real RPMs."""

from __future__ import annotations

import gzip
import random
import subprocess
from pathlib import Path

import pytest

from appliance.errors import ExpandError
from appliance.runner import Runner
from iso.demo_repo import HIGH_AVAILABILITY, build_rpms
from release.closure import check_closure
from release.repo import RPM_LEAD, build_product_repo
from release.repodata import load_repodata
from release.repodata_evr import rpmvercmp
from release.repodata_xml import RepodataError

ALPHABET = "0123456789abz.~^_+"


def _random_versions(count: int) -> list[tuple[str, str]]:
    rng = random.Random(11)
    def one() -> str:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 8)))
    return [(one(), one()) for _ in range(count)]


def test_rpmvercmp_agrees_with_rpm_on_random_versions(tmp_path: Path) -> None:
    pairs = _random_versions(3000)
    script = tmp_path / "vercmp.lua"
    body = "\n".join(f"print(rpm.vercmp({_lua(a)}, {_lua(b)}) .. ',')" for a, b in pairs)
    script.write_text(body + "\n")
    proc = subprocess.run(["rpm", "--eval", f"%{{lua: dofile('{script}')}}"],
                          capture_output=True, text=True, check=True)
    theirs = [int(x) for x in proc.stdout.replace("\n", "").split(",") if x]
    assert len(theirs) == len(pairs)
    wrong = [(a, b, t, rpmvercmp(a, b)) for (a, b), t in zip(pairs, theirs, strict=True)
             if rpmvercmp(a, b) != t]
    assert wrong == []


def _lua(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.mark.parametrize("compression", ["gz", "xz", "bz2", "zstd"])
def test_createrepo_c_repodata_in_every_compression(tmp_path: Path, compression: str) -> None:
    build_rpms(Runner(), HIGH_AVAILABILITY, tmp_path / "repo")
    # Debian's createrepo_c has no zstd: its gzip primary recompressed with the zstd tool.
    made = "gz" if compression == "zstd" else compression
    subprocess.run(["createrepo_c", "--quiet", "--no-database", "--simple-md-filenames",
                    f"--general-compress-type={made}", str(tmp_path / "repo")],
                   check=True, capture_output=True)
    if compression == "zstd":
        repodata = tmp_path / "repo/repodata"
        (repodata / "primary.xml").write_bytes(
            gzip.decompress((repodata / "primary.xml.gz").read_bytes()))
        subprocess.run(["zstd", "-q", "--rm", str(repodata / "primary.xml")], check=True)
        (repodata / "primary.xml.gz").unlink()
        repomd = repodata / "repomd.xml"
        repomd.write_text(repomd.read_text().replace("primary.xml.gz", "primary.xml.zst"))
    repo = load_repodata(lambda rel: tmp_path / "repo" / rel, "ha")
    assert {p.name for p in repo.packages} == {p.name for p in HIGH_AVAILABILITY}
    pacemaker = next(p for p in repo.packages if p.name == "pacemaker")
    assert "corosync >= 3.0" in [str(d) for d in pacemaker.requires]
    # the HA packages need python3 (a name and a file): not in this folder alone
    closure = check_closure([], [repo], [], groups=[])
    assert [m.requirement for m in closure.missing] == ["/usr/bin/python3", "python3"]


def test_corrupt_zstd_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "repodata").mkdir()
    (tmp_path / "repodata/repomd.xml").write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00" * 64)
    with pytest.raises(RepodataError) as err:
        load_repodata(lambda rel: tmp_path / rel, "the base DVD /BaseOS")
    assert str(err.value).startswith("the base DVD /BaseOS/repodata/repomd.xml: corrupt zstd")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("damage", ["truncated", "garbage after the lead"])
def test_a_damaged_rpm_is_refused_naming_it(tmp_path: Path, damage: str) -> None:
    good = build_rpms(Runner(), HIGH_AVAILABILITY[:2], tmp_path / "ha")
    bad = tmp_path / "ha" / "broken-1.0-1.noarch.rpm"
    if damage == "truncated":
        bad.write_bytes(good[0].read_bytes()[:3000])
    else:
        bad.write_bytes(RPM_LEAD + b"garbage" * 100)
    with pytest.raises(ExpandError) as err:
        build_product_repo(Runner(), [tmp_path / "ha"], tmp_path / "repo")
    message = str(err.value)
    assert message.startswith("--repo: damaged RPM") and message.endswith(str(bad))
    assert not (tmp_path / "repo").exists()  # refused before anything was linked
