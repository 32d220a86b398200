"""The secrets store: generated once, read back, a site secret wins, nothing shown."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from pathlib import Path

import pytest

from appliance.errors import ExpandError
from pbx.model import Site
from pbx.secrets_store import SECRETS_PATH, complete, dump, load, new_digits, new_sip_secret, save
from pbx.site import load_site

REPO = Path(__file__).resolve().parents[2]
ACME = REPO / "examples" / "site" / "acme.toml"


@pytest.fixture(scope="module")
def acme() -> Site:
    return load_site(ACME)


def test_generated_secrets_have_the_shape_the_site_checks_want() -> None:
    sip = new_sip_secret()
    assert len(sip) == 24 and sip.isalnum()
    assert new_sip_secret() != sip
    pin = new_digits()
    assert len(pin) == 6 and pin.isdigit()


def test_generated_once_then_read_back(tmp_path: Path, acme: Site) -> None:
    secrets, keep = complete(acme, load(tmp_path))
    assert sorted(keep["sip"]) == ["550", "551", "601", "770", "771", "772"]
    assert sorted(keep["pins"]) == ["adiaz", "disola", "sgaleano"]
    assert save(tmp_path, keep) is True
    path = tmp_path / SECRETS_PATH.lstrip("/")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o711  # traversable, not listable
    again, keep_again = complete(acme, load(tmp_path))
    assert again == secrets and keep_again == keep
    assert save(tmp_path, keep_again) is False  # unchanged: not rewritten


@pytest.mark.parametrize("before", [0o700, 0o755, 0o777])
def test_the_secrets_folder_becomes_traversable_never_listable(tmp_path: Path, acme: Site,
                                                               before: int) -> None:
    """The audio folder Asterisk reads sits in it: 0700 hid the music on hold from
    Asterisk's user, 0755 would let anyone list it."""
    folder = tmp_path / SECRETS_PATH.lstrip("/")
    folder.parent.mkdir(parents=True)
    os.chmod(folder.parent, before)
    _, keep = complete(acme, {})
    save(tmp_path, keep)
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o711
    assert stat.S_IMODE(folder.stat().st_mode) == 0o600
    save(tmp_path, keep)  # unchanged content: the folder's mode is still settled
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o711


def test_a_secret_of_the_site_wins_and_is_not_kept(acme: Site) -> None:
    ext = dataclasses.replace(acme.extensions[0], secret="From-The-Site-1")
    site = dataclasses.replace(acme, extensions=(ext, *acme.extensions[1:]))
    secrets, keep = complete(site, {"sip": {"550": "StoredEarlier123"}})
    assert secrets.get("sip", "550") == "From-The-Site-1"
    assert "550" not in keep["sip"]


def test_records_no_longer_in_the_site_are_dropped(acme: Site) -> None:
    _, keep = complete(acme, {"sip": {"999": "Gone-Extension-1"}, "pins": {"old": "1234"}})
    assert "999" not in keep["sip"] and "old" not in keep["pins"]


def test_repr_shows_no_secret(acme: Site) -> None:
    secrets, _ = complete(acme, {})
    assert not any(s in repr(secrets) for s in secrets.all())


def test_values_of_the_wrong_shape_are_generated_again(tmp_path: Path, acme: Site) -> None:
    path = tmp_path / SECRETS_PATH.lstrip("/")
    path.parent.mkdir(parents=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, json.dumps({"sip": {"550": "short", "551": "Good-but-dashes"},
                             "pins": {"adiaz": "12ab"}}).encode())
    os.close(fd)
    assert load(tmp_path) == {"sip": {}, "voicemail": {}, "pins": {}}


def test_a_folder_or_a_list_is_refused(tmp_path: Path) -> None:
    path = tmp_path / SECRETS_PATH.lstrip("/")
    path.parent.mkdir(parents=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"[1, 2]")
    os.close(fd)
    with pytest.raises(ExpandError, match="is not a JSON object"):
        load(tmp_path)
    path.unlink()
    path.mkdir()
    with pytest.raises(ExpandError):
        load(tmp_path)


def test_dump_is_sorted_and_stable() -> None:
    keep = {"sip": {"772": "B" * 24, "550": "A" * 24}, "voicemail": {}, "pins": {}}
    text = dump(keep)
    assert text == dump(json.loads(text))
    assert text.index('"550"') < text.index('"772"')
