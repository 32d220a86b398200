"""Bad input to the hub commands: one clear line naming the file or argument, exit 1 (2 for
argparse), no traceback, nothing written. Each case is the real CLI in a forked child
(tests/unit/cli_fork.py), as in test_bad_inputs.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.unit.bad_input_kit import (
    MIB,
    Maker,
    Run,
    check_refusal,
    directory,
    fifo,
    run_corpus,
    symlink_loop,
    write,
)
from tests.unit.cli_fork import ForkCase, run_forked

pytestmark = pytest.mark.unit


def _key() -> str:
    return Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


PRIVATE = Ed25519PrivateKey.generate().private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
    serialization.NoEncryption())
KEY, OTHER_KEY = _key(), _key()


FILE_KINDS: dict[str, Callable[[Path], None]] = {
    "missing": lambda path: None,
    "empty": write(b""),
    "directory": directory,
    "binary": write(b"ssh-ed25519 AAAA\0\0\1\2"),
    "not-utf8": write(b"ssh-ed25519 \xff\xfe\n"),
    "huge": write(b"ssh-ed25519 " + b"A" * (MIB + 10) + b"\n"),
    "symlink-loop": symlink_loop,
    "fifo-no-writer": fifo,
}
BAD_KEYS: dict[str, bytes] = {
    "private-key": PRIVATE,
    "rsa": b"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== x\n",
    "two-keys": f"{KEY}\n{OTHER_KEY}\n".encode(),
    "with-options": f'command="/bin/sh" {KEY}\n'.encode(),
    "bad-base64": b"ssh-ed25519 AAAA*AAA x\n",
    "short-key": b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAEAAAAAAAAAAAAAAAAAAAAAA= x\n",
}
DEEP = b"a = " + b"[" * 60000 + b"]" * 60000 + b"\n"
BAD_REGISTRIES: dict[str, bytes] = {
    "empty-doc": b"",
    "nul": b"version = 1\n\0",
    "not-utf8": b"version = 1\n# \xff\n",
    "deep": DEEP,
    "huge": b"# " + b"x" * (5 * MIB) + b"\n",
    "truncated": b"version = 1\n[sites.acme]\nport = 200",
    "wrong-version": b"version = 7\n",
    "sites-not-a-table": b"version = 1\nsites = 5\n",
    "bad-site-name": b'version = 1\n[sites."A B"]\nport = 20000\n',
    "port-text": b'version = 1\n[sites.acme]\nport = "x"\nfingerprint = "f"\nkey = "k"\n'
                 b'added = "t"\n',
    "unknown-key": b"version = 1\ncolour = 2\n",
    "ports-reversed": b"version = 1\n[ports]\nfirst = 30000\nlast = 20000\n",
}


def hub_add(key: bytes | None = None, *, registry: Callable[[Path], None] | None = None,
            keys_file: Callable[[Path], None] | None = None,
            key_kind: Callable[[Path], None] | None = None, site: str = "acme",
            extra: tuple[str, ...] = (), named: str = "") -> Maker:
    def make(case: Path) -> Run:
        reg, ak, pub = case / "hub/registry.toml", case / "hub/authorized_keys", case / "k.pub"
        (registry or write(b"version = 1\n"))(reg)
        if keys_file:
            keys_file(ak)
        if key_kind:
            key_kind(pub)
        else:
            write(key if key is not None else KEY.encode())(pub)
        return Run(["support", "hub-add", site, str(pub), "--registry", str(reg),
                    "--authorized-keys", str(ak), *extra],
                   named or (str(pub) if key_kind or key is not None else str(reg)))
    return make


def command(*argv: str, registry: bytes | None = None, named: str) -> Maker:
    def make(case: Path) -> Run:
        reg = case / "registry.toml"
        if registry is not None:
            reg.write_bytes(registry)
        return Run([a.replace("{reg}", str(reg)).replace("{case}", str(case)) for a in argv],
                   named)
    return make


CASES: dict[str, Maker] = {
    **{f"hub-add-key-file-{k}": hub_add(key_kind=f) for k, f in FILE_KINDS.items()},
    **{f"hub-add-key-{k}": hub_add(v) for k, v in BAD_KEYS.items()},
    **{f"hub-add-registry-{k}": hub_add(registry=write(v)) for k, v in BAD_REGISTRIES.items()},
    "hub-add-registry-directory": hub_add(registry=directory),
    "hub-add-registry-loop": hub_add(registry=symlink_loop),
    "hub-add-authorized-keys-directory": hub_add(keys_file=directory, named="authorized_keys"),
    "hub-add-authorized-keys-binary": hub_add(keys_file=write(b"ssh-ed25519 \0"),
                                              named="authorized_keys"),
    "hub-add-authorized-keys-huge": hub_add(keys_file=write(b"#" * (9 * MIB)),
                                            named="authorized_keys"),
    "hub-add-key-already-on-a-foreign-line": hub_add(keys_file=write(f"{KEY}\n".encode()),
                                                     named="line 1"),
    **{f"hub-add-site-{label}": hub_add(site=site, named="SITE") for label, site in {
        "upper": "ACME", "slash": "a/b", "dash-first": "-acme", "long": "a" * 33,
        "empty": "", "space": "a b", "dot": "a.b", "newline": "a\nb"}.items()},
    "hub-add-key-argument-empty": lambda case: Run(
        ["support", "hub-add", "acme", " ", "--registry", str(case / "r.toml"),
         "--authorized-keys", str(case / "ak")], "PUBKEY: empty"),
    "hub-add-port-outside": hub_add(extra=("--port", "40000"), named="--port"),
    "hub-add-port-not-a-number": hub_add(extra=("--port", "x"), named="--port"),
    "hub-add-claim-command-quote": hub_add(extra=("--claim-command", '/x" y'),
                                           named="--claim-command"),
    "hub-add-host-key-rsa-data": hub_add(extra=("--host-key", "ssh-rsa " + KEY.split()[1]),
                                         named="--host-key"),
    "hub-add-host-key-missing-file": hub_add(extra=("--host-key", "/nonexistent/h.pub"),
                                             named="/nonexistent/h.pub"),
    "hub-remove-unknown": command("support", "hub-remove", "acme", "--registry", "{reg}",
                                  "--authorized-keys", "{case}/ak", registry=b"version = 1\n",
                                  named="acme: no such site"),
    "hub-remove-registry-deep": command("support", "hub-remove", "acme", "--registry", "{reg}",
                                        "--authorized-keys", "{case}/ak", registry=DEEP,
                                        named="registry.toml"),
    "list-registry-missing": command("support", "list", "--registry", "{reg}",
                                     named="registry.toml: cannot read registry: file not"),
    "list-registry-nul": command("support", "list", "--registry", "{reg}",
                                 registry=b"version = 1\0", named="registry.toml"),
    "claim-low-port": command("support", "claim", "22", named="PORT"),
    "claim-not-a-port": command("support", "claim", "http", named="PORT"),
    "hub-config-bad-user": command("support", "hub-config", "--user", "Bad User",
                                   named="--user"),
    "hub-config-relative-keys": command("support", "hub-config", "--authorized-keys", "ak",
                                        named="--authorized-keys"),
    "hub-install-into-a-directory": command("support", "hub-install", "--to", "{case}",
                                            "--python", "/usr/bin/python3",
                                            named="cannot write"),
    "hub-install-relative-python": command("support", "hub-install", "--to", "{case}/c",
                                           "--python", "python3", named="--python"),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    return run_corpus(CASES, tmp_path_factory, "support-bad")


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_hub_input_is_one_clear_refusal(results: dict[str, Run], name: str) -> None:
    run = results[name]
    assert run.result is not None
    shown = check_refusal(run, max_lines=1 if run.result.returncode == 1 else None)
    said = (run.result.stdout + run.result.stderr).decode(errors="replace")
    assert "PRIVATE KEY" not in said and PRIVATE.decode().splitlines()[1] not in said, shown


def test_a_good_run_in_the_same_corpus_setup_succeeds(tmp_path: Path) -> None:
    """The corpus' baseline (valid key, empty registry) is accepted: each case fails for
    its own fault only."""
    run = hub_add()(tmp_path)
    (result,) = run_forked([ForkCase(run.argv, tmp_path)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert b"added on port 20000" in result.stdout
