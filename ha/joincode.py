"""The join code, as the cluster code knows it: the parser and the key derivation live in
``appliance.joincode`` (the answers validators check a typed code without importing ``ha``)."""

from __future__ import annotations

from appliance.joincode import (
    AUTHKEY_BYTES,
    authkey_from_code,
    authkey_from_secret,
    new_join_code,
    parse_join_code,
)

__all__ = ["AUTHKEY_BYTES", "authkey_from_code", "authkey_from_secret", "new_join_code",
           "parse_join_code"]
