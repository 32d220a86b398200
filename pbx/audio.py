"""IVR prompts as Asterisk plays them without transcoding (the seed's Anexo D): RIFF/WAVE,
PCM 16-bit, mono, 8000 Hz, named ``NAME.wav``. The header is read here with struct; sox is
needed only to convert (``convert``, through the Runner, written next to DEST then renamed).
"""

from __future__ import annotations

import contextlib
import os
import stat
import struct
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from appliance.errors import ExpandError
from appliance.readers import is_directory, show_path
from appliance.reports import Report
from appliance.runner import CommandFailed, Runner

RATE, CHANNELS, BITS, PCM = 8000, 1, 16, 1
EXTENSIBLE = 0xFFFE  # the real format is in the fmt chunk's sub-format; Asterisk wants plain PCM
ENCODINGS = {3: "float", 6: "A-law", 7: "mu-law", 0x11: "IMA ADPCM", 0x31: "GSM", 0x55: "MP3"}
NEEDS = f"needs {RATE} Hz mono {BITS}-bit PCM (pbx audio convert)"
# 8000 Hz 16-bit mono is 16 kB/s: 64 MiB is over an hour, far past any prompt or music.
MAX_BYTES = 64 * 1024 * 1024
MAX_CHUNKS = 64  # a header of more chunks than this is junk, not a prompt
SOX_TIMEOUT = 120.0


