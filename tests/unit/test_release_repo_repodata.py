"""Reading repodata: primary, repomd and comps, compressed or not; every bad file is one
RepodataError naming it (missing, empty, binary, huge, a bomb, nested, entities, a folder)."""

from __future__ import annotations

import bz2
import gzip
import lzma
from pathlib import Path

import pytest

from release.repodata import Dep, load_repodata
from release.repodata_evr import Evr
from release.repodata_xml import RepodataError

PRIMARY = """<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common"
          xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="2">
<package type="rpm">
  <name>python3.11</name><arch>x86_64</arch>
  <version epoch="0" ver="3.11.7" rel="1.el9"/>
  <summary>Version 3.11 of the Python interpreter</summary>
  <location href="Packages/p/python3.11-3.11.7-1.el9.x86_64.rpm"/>
  <format>
    <rpm:provides>
      <rpm:entry name="python3.11" flags="EQ" epoch="0" ver="3.11.7" rel="1.el9"/>
      <rpm:entry name="python(abi)" flags="EQ" epoch="0" ver="3.11"/>
    </rpm:provides>
    <rpm:requires>
      <rpm:entry name="rpmlib(CompressedFileNames)" flags="LE" epoch="0" ver="3.0.4" rel="1"/>
      <rpm:entry name="/bin/sh" pre="1"/>
      <rpm:entry name="(python3.11-libs or python3-libs)"/>
    </rpm:requires>
    <file>/usr/bin/python3.11</file>
  </format>
</package>
<package type="rpm">
  <name>postfix</name><arch>x86_64</arch>
  <version epoch="2" ver="3.5.9" rel="24.el9"/>
  <location href="Packages/p/postfix-3.5.9-24.el9.x86_64.rpm"/>
  <format/>
</package>
</metadata>
"""
COMPS = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group><id>core</id><name>Core</name><name xml:lang="de">Kern</name>
    <packagelist>
      <packagereq type="mandatory">bash</packagereq>
      <packagereq type="default">openssh-server</packagereq>
      <packagereq type="optional">nano</packagereq>
      <packagereq type="conditional" requires="x">y</packagereq>
    </packagelist>
  </group>
  <category><id>not-a-group</id></category>
