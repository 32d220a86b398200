"""``pbx audio convert`` with the real sox: a 44.1 kHz stereo tone becomes a prompt the check
(and the stdlib ``wave`` reader) accepts; junk gets one line and nothing is left at DEST."""

from __future__ import annotations

import os
import subprocess
import sys
import wave
from pathlib import Path

from tests.support import require_tools

REPO = Path(__file__).resolve().parents[2]


def expandctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "appliance.cli", "pbx", "audio", *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)


def tone(path: Path) -> Path:
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", str(path), "synth", "1", "sine",
                    "440"], check=True, capture_output=True, timeout=60)
    return path


def test_convert_a_cd_tone_into_a_prompt(tmp_path: Path) -> None:
    require_tools("sox")
    src, prompts = tone(tmp_path / "tone.wav"), tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "raw.wav").write_bytes(src.read_bytes())
    before = expandctl("check", str(prompts))
    assert before.returncode == 1
    assert "raw.wav: 44100 Hz stereo" in before.stderr
    (prompts / "raw.wav").unlink()

    done = expandctl("convert", str(src), str(prompts / "msjBienvenida.wav"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in prompts.iterdir()) == ["msjBienvenida.wav"]  # no temp left
    with wave.open(str(prompts / "msjBienvenida.wav"), "rb") as made:
        assert (made.getframerate(), made.getnchannels(), made.getsampwidth()) == (8000, 1, 2)
        assert abs(made.getnframes() - 8000) < 100  # still one second of sound
    after = expandctl("check", str(prompts))
    assert after.returncode == 0, after.stderr


def test_convert_over_an_existing_prompt_replaces_it(tmp_path: Path) -> None:
    require_tools("sox")
    dest = tmp_path / "p.wav"
    dest.write_bytes(b"old")
    done = expandctl("convert", str(tone(tmp_path / "tone.wav")), str(dest))
    assert done.returncode == 0, done.stderr
    lines = expandctl("check", str(tmp_path)).stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{tmp_path}/tone.wav: 44100 Hz stereo")


def test_convert_junk_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    require_tools("sox")
    junk, out = tmp_path / "junk.wav", tmp_path / "out"
    junk.write_bytes(bytes(range(256)) * 40)
    out.mkdir()
    done = expandctl("convert", str(junk), str(out / "p.wav"))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{junk}: sox cannot convert it"), lines
    assert "Traceback" not in done.stderr
    assert list(out.iterdir()) == []


def test_convert_into_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    require_tools("sox")
    done = expandctl("convert", str(tone(tmp_path / "tone.wav")),
                     str(tmp_path / "nope" / "p.wav"))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"{tmp_path}/nope: the folder of DEST does not exist"]
    assert not (tmp_path / "nope").exists()
