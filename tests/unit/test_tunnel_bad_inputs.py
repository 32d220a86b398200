"""Bad input to every reader of ``expandctl tunnel``: settings, key, pinned host key, state,
window, engineers' keys, --for. One clear line naming the file or argument, exit 1, no
traceback, nothing written (the real CLI, forked per case)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.unit.bad_input_kit import MIB, Maker, Run, check_refusal, run_corpus

KINDS: dict[str, bytes | None] = {
    "missing": None,
    "empty": b"",
    "binary": b"\0\x01\x02\xff\xfe" * 100,
    "not-utf8": b"[hub]\nhost = \"h\xffb\"\n",
    "huge": b"# " + b"x" * (MIB + 10) + b"\n",
    "deep-toml": b"a = " + b"[" * 60000 + b"]" * 60000 + b"\n",
    "deep-json": b"[" * 60000 + b"]" * 60000,
    "directory": b"",
}
ED25519_PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def private_key() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption())


def put(path: Path, kind: str) -> None:
    data = KINDS[kind]
    if kind == "directory":
        path.mkdir()
    elif data is not None:
        path.write_bytes(data)


def settings(case: Path, **files: str) -> Path:
    """A good tunnel.toml whose files all live in ``case`` (some replaced by ``files``)."""
    names = {"state": "state.json", "window": "window.json", "engineers": "engineers.pub",
             "engineers-authorized-keys": "authorized_keys", **files}
    text = ("[hub]\nhost = \"203.0.113.129\"\nforward-port = 20017\n"
            f"known-hosts = \"{case / files.get('known-hosts', 'known_hosts')}\"\n"
            f"[local]\nkey = \"{case / files.get('key', 'id_ed25519')}\"\n[files]\n"
            + "".join(f"{k} = \"{case / v}\"\n" for k, v in names.items()
                      if k not in ("known-hosts", "key")))
    path = case / "tunnel.toml"
    path.write_text(text)
    return path


def config_case(kind: str) -> Maker:
    def make(case: Path) -> Run:
        put(case / "t.toml", kind)
        return Run(["tunnel", "--config", str(case / "t.toml"), "status"], str(case / "t.toml"))
    return make


def file_case(command: str, setting: str, kind: str) -> Maker:
    def make(case: Path) -> Run:
        put(case / "target", kind)
        if setting != "known-hosts":
            (case / "known_hosts").write_text(f"203.0.113.129 {ED25519_PUB}\n")
        if setting != "key":
            (case / "id_ed25519").write_bytes(private_key())
        config = settings(case, **{setting: "target"})
        return Run(["tunnel", "--config", str(config), command], str(case / "target"))
    return make


def args_case(*argv: str, named: str) -> Maker:
    def make(case: Path) -> Run:
        return Run(["tunnel", "--config", str(settings(case)), *argv], named)
    return make


def bad_settings(text: str, named: str) -> Maker:
    def make(case: Path) -> Run:
        (case / "t.toml").write_text(text)
        return Run(["tunnel", "--config", str(case / "t.toml"), "run"], named)
    return make


CASES: dict[str, Maker] = {
    **{f"settings-{k}": config_case(k) for k in KINDS if k != "missing"},
    **{f"key-{k}": file_case("run", "key", k) for k in KINDS},
    **{f"known-hosts-{k}": file_case("run", "known-hosts", k) for k in KINDS},
    **{f"state-{k}": file_case("status", "state", k) for k in KINDS if k != "missing"},
    **{f"window-{k}": file_case("status", "window", k) for k in KINDS if k != "missing"},
    **{f"engineers-{k}": file_case("enable", "engineers", k)
       for k in KINDS if k not in ("missing", "empty")},
    "enable-window-is-a-directory": file_case("enable", "window", "directory"),
    "enable-keys-file-is-a-directory": file_case("enable", "engineers-authorized-keys",
                                                 "directory"),
    "disable-window-is-a-directory": file_case("disable", "window", "directory"),
    "for-letters": args_case("enable", "--for", "soon", named="--for"),
    "for-zero": args_case("enable", "--for", "0s", named="--for"),
    "for-too-long": args_case("enable", "--for", "31d", named="--for"),
    "for-huge": args_case("enable", "--for", "9" * 5000 + "h", named="--for"),
    "settings-unknown-key": bad_settings('[hub]\nhost = "h.example.org"\nforward-port = 2\n'
                                         'colour = "red"\n', "hub.colour"),
    "settings-no-port": bad_settings('[hub]\nhost = "h.example.org"\n', "hub.forward-port"),
    "settings-bad-host": bad_settings('[hub]\nhost = "no host"\nforward-port = 20017\n',
                                      "hub.host"),
    "settings-relative-key": bad_settings('[hub]\nhost = "h.example.org"\nforward-port = 1\n'
                                          '[local]\nkey = "id"\n', "local.key"),
    "settings-bad-timing": bad_settings('[hub]\nhost = "h.example.org"\nforward-port = 1\n'
                                        '[timing]\nkeepalive-misses = 0\n',
                                        "timing.keepalive-misses"),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    return run_corpus(CASES, tmp_path_factory, "tunnel-bad")


def test_every_kind_of_file_is_tried() -> None:
    assert len(CASES) >= 50


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_tunnel_input_is_one_clear_refusal(results: dict[str, Run], name: str) -> None:
    check_refusal(results[name], exit_code=1, max_lines=5, named_chars=100)
