"""``expandctl pbx render`` through the real CLI: files written under --out, generated secrets
kept 0600 and stable, never printed or logged; a bad site or argument writes nothing."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ACME = REPO / "examples" / "site" / "acme.toml"
EXPANDCTL = Path(sys.executable).parent / "expandctl"
SECRETS = "var/lib/expand/pbx/secrets.json"


def expandctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXPANDCTL), *args], capture_output=True, text=True,
                          check=False, timeout=120)


def tree(root: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(root)): (stat.S_IMODE(p.stat().st_mode), p.read_bytes())
            for p in sorted(root.rglob("*")) if p.is_file()}


def stored_secrets(root: Path) -> list[str]:
    data = json.loads((root / SECRETS).read_text())
    return [s for table in data.values() for s in table.values()]


def test_render_writes_files_and_keeps_secrets_private(tmp_path: Path) -> None:
    out, log = tmp_path / "out", tmp_path / "render.log"
    first = expandctl("-v", "--log-file", str(log), "pbx", "render", str(ACME), "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert f"wrote {out}/etc/asterisk/pjsip.conf" in first.stdout
    assert f"wrote {out}/etc/dahdi/system.conf" in first.stdout
    assert "15 generated secret(s), not shown" in first.stdout
    assert stat.S_IMODE((out / SECRETS).stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "etc/asterisk/expand-pins").stat().st_mode) == 0o600
    secrets = stored_secrets(out)
    assert len(secrets) == 15  # 6 SIP, 6 voicemail, 3 PINs
    pjsip = (out / "etc/asterisk/pjsip.conf").read_text()
    sip = json.loads((out / SECRETS).read_text())["sip"]
    assert sorted(sip) == ["550", "551", "601", "770", "771", "772"]
    assert all(f"password = {s}\n" in pjsip for s in sip.values())
    said = first.stdout + first.stderr + log.read_text()
    leaked = [s for s in secrets if s in said]
    assert leaked == []

    before = tree(out)
    second = expandctl("pbx", "render", str(ACME), "--out", str(out))
    assert second.returncode == 0, second.stderr
    assert "wrote" not in second.stdout  # every file, the secrets file too, unchanged
    assert second.stdout.count("unchanged ") == 14
    assert tree(out) == before  # byte-identical, same modes, secrets read back
    assert not any(s in second.stdout + second.stderr for s in secrets)


def test_state_dir_holds_the_secrets_apart(tmp_path: Path) -> None:
    out, state = tmp_path / "out", tmp_path / "state"
    state.mkdir()
    proc = expandctl("pbx", "render", str(ACME), "--out", str(out), "--state", str(state))
    assert proc.returncode == 0, proc.stderr
    assert (state / SECRETS).is_file() and not (out / SECRETS).exists()
    again = tmp_path / "again"
    proc = expandctl("pbx", "render", str(ACME), "--out", str(again), "--state", str(state))
    assert proc.returncode == 0, proc.stderr
    assert tree(out) == tree(again)  # same secrets: same files in another release


def test_a_site_secret_wins_and_is_not_stored(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(ACME.read_text().replace(
        '[extensions.550]\nuser = "adiaz"', '[extensions.550]\nuser = "adiaz"\n'
                                           'secret = "Given-Secret-550"'))
    out = tmp_path / "out"
    proc = expandctl("pbx", "render", str(site), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "password = Given-Secret-550\n" in (out / "etc/asterisk/pjsip.conf").read_text()
    assert "Given-Secret-550" not in (out / SECRETS).read_text()
    assert "Given-Secret-550" not in proc.stdout + proc.stderr


def test_bad_site_writes_nothing(tmp_path: Path) -> None:
    site, out = tmp_path / "bad.toml", tmp_path / "out"
    site.write_text(ACME.read_text().replace('members = ["550", "551"]', 'members = ["999"]', 1))
    proc = expandctl("pbx", "render", str(site), "--out", str(out))
    assert proc.returncode == 1
    assert f"{site}: queues.recl.members: member '999' is no extension" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_value_the_config_cannot_carry_writes_nothing(tmp_path: Path) -> None:
    site, out = tmp_path / "comma.toml", tmp_path / "out"
    site.write_text(ACME.read_text().replace('name = "Ana Díaz"', 'name = "Díaz, Ana"'))
    out.mkdir()
    proc = expandctl("pbx", "render", str(site), "--out", str(out))
    assert proc.returncode == 1, proc.stdout
    assert f"{site}: users.adiaz.name: holds ',' or '|'" in proc.stderr
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(("args", "message"), [
    (["--bind", "vip:5060"], "--bind: 'vip:5060' is not ADDRESS:PORT"),
    (["--bind", "198.51.100.10:70000"], "--bind: '198.51.100.10:70000': the port"),
    (["--etc-dir", "etc/asterisk"], "--etc-dir: 'etc/asterisk' is not an absolute path"),
])
def test_bad_arguments_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "out"
    proc = expandctl("pbx", "render", str(ACME), "--out", str(out), *args)
    assert proc.returncode == 1
    assert proc.stderr.startswith(message), proc.stderr
    assert not out.exists()


def test_out_that_is_a_file_or_lacks_its_parent(tmp_path: Path) -> None:
    afile = tmp_path / "file"
    afile.write_text("x")
    proc = expandctl("pbx", "render", str(ACME), "--out", str(afile))
    assert proc.returncode == 1 and f"--out: {afile} is not a directory" in proc.stderr
    proc = expandctl("pbx", "render", str(ACME), "--out", str(tmp_path / "no" / "out"))
    assert proc.returncode == 1 and "does not exist" in proc.stderr


def test_secrets_file_open_to_others_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert expandctl("pbx", "render", str(ACME), "--out", str(out)).returncode == 0
    os.chmod(out / SECRETS, 0o644)
    proc = expandctl("pbx", "render", str(ACME), "--out", str(out))
    assert proc.returncode == 1
    assert "secrets file is readable by others" in proc.stderr
    assert not any(s in proc.stderr for s in stored_secrets(out))


def test_broken_secrets_file_is_named_not_shown(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / SECRETS).parent.mkdir(parents=True)
    fd = os.open(out / SECRETS, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b'{"sip": {"550": "Leaky-Secret-1"')
    os.close(fd)
    proc = expandctl("pbx", "render", str(ACME), "--out", str(out))
    assert proc.returncode == 1 and "secrets file is not valid JSON" in proc.stderr
    assert "Leaky-Secret-1" not in proc.stderr


def test_render_of_2000_extensions_and_100_queues(tmp_path: Path) -> None:
    """A figure, and a loose bound (the issue's goal is 1 s for the render itself)."""
    from pbx.render_sample import big_site_toml

    site, out = tmp_path / "big.toml", tmp_path / "out"
    site.write_text(big_site_toml(2000, 100))
    started = time.perf_counter()
    proc = expandctl("pbx", "render", str(site), "--out", str(out))
    took = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr
    pjsip = (out / "etc/asterisk/pjsip.conf").read_text()
    assert pjsip.count("type = auth\n") == 2000
    assert (out / "etc/asterisk/queues.conf").read_text().count("member => ") == 2000
    print(f"\npbx render of 2000 extensions, 100 queues: {took:.2f} s (whole process)")
    assert took < 30