def write_quiet(path: Path, seconds: float = 1.0) -> None:
    """A quiet WAV in the format Asterisk plays as is: stand-in prompts and music for labs.

    The samples are a faint constant, not zeros, so RTP carries real audio (no silence
    suppression on the way) and a test can count it.
    """
    with wave.open(str(path), "wb") as out:
        out.setnchannels(CHANNELS)
        out.setsampwidth(BITS // 8)
        out.setframerate(RATE)
        out.writeframes(b"\0\1" * int(RATE * seconds))


class BadAudio(ExpandError):
    """A file that is not a WAV Asterisk can play; the message is the reason."""


@dataclass(frozen=True)
class WavInfo:
    format_tag: int
    sub_format: int  # of an EXTENSIBLE header; else the format tag
    channels: int
    rate: int
    bits: int
    data_bytes: int

    def problems(self) -> list[str]:
        """What differs from what Asterisk plays as is, in words."""
        wrong = []
        if self.rate != RATE:
            wrong.append(f"{self.rate} Hz")
        if self.channels != CHANNELS:
            wrong.append("stereo" if self.channels == 2 else f"{self.channels} channels")
        if self.bits != BITS or self.sub_format != PCM:
            encoding = "PCM" if self.sub_format == PCM else \
                ENCODINGS.get(self.sub_format, f"encoding {self.sub_format:#06x}")
            wrong.append(f"{self.bits}-bit {encoding}")
        if self.format_tag == EXTENSIBLE:
            wrong.append("(extensible header)")
        return wrong


def _chunks(fh: BinaryIO, size: int) -> Iterator[tuple[bytes, int, int]]:
    """``(id, offset of its body, declared length)`` of every chunk after the RIFF header."""
    offset = 12
    for _ in range(MAX_CHUNKS):
        if offset + 8 > size:
            return
        fh.seek(offset)
        head = fh.read(8)
        if len(head) < 8:
            return
        cid, length = struct.unpack("<4sI", head)
        yield cid, offset + 8, length
        offset += 8 + length + (length & 1)  # chunks are padded to an even length
    raise BadAudio(f"more than {MAX_CHUNKS} chunks: not a prompt")


def read_header(path: Path) -> WavInfo:
    """The format of the WAV at ``path``; BadAudio with the reason when it is not one."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise BadAudio(exc.strerror or "cannot be read") from exc
    except ValueError as exc:
        raise BadAudio("not a usable file name") from exc
    if stat.S_ISDIR(st.st_mode):
        raise BadAudio("is a directory, not a WAV file")
    if not stat.S_ISREG(st.st_mode):
        raise BadAudio("is not a regular file")
    if st.st_size == 0:
        raise BadAudio("is empty")
    if st.st_size > MAX_BYTES:
        raise BadAudio(f"larger than {MAX_BYTES // (1024 * 1024)} MiB: not a prompt")
    try:
        with open(path, "rb") as fh:
            return _parse(fh, st.st_size)
    except OSError as exc:
        raise BadAudio(exc.strerror or "cannot be read") from exc


def _parse(fh: BinaryIO, size: int) -> WavInfo:
    riff = fh.read(12)
    if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
        raise BadAudio("not a WAV file (no RIFF/WAVE header)")
    fmt: tuple[int, int, int, int, int] | None = None
    for cid, body, length in _chunks(fh, size):
        if cid == b"fmt ":
            if length < 16 or body + 16 > size:
                raise BadAudio("bogus WAV header (short fmt chunk)")
            fh.seek(body)
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fh.read(16))
            sub = tag
            if tag == EXTENSIBLE and length >= 26 and body + 26 <= size:
                fh.seek(body + 24)  # the sub-format GUID starts with the real format tag
                (sub,) = struct.unpack("<H", fh.read(2))
            fmt = tag, sub, channels, rate, bits
        elif cid == b"data":
            if fmt is None:
                raise BadAudio("bogus WAV header (data before fmt)")
            if body + length > size:
                raise BadAudio(f"truncated: the header promises {length} bytes of sound, "
                               f"the file holds {max(size - body, 0)}")
            if length == 0:
                raise BadAudio("holds no sound (empty data chunk)")
            tag, sub, channels, rate, bits = fmt
            if channels == 0 or rate == 0 or bits == 0:
                raise BadAudio("bogus WAV header (zero channels, rate or bits)")
            return WavInfo(tag, sub, channels, rate, bits, length)
    raise BadAudio("bogus WAV header (no fmt and data chunks)")


def file_problem(path: Path) -> str | None:
    """One line about ``path`` (without its name), None when Asterisk plays it as is."""
    if not path.name.endswith(".wav"):
        return f"the name must end in lowercase .wav (Asterisk looks for {path.stem}.wav)"
    try:
        wrong = read_header(path).problems()
    except BadAudio as exc:
        return str(exc)
    return f"{' '.join(wrong)}, {NEEDS}" if wrong else None


def wav_names(folder: Path) -> list[Path]:
    """Every entry of ``folder`` named like a WAV (any case: .WAV is reported), sorted."""
    return sorted(p for p in folder.iterdir() if p.name.lower().endswith(".wav"))


def check_dir(folder: Path) -> tuple[int, list[Report]]:
    """How many WAV names ``folder`` holds and a report per file Asterisk cannot play as is."""
    if not is_directory(folder):
        why = "does not exist" if not (folder.exists() or folder.is_symlink()) \
            else "is not a directory"
        return 0, [Report(show_path(folder), "", why)]
    try:
        names = wav_names(folder)
    except OSError as exc:
        return 0, [Report(show_path(folder), "", exc.strerror or "cannot be listed")]
    reports = []
    for path in names:
        problem = file_problem(path)
        if problem:
            reports.append(Report(show_path(path), "", problem))
    return len(names), reports


def sox_argv(src: Path, tmp: Path) -> list[str]:
    # Absolute names: sox reads "|cmd" as a pipe, "-" as stdin, "http://..." as a URL.
    return ["sox", "--no-show-progress", os.path.abspath(src), "-r", str(RATE),
            "-c", str(CHANNELS), "-b", str(BITS), "-e", "signed-integer",
            os.path.abspath(tmp)]


def _readable(src: Path) -> str | None:
    try:
        st = os.stat(src)
    except OSError as exc:
        return exc.strerror or "cannot be read"
    except ValueError:
        return "not a usable file name"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    if not os.access(src, os.R_OK):
        return "cannot be read (permission denied)"
    return None


def convert(src: Path, dest: Path, runner: Runner) -> None:
    """Write ``src`` as an 8 kHz mono 16-bit PCM WAV at ``dest``, atomically (a temp file
    next to it, checked, then renamed); BadAudio naming the file or folder when it cannot."""
    why = _readable(src)
    if why:
        raise BadAudio(f"{show_path(src)}: {why}")
    if not dest.name.endswith(".wav"):
        raise BadAudio(f"{show_path(dest)}: the name must end in lowercase .wav")
    if not is_directory(dest.parent):
        raise BadAudio(f"{show_path(dest.parent)}: the folder of DEST does not exist")
    if not os.access(dest.parent, os.W_OK):
        raise BadAudio(f"{show_path(dest.parent)}: the folder of DEST is not writable")
    if is_directory(dest):
        raise BadAudio(f"{show_path(dest)}: is a directory")
    # sox picks the output type from the name: the temp file ends in .wav too.
    tmp = dest.parent / f".{dest.name}.{os.getpid()}.tmp.wav"
    try:
        try:
            runner.run(sox_argv(src, tmp), timeout=SOX_TIMEOUT)
        except CommandFailed as exc:
            last = exc.stderr.strip().splitlines()[-1:] or ["sox failed"]
            raise BadAudio(f"{show_path(src)}: sox cannot convert it: "
                           f"{last[0].removeprefix('sox FAIL ')}") from exc
        problem = file_problem(tmp)
        if problem:
            raise BadAudio(f"{show_path(src)}: sox wrote a file that is not right: {problem}")
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
