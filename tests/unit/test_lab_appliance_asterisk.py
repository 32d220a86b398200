"""The appliance node's Asterisk pieces that need no root: the account id, the wrapper's
binds, the unit, the seed audio (the lab run is tests/integration/test_lab_appliance.py)."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from appliance.errors import ExpandError
from lab import appliance
from lab import appliance_asterisk as aa


def root_with(tmp_path: Path, name: str, passwd: str, group: str) -> Path:
    root = tmp_path / name
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text(passwd)
    (root / "etc/group").write_text(group)
    return root


def test_the_asterisk_account_gets_one_id_free_in_both_roots(tmp_path: Path) -> None:
    # bookworm's messagebus/haclient hold 101, the unstable root's asterisk id
    node = root_with(tmp_path, "node", "root:x:0:0::/root:/bin/sh\nmessagebus:x:101:102::/:/x\n"
                     "a:x:990:990::/:/x\n", "root:x:0:\nhaclient:x:101:\n")
    sid = root_with(tmp_path, "sid", "asterisk:x:101:101::/var/lib/asterisk:/x\n"
                    "b:x:989:989::/:/x\n", "asterisk:x:101:\naudio:x:29:asterisk\n")
    uid = aa.free_id(node, sid)
    assert uid == 988
    for root in (node, sid):
        aa.set_account(root, uid)
        passwd = (root / "etc/passwd").read_text().splitlines()
        assert [line for line in passwd if line.startswith("asterisk:")] == [
            "asterisk:x:988:988:Asterisk PBX:/var/lib/asterisk:/usr/sbin/nologin"]
        assert "asterisk:x:988:" in (root / "etc/group").read_text().splitlines()
    assert "messagebus:x:101" in (node / "etc/passwd").read_text()  # others kept
    assert aa.free_id(node, sid) == 988  # a second lab up finds the same id


def test_no_free_id_is_one_clear_error(tmp_path: Path) -> None:
    taken = "".join(f"u{i}:x:{i}:{i}::/:/x\n" for i in aa.IDS)
    root = root_with(tmp_path, "full", taken, "")
    with pytest.raises(ExpandError, match="no free system id"):
        aa.free_id(root)


def test_the_wrapper_binds_the_node_dirs_and_links_etc_live() -> None:
    text = aa.WRAPPER_TEXT
    assert text.startswith("#!/bin/sh\n")
    assert "unshare --mount --propagation private" in text
    for path in aa.BOUND:
        assert f" {path}" in text
    assert "/etc/asterisk" not in aa.BOUND  # linked through NODE_ETC, not bound
    assert f'mount --bind -o ro /etc "$r{aa.NODE_ETC}"' in text
    assert 'exec chroot "$r" /usr/sbin/asterisk "$@"' in text
    assert f"ExecStart={aa.WRAPPER} -f -U asterisk -G asterisk" in aa.UNIT_TEXT
    assert "TimeoutStopSec=" in aa.UNIT_TEXT


def test_the_node_boots_with_its_asterisk_root_bound_in() -> None:
    argv = appliance.boot_argv(Path("/run/expand-lab"), "expand1", "xlab-expand1")
    assert (f"--bind=/run/expand-lab/nodes/expand1/asterisk/merged:{aa.ROOT_IN_NODE}"
            in argv)


def test_the_seed_audio_is_in_the_seed_format(tmp_path: Path) -> None:
    import os

    aa.seed_audio(tmp_path, os.getuid())
    audio = tmp_path / aa.AUDIO_DIR.lstrip("/")
    # Its parent's mode (0711) is the product's: pbx.secrets_store.save at first boot.
    for wav in (audio / "msjBienvenida.wav", audio / "moh/default/silence.wav"):
        with wave.open(str(wav)) as sound:
            assert (sound.getnchannels(), sound.getsampwidth(), sound.getframerate()) == \
                (1, 2, 8000)
