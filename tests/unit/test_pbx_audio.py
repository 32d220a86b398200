"""``pbx audio check``: WAV headers written by the stdlib ``wave`` module in the right and the
wrong formats, and junk named .wav; the CLI runs as its own process (exit codes, one line per
file, never a traceback). ``convert``'s bad arguments are refused before sox runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from collections.abc import Callable
from pathlib import Path

import pytest

from appliance.runner import RecordingRunner
from pbx.audio import BadAudio, convert, file_problem, read_header, sox_argv
from pbx.crosschecks import prompts_used
from pbx.site import checked_values, read_site


def acme_prompts() -> set[str]:
    data, reports = read_site(ACME)
    assert data is not None, reports
    parsed, reports = checked_values(data, str(ACME))
    assert not reports
    return {name for _, name in prompts_used(parsed)}

REPO = Path(__file__).resolve().parents[2]
ACME = REPO / "examples/site/acme.toml"


def write_wav(path: Path, rate: int = 8000, channels: int = 1, width: int = 2,
              frames: int = 800) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setframerate(rate)
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.writeframes(b"\x01" * width * channels * frames)
    return path


def expandctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "appliance.cli", "pbx", "audio", *args],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)


def test_the_seed_format_passes(tmp_path: Path) -> None:
    info = read_header(write_wav(tmp_path / "ok.wav"))
    assert (info.rate, info.channels, info.bits, info.data_bytes) == (8000, 1, 16, 1600)
    assert file_problem(tmp_path / "ok.wav") is None


@pytest.mark.parametrize(("rate", "channels", "width", "said"), [
    (44100, 2, 2, "44100 Hz stereo, needs 8000 Hz mono 16-bit PCM (pbx audio convert)"),
    (44100, 1, 2, "44100 Hz, needs"),
    (8000, 2, 2, "stereo, needs"),
    (8000, 1, 1, "8-bit PCM, needs"),
    (8000, 1, 3, "24-bit PCM, needs"),
    (16000, 1, 2, "16000 Hz, needs"),
])
def test_wrong_formats_say_what_is_wrong(tmp_path: Path, rate: int, channels: int,
                                         width: int, said: str) -> None:
    problem = file_problem(write_wav(tmp_path / "p.wav", rate, channels, width))
    assert problem is not None and problem.startswith(said)


def _truncated(path: Path) -> None:
    write_wav(path)
    path.write_bytes(path.read_bytes()[:-100])


def _bogus_fmt(path: Path) -> None:
    write_wav(path)
    data = bytearray(path.read_bytes())
    data[22:24] = b"\x00\x00"  # zero channels
    path.write_bytes(bytes(data))


def _no_data(path: Path) -> None:
    write_wav(path, frames=0)


JUNK: dict[str, tuple[Callable[[Path], object], str]] = {
    "empty.wav": (lambda p: p.write_bytes(b""), "is empty"),
    "text.wav": (lambda p: p.write_text("not audio\n"), "not a WAV file"),
    "binary.wav": (lambda p: p.write_bytes(bytes(range(256)) * 20), "not a WAV file"),
    "riff_only.wav": (lambda p: p.write_bytes(b"RIFF\x10\x00\x00\x00WAVE"), "bogus WAV header"),
    "truncated.wav": (_truncated, "truncated"),
    "bogus.wav": (_bogus_fmt, "bogus WAV header"),
    "silent.wav": (_no_data, "holds no sound"),
    "dir.wav": (lambda p: p.mkdir(), "is a directory"),
    "loop.wav": (lambda p: p.symlink_to(p.name), "symbolic links"),
    "UPPER.WAV": (lambda p: write_wav(p), "lowercase .wav"),
}


@pytest.mark.parametrize("name", sorted(JUNK))
def test_junk_is_one_reason(tmp_path: Path, name: str) -> None:
    make, said = JUNK[name]
    make(tmp_path / name)
    problem = file_problem(tmp_path / name)
    assert problem is not None and said in problem


def test_oversized_file_is_refused_by_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    monkeypatch.setattr("pbx.audio.MAX_BYTES", 1000)
    problem = file_problem(write_wav(tmp_path / "long.wav"))
    assert problem is not None and "larger than" in problem


def test_check_cli_all_good(tmp_path: Path) -> None:
    write_wav(tmp_path / "a.wav")
    write_wav(tmp_path / "b.wav")
    (tmp_path / "notes.txt").write_text("not a prompt, not checked")
    done = expandctl("check", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "2 prompt(s)" in done.stdout and not done.stderr


def test_check_cli_one_line_per_bad_file(tmp_path: Path) -> None:
    write_wav(tmp_path / "good.wav")
    write_wav(tmp_path / "cd.wav", 44100, 2)
    for name, (make, _) in JUNK.items():
        make(tmp_path / name)
    done = expandctl("check", str(tmp_path))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == len(JUNK) + 1, done.stderr
    assert f"{tmp_path}/cd.wav: 44100 Hz stereo, needs 8000 Hz mono 16-bit PCM " \
           "(pbx audio convert)" in lines
    assert not any("good.wav" in line for line in lines)
    assert "Traceback" not in done.stderr


def test_check_cli_json(tmp_path: Path) -> None:
    write_wav(tmp_path / "good.wav")
    write_wav(tmp_path / "wide.wav", 16000)
    done = expandctl("check", "--json", str(tmp_path))
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["ok"] is False and result["files"] == 2
    assert [p["source"] for p in result["problems"]] == [f"{tmp_path}/wide.wav"]


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_check_cli_dir_not_a_directory(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "prompts"
    if kind == "file":
        target.write_text("x")
    done = expandctl("check", str(target))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"{target}: {'does not exist' if kind == 'missing' else 'is not a directory'}"]


def test_check_cli_site_lists_missing_prompts(tmp_path: Path) -> None:
    names = acme_prompts()
    assert {"msjBienvenida", "msjMenuFAX", "msjDejeMsj"} <= names
    for name in names:
        write_wav(tmp_path / f"{name}.wav")
    done = expandctl("check", str(tmp_path), "--site", str(ACME))
    assert done.returncode == 0, done.stderr
    (tmp_path / "msjMenuFAX.wav").unlink()
    write_wav(tmp_path / "msjDejeMsj.wav", 44100, 2)
    done = expandctl("check", str(tmp_path), "--site", str(ACME))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 2, done.stderr
    assert any("msjDejeMsj.wav: 44100 Hz stereo" in line for line in lines)
    assert any("msjMenuFAX.wav is missing" in line for line in lines)


def test_check_cli_bad_site_is_one_line(tmp_path: Path) -> None:
    done = expandctl("check", str(tmp_path), "--site", str(tmp_path / "nope.toml"))
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1 and "nope.toml" in done.stderr


def test_sox_argv_is_the_seed_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert sox_argv(Path("|in.mp3"), Path("/o/out.tmp.wav")) == [
        "sox", "--no-show-progress", f"{tmp_path}/|in.mp3", "-r", "8000", "-c", "1", "-b", "16",
        "-e", "signed-integer", "/o/out.tmp.wav"]  # absolute: never a sox pipe or URL


@pytest.mark.parametrize(("src", "dest", "named"), [
    ("missing.wav", "out/x.wav", "missing.wav: No such file or directory"),
    ("src.wav", "nofolder/x.wav", "nofolder: the folder of DEST does not exist"),
    ("src.wav", "out/x.WAV", "lowercase .wav"),
    ("out", "out/x.wav", "out: is not a regular file"),
])
def test_convert_refuses_before_sox(tmp_path: Path, src: str, dest: str, named: str) -> None:
    write_wav(tmp_path / "src.wav")
    (tmp_path / "out").mkdir()
    runner = RecordingRunner()
    with pytest.raises(BadAudio, match=named):
        convert(tmp_path / src, tmp_path / dest, runner)
    assert runner.calls == []
    assert list((tmp_path / "out").iterdir()) == []


def test_convert_cli_missing_source_is_one_line(tmp_path: Path) -> None:
    done = expandctl("convert", str(tmp_path / "gone.mp3"), str(tmp_path / "x.wav"))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"{tmp_path}/gone.mp3: No such file or directory"]
    assert list(tmp_path.iterdir()) == []
