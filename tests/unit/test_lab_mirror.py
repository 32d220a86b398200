"""The lab's Debian mirror comes from the host's apt sources (or --mirror), never the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.errors import ExpandError
from lab.mirror import check_mirror_url, host_mirror

REPO = Path(__file__).resolve().parents[2]

DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example.org/debian-security
Suites: bookworm-security
Components: main
"""


def etc_apt(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "sources.list.d").mkdir(exist_ok=True)
    return tmp_path


def test_one_line_sources_list(tmp_path: Path) -> None:
    apt = etc_apt(tmp_path, {"sources.list": (
        "# deb http://commented.example.org/debian bookworm main\n"
        "deb-src http://src.example.org/debian bookworm main\n"
        "deb http://security.example.org/debian-security bookworm-security main\n"
        "deb http://mirror.example.org/debian bookworm-updates main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example.org/debian/ bookworm main"
        " contrib # the archive\n")})
    assert host_mirror(apt) == "http://mirror.example.org/debian"


def test_deb822_sources(tmp_path: Path) -> None:
    apt = etc_apt(tmp_path, {"sources.list.d/debian.sources": DEB822})
    assert host_mirror(apt) == "http://mirror.example.org/debian"


def test_security_and_updates_only_are_not_a_mirror(tmp_path: Path) -> None:
    apt = etc_apt(tmp_path, {"sources.list.d/debian.sources": DEB822.replace(
        "Suites: bookworm bookworm-updates", "Suites: bookworm-updates")})
    with pytest.raises(ExpandError) as err:
        host_mirror(apt)
    assert "debian.sources" in str(err.value) and "--mirror" in str(err.value)


def test_disabled_stanzas_and_other_archives_are_skipped(tmp_path: Path) -> None:
    apt = etc_apt(tmp_path, {
        "sources.list": "",
        "sources.list.d/a-cloud.list": "deb https://packages.example.com/apt cloud-sdk main\n",
        "sources.list.d/b-off.sources": "Types: deb\nURIs: http://off.example.org/debian\n"
                                        "Suites: bookworm\nComponents: main\nEnabled: no\n",
        "sources.list.d/c-node.sources": "Types: deb\nURIs: https://node.example.com/x\n"
                                         "Suites: nodistro\nComponents: main\n",
        "sources.list.d/d-debian.sources": "Types: deb deb-src\nURIs: https://deb.example.net/"
                                           "debian\nSuites:\n bookworm\nComponents: main\n",
        "sources.list.d/e-ignored.list.disabled": "deb http://no.example.org/d bookworm main\n",
    })
    assert host_mirror(apt) == "https://deb.example.net/debian"


def test_sources_list_comes_before_the_parts(tmp_path: Path) -> None:
    apt = etc_apt(tmp_path, {
        "sources.list": "deb http://first.example.org/debian trixie main\n",
        "sources.list.d/debian.sources": DEB822})
    assert host_mirror(apt) == "http://first.example.org/debian"


def test_no_source_names_the_files_read(tmp_path: Path) -> None:
    apt = etc_apt(tmp_path, {"sources.list": "# nothing\n",
                             "sources.list.d/x.list": "deb cdrom:[DVD]/ bookworm main\n"})
    with pytest.raises(ExpandError) as err:
        host_mirror(apt)
    assert f"{apt / 'sources.list'}, {apt / 'sources.list.d/x.list'}" in str(err.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ExpandError, match="none exists"):
        host_mirror(empty)


@pytest.mark.parametrize("url", ["ftp//x", "mirror.example.org/debian", "http://",
                                 "http://x.example.org/de bian", "javascript:alert(1)"])
def test_bad_mirror_argument(url: str) -> None:
    with pytest.raises(ExpandError, match="--mirror"):
        check_mirror_url(url)


def test_no_mirror_address_in_the_lab_code() -> None:
    for path in (REPO / "lab").rglob("*.py"):
        assert "deb.debian.org" not in path.read_text(), path


def test_lab_up_refuses_a_bad_mirror_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from appliance.cli import main

    assert main(["lab", "up", "--appliance", "--mirror", "deb.example.org/debian"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--mirror 'deb.example.org/debian'" in err[0], err
