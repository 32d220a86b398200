"""In a cluster both nodes derive the same generated secrets from the shared authkey; a
stored secret still wins; without an authkey they stay random."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pbx.model import Site
from pbx.secrets_store import AUTHKEY_PATH, _valid, cluster_key, complete, derived_secret
from pbx.site import load_site

ACME = Path(__file__).resolve().parents[2] / "examples" / "site" / "acme.toml"
KEY = bytes(range(128))


@pytest.fixture(scope="module")
def acme() -> Site:
    return load_site(ACME)


def with_authkey(root: Path, key: bytes) -> Path:
    path = root / AUTHKEY_PATH.lstrip("/")
    path.parent.mkdir(parents=True)
    path.write_bytes(key)
    os.chmod(path, 0o400)
    return root


def test_two_nodes_with_the_same_authkey_render_the_same_secrets(tmp_path: Path,
                                                                 acme: Site) -> None:
    first = cluster_key(with_authkey(tmp_path / "expand1", KEY))
    second = cluster_key(with_authkey(tmp_path / "expand2", KEY))
    assert first == second == KEY
    one, keep_one = complete(acme, {}, authkey=first)
    two, keep_two = complete(acme, {}, authkey=second)
    assert one == two and keep_one == keep_two
    assert len(set(keep_one["sip"].values())) == len(keep_one["sip"]) == 6
    for kind, table in keep_one.items():
        assert all(_valid(kind, secret) for secret in table.values()), kind


def test_the_derived_secret_has_the_shape_of_a_random_one() -> None:
    sip = derived_secret(KEY, "sip", "550")
    assert len(sip) == 24 and sip.isalnum() and sip.isascii()
    pin = derived_secret(KEY, "pins", "adiaz")
    assert len(pin) == 6 and pin.isdigit()
    # another record, kind or key gives another secret
    assert derived_secret(KEY, "sip", "551") != sip
    assert derived_secret(KEY, "voicemail", "550") != derived_secret(KEY, "pins", "550")
    assert derived_secret(b"another key", "sip", "550") != sip


def test_a_stored_secret_wins_over_the_derived_one(acme: Site) -> None:
    secrets, keep = complete(acme, {"sip": {"550": "StoredEarlier123"}}, authkey=KEY)
    assert secrets.get("sip", "550") == "StoredEarlier123" == keep["sip"]["550"]
    assert secrets.get("sip", "551") == derived_secret(KEY, "sip", "551")


def test_without_an_authkey_the_secrets_are_random(tmp_path: Path, acme: Site) -> None:
    assert cluster_key(tmp_path) is None
    assert cluster_key(with_authkey(tmp_path / "empty", b"")) is None
    _, one = complete(acme, {}, authkey=cluster_key(tmp_path))
    _, two = complete(acme, {}, authkey=None)
    assert one["sip"]["550"] != two["sip"]["550"]


def test_an_authkey_path_that_is_a_directory_means_no_key(tmp_path: Path) -> None:
    (tmp_path / AUTHKEY_PATH.lstrip("/")).mkdir(parents=True)
    assert cluster_key(tmp_path) is None
