"""The appliance's own ed25519 key for the hub, made once at first boot (0600).

Drawn when the step is applied, never in its plan (a plan says "a key will be made"), and
kept when it exists already: the hub's authorized_keys names it, so a rerun of the first
boot must not change it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.filesink import FileSink
from appliance.runner import Runner


def new_key_pair(comment: str) -> tuple[bytes, str]:
    """(OpenSSH private key, public key line ``ssh-ed25519 BASE64 COMMENT``)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, f"{public} {comment}"


@dataclass(frozen=True)
class NewTunnelKey:
    """Make the key pair unless the private key exists (then its .pub stays as it is)."""

    path: str
    comment: str

    @property
    def public_path(self) -> str:
        return self.path + ".pub"

    def describe(self) -> str:
        return (f"make this appliance's ed25519 key unless it exists: write {self.path} "
                f"(mode 0600) and {self.public_path} (mode 0644)")

    def as_dict(self) -> dict[str, Any]:
        return {"action": "new-tunnel-key", "paths": [self.path, self.public_path],
                "secret": True}

    def execute(self, sink: FileSink, runner: Runner) -> None:
        if sink.exists(self.path):
            return
        private, public = new_key_pair(self.comment)
        # The public half first: a run cut in between makes a new pair on resume.
        sink.write(self.public_path, public + "\n", mode=0o644, dir_mode=0o700)
        sink.write(self.path, private, mode=0o600, dir_mode=0o700)
