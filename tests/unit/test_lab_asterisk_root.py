"""The Asterisk root is built once per package list, from the mirror given or the host's."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

import lab.asterisk_root as asterisk_root
from appliance.errors import ExpandError
from appliance.runner import RecordingRunner, Runner
from lab import rootfs
from pbx.chroot import chroot_prefix


def test_built_once_per_package_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[tuple[str, tuple[str, ...], str]] = []

    def debootstrap(target: Path, suite: str, packages: Sequence[str], mirror: str,
                    runner: Runner) -> None:
        builds.append((suite, tuple(packages), mirror))
        target.mkdir(parents=True, exist_ok=True)

    monkeypatch.setattr(rootfs, "_debootstrap", debootstrap)  # the shared base builder's
    monkeypatch.setattr(rootfs, "host_mirror", lambda: "http://mirror.example/debian")
    runner = RecordingRunner()
    first = asterisk_root.ensure_asterisk_root(cache=tmp_path, runner=runner)
    again = asterisk_root.ensure_asterisk_root(cache=tmp_path, runner=runner)
    assert first == again == tmp_path / "rootfs" / "sid-asterisk"
    assert builds == [("sid", asterisk_root.PACKAGES, "http://mirror.example/debian")]
    asterisk_root.ensure_asterisk_root(packages=(*asterisk_root.PACKAGES, "sip-tester"),
                                       cache=tmp_path, runner=runner,
                                       mirror="http://other.example/debian/")
    assert builds[1][1][-1] == "sip-tester"
    assert builds[1][2] == "http://other.example/debian"


def test_a_bad_mirror_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ExpandError, match="not an http://, https:// or file:// URL"):
        asterisk_root.ensure_asterisk_root(cache=tmp_path, mirror="ftp:/x")


def test_the_prefix_enters_the_root_in_its_own_mount_namespace() -> None:
    prefix = chroot_prefix(Path("/srv/root"))
    assert prefix[:4] == ("unshare", "--mount", "--propagation", "private")
    assert prefix[-1] == "/srv/root"
    assert 'exec chroot "$0" "$@"' in prefix[-2]