</comps>
"""


def _repomd(primary: str, group: str | None = None) -> str:
    data = f'<data type="primary"><location href="{primary}"/></data>'
    if group:
        data += f'<data type="group_xz"><location href="{group}"/></data>'
    return ('<?xml version="1.0"?><repomd xmlns="http://linux.duke.edu/metadata/repo">'
            f"{data}</repomd>")


def _repo(root: Path, primary: bytes, name: str = "repodata/primary.xml.gz",
          comps: bytes | None = None) -> Path:
    (root / "repodata").mkdir(parents=True)
    (root / name).write_bytes(primary)
    group = "repodata/comps.xml.xz" if comps is not None else None
    if comps is not None:
        (root / "repodata/comps.xml.xz").write_bytes(comps)
    (root / "repodata/repomd.xml").write_text(_repomd(name, group))
    return root


def _load(root: Path) -> object:
    return load_repodata(lambda rel: root / rel, "the base DVD /BaseOS")


@pytest.mark.parametrize(("compress", "suffix"), [
    (gzip.compress, "gz"), (lzma.compress, "xz"), (bz2.compress, "bz2"),
    (lambda b: b, "plain")])
def test_primary_and_comps_parsed(tmp_path: Path, compress: object, suffix: str) -> None:
    assert callable(compress)
    root = _repo(tmp_path, compress(PRIMARY.encode()), f"repodata/primary.xml.{suffix}",
                 comps=lzma.compress(COMPS.encode()))
    repo = load_repodata(lambda rel: root / rel, "base")
    python, postfix = repo.packages
    assert python.nevra == "python3.11-3.11.7-1.el9.x86_64"
    assert Dep("python(abi)", "EQ", Evr(0, "3.11")) in python.provides
    assert [str(d) for d in python.requires] == ["/bin/sh", "(python3.11-libs or python3-libs)"]
    assert python.files == ("/usr/bin/python3.11",)
    assert postfix.evr == Evr(2, "3.5.9", "24.el9") and postfix.version_release == "2:3.5.9-24.el9"
    assert repo.groups == {"core": ("bash", "openssh-server")}  # optional/conditional: no


def _refused(tmp_path: Path, primary: bytes, message: str) -> None:
    root = _repo(tmp_path, primary)
    with pytest.raises(RepodataError) as err:
        _load(root)
    text = str(err.value)
    assert text.startswith("the base DVD /BaseOS/repodata/primary.xml.gz: "), text
    assert message in text
    assert "\n" not in text


def test_empty_primary(tmp_path: Path) -> None:
    _refused(tmp_path, b"", "not valid XML (no element found")


def test_binary_primary(tmp_path: Path) -> None:
    _refused(tmp_path, bytes(range(256)) * 64, "not valid XML")


def test_truncated_gzip(tmp_path: Path) -> None:
    _refused(tmp_path, gzip.compress(PRIMARY.encode())[:200], "corrupt compressed data")


def test_gzip_garbage_after_the_magic(tmp_path: Path) -> None:
    _refused(tmp_path, b"\x1f\x8b" + b"\xff" * 500, "corrupt compressed data")


def test_decompression_bomb_is_refused_not_inflated(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("release.repodata.MAX_PRIMARY", 4 * 1024 * 1024)
    bomb = gzip.compress(b"<metadata>" + b" " * (16 * 1024 * 1024))
    assert len(bomb) < 100_000
    _refused(tmp_path, bomb, "larger than 4 MiB uncompressed")


def test_deeply_nested(tmp_path: Path) -> None:
    _refused(tmp_path, b"<a>" * 100_000 + b"</a>" * 100_000, "nested deeper than 64")


def test_entities_refused(tmp_path: Path) -> None:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa">'
              b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><metadata>&b;</metadata>')
    _refused(tmp_path, laughs, "declares XML entities")


def test_bad_flags_and_epoch(tmp_path: Path) -> None:
    flags = PRIMARY.replace('flags="EQ" epoch="0" ver="3.11"/>', 'flags="NE" ver="3.11"/>')
    _refused(tmp_path, flags.encode(), "has flags 'NE'")
    epoch = PRIMARY.replace('epoch="2"', 'epoch="two"')
    _refused(tmp_path / "2", epoch.encode(), "epoch 'two' is not a number")


def test_package_without_a_version(tmp_path: Path) -> None:
    _refused(tmp_path, PRIMARY.replace('ver="3.5.9"', "").encode(), "without a name or version")


@pytest.mark.parametrize("href", ["/etc/shadow", "../../outside.xml", ""])
def test_locations_outside_the_repository(tmp_path: Path, href: str) -> None:
    (tmp_path / "repodata").mkdir()
    (tmp_path / "repodata/repomd.xml").write_text(_repomd(href))
    with pytest.raises(RepodataError, match="is outside the repository"):
        _load(tmp_path)


@pytest.mark.parametrize(("content", "message"), [
    (None, "file not found"), ("dir", "is a directory"), (b"", "not valid XML"),
    (b"\x00\x01\x02garbage", "not valid XML"), (b"<repomd/>", "names no primary metadata"),
    (b"<repomd><data type='primary'>\x00\xff", "not valid XML")])
def test_bad_repomd_is_one_line_naming_it(tmp_path: Path, content: bytes | str | None,
                                          message: str) -> None:
    (tmp_path / "repodata").mkdir()
    target = tmp_path / "repodata/repomd.xml"
    if content == "dir":
        target.mkdir()
    elif isinstance(content, bytes):
        target.write_bytes(content)
    with pytest.raises(RepodataError) as err:
        _load(tmp_path)
    assert str(err.value).startswith("the base DVD /BaseOS/repodata/repomd.xml: ")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_huge_repomd(tmp_path: Path) -> None:
    (tmp_path / "repodata").mkdir()
    (tmp_path / "repodata/repomd.xml").write_bytes(b"<repomd>" + b" " * (5 * 1024 * 1024))
    with pytest.raises(RepodataError, match="larger than 4 MiB"):
        _load(tmp_path)
