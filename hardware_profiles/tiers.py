"""The seed's hardware tiers and common requirements, as data.

Source: the product document, "1. Hardware requerido" (seed). The tiers apply to
physical and virtual (VMware) servers alike. Memory figures are RAM as sold (GiB);
disk figures are disk sizes as sold (decimal GB).
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.errors import ExpandError

GIB = 1024**3
GB = 1000**3


@dataclass(frozen=True)
class Tier:
    """One installation size. ``min_calls``..``max_calls`` are concurrent calls, inclusive."""

    name: str
    min_calls: int
    max_calls: int
    cores: int
    sockets: int
    memory_gib: int

    @property
    def cpu_text(self) -> str:
        if self.sockets > 1:
            per = self.cores // self.sockets
            return f"{self.sockets} processors × {per} cores ({self.cores} cores), 64-bit"
        return f"{self.cores} cores, 64-bit"

    @property
    def calls_text(self) -> str:
        return f"{self.min_calls}–{self.max_calls} concurrent calls"


# "Medium (≤60)", "Large (de 60 a 120)", "XLarge (de 120 a 240)": the ranges share their
# ends in the seed; a boundary belongs to the smaller tier (60 → Medium, 61 → Large).
MEDIUM = Tier("Medium", 1, 60, cores=4, sockets=1, memory_gib=32)
LARGE = Tier("Large", 61, 120, cores=8, sockets=1, memory_gib=64)
XLARGE = Tier("XLarge", 121, 240, cores=16, sockets=2, memory_gib=64)
TIERS: tuple[Tier, ...] = (MEDIUM, LARGE, XLARGE)

MAX_CALLS = XLARGE.max_calls
STUDY_NEEDED = (f"more than {MAX_CALLS} concurrent calls: a study is needed to choose the "
                "architecture (the seed: 'debe realizarse un estudio particular'); "
                "no standard tier applies")


@dataclass(frozen=True)
class CommonNeeds:
    """What every tier needs besides cores and memory."""

    nics: int = 2
    nic_min_mbps: int = 100
    disks: int = 2                     # equal size, RAID-1, on physical servers
    disk_min_gb: int = 500
    disk_min_gb_with_san: int = 100    # when recordings live on a SAN
    vm_nics: int = 2                   # the seed asks a virtual instance for two NICs too
    vm_storage_min_gb: int = 500       # one virtual disk is fine; the datastore protects it


COMMON = CommonNeeds()


@dataclass(frozen=True)
class RecordingRule:
    """The seed's note: 'En 500GB de almacenamiento se graban 3.000.000 de minutos'."""

    storage_gb: int = 500
    minutes: int = 3_000_000

    @property
    def bytes_per_minute(self) -> float:
        return self.storage_gb * GB / self.minutes

    @property
    def bitrate_bps(self) -> float:
        """Average bit rate the rule implies: 500e9 × 8 / (3e6 × 60) ≈ 22,222 bit/s."""
        return self.bytes_per_minute * 8 / 60

    def bytes_for(self, minutes: int) -> float:
        return minutes * self.bytes_per_minute

    def minutes_in(self, storage_bytes: float) -> int:
        return int(storage_bytes / self.bytes_per_minute)

    @property
    def explanation(self) -> str:
        g711_minutes = int(self.storage_gb * GB * 8 / (64_000 * 60))
        return (f"the seed's rule ({self.storage_gb} GB ≈ {self.minutes:,} minutes) implies "
                f"an average of ≈{self.bitrate_bps / 1000:.1f} kbit/s: a compressed "
                "codec such as GSM/WAV49 (13 kbit/s) plus container and filesystem overhead, "
                f"not G.711 (64 kbit/s), with which {self.storage_gb} GB would hold only "
                f"≈{g711_minutes:,} minutes")


RECORDING = RecordingRule()


def tier_for_calls(concurrent_calls: int) -> Tier | None:
    """The smallest tier that carries ``concurrent_calls``; None above 240 (study needed)."""
    if concurrent_calls <= 0:
        raise ExpandError(f"concurrent calls must be a positive whole number, "
                         f"not {concurrent_calls}")
    for tier in TIERS:
        if concurrent_calls <= tier.max_calls:
            return tier
    return None


def tier_named(name: str) -> Tier:
    for tier in TIERS:
        if tier.name.lower() == name.lower():
            return tier
    raise KeyError(name)
