"""Call recording formats and the seed's sizing rule.

The seed: "En 500GB de almacenamiento se graban 3.000.000 de minutos", i.e. about
500e9 * 8 / (3e6 * 60) ≈ 22 kbit/s per recorded call. MixMonitor writes both legs mixed into
one mono 8 kHz file, so one recorded minute costs one stream of the format's rate.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    name: str        # MixMonitor file extension
    kbit_s: float    # bit rate of the stored stream
    stores: str      # what is in the file, for the help and `pbx show`


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("gsm", 13.0, "GSM 06.10 full rate, 13 kbit/s (about 1.6 KB/s): both legs mixed "
                        "into one mono 8 kHz file, raw GSM frames (.gsm)"),
    Format("wav49", 13.0, "GSM 06.10 in a WAV container (.WAV, Microsoft GSM), 13 kbit/s: "
                          "both legs mixed, mono 8 kHz; plays on Windows without a codec"),
    Format("ulaw", 64.0, "G.711 mu-law, 64 kbit/s, mono 8 kHz (does not fit the sizing rule)"),
    Format("alaw", 64.0, "G.711 A-law, 64 kbit/s, mono 8 kHz (does not fit the sizing rule)"),
    Format("wav", 128.0, "16-bit PCM WAV, 128 kbit/s, mono 8 kHz (does not fit the sizing rule)"),
)}

SEED_STORAGE_GB = 500
SEED_MINUTES = 3_000_000


def bytes_needed(fmt: Format, minutes: int) -> float:
    return fmt.kbit_s * 1000 / 8 * 60 * minutes


def fits(fmt: Format, storage_gb: int, minutes: int) -> bool:
    return bytes_needed(fmt, minutes) <= storage_gb * 1e9


def budget_kbit_s(storage_gb: int, minutes: int) -> float:
    return storage_gb * 1e9 * 8 / (minutes * 60) / 1000
