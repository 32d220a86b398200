"""Sizing: the hardware to buy for N concurrent calls and M minutes of recordings.

Above 240 calls there is no tier: the result says a study is needed (a result, not an
error). Zero or negative calls, or negative minutes, are errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from appliance.errors import ExpandError
from hardware_profiles.tiers import COMMON, GB, RECORDING, STUDY_NEEDED, tier_for_calls


@dataclass(frozen=True)
class RecordingNeed:
    minutes: int
    gb_needed: float            # by the seed's rule (500 GB ≈ 3,000,000 minutes)
    on_san: bool
    standard_gb: int            # the standard local disk (500 GB)
    covered_by_standard: bool   # the standard local disks hold them (always False on a SAN)
    advice: str


@dataclass(frozen=True)
class Sizing:
    concurrent_calls: int
    tier: str | None            # None: more than 240 calls, a study is needed
    study_needed: bool
    summary: str
    cores: int | None
    sockets: int | None
    cpu_text: str | None
    memory_gib: int | None
    nics: int
    nic_min_mbps: int
    disks: int
    disk_gb: int                # each; 100 GB when recordings live on a SAN
    raid: str
    san: bool
    virtual_machine: str        # what a VM needs instead of disks
    recording_bitrate_kbps: float
    recording_rule: str
    recording: RecordingNeed | None


def size(concurrent_calls: int, recording_minutes: int | None = None,
         san: bool = False) -> Sizing:
    if isinstance(concurrent_calls, bool) or not isinstance(concurrent_calls, int):
        raise ExpandError(f"concurrent calls must be a whole number, not {concurrent_calls!r}")
    if recording_minutes is not None and recording_minutes < 0:
        raise ExpandError(f"recording minutes must be 0 or more, not {recording_minutes}")
    tier = tier_for_calls(concurrent_calls)  # raises ExpandError for 0 or less
    disk_gb = COMMON.disk_min_gb_with_san if san else COMMON.disk_min_gb
    if tier is None:
        summary = f"{concurrent_calls} concurrent calls: {STUDY_NEEDED}"
    else:
        summary = (f"{concurrent_calls} concurrent calls → {tier.name} "
                   f"({tier.calls_text}): {tier.cpu_text}, {tier.memory_gib} GB RAM")
    return Sizing(
        concurrent_calls=concurrent_calls,
        tier=tier.name if tier else None,
        study_needed=tier is None,
        summary=summary,
        cores=tier.cores if tier else None,
        sockets=tier.sockets if tier else None,
        cpu_text=tier.cpu_text if tier else None,
        memory_gib=tier.memory_gib if tier else None,
        nics=COMMON.nics,
        nic_min_mbps=COMMON.nic_min_mbps,
        disks=COMMON.disks,
        disk_gb=disk_gb,
        raid="RAID-1 (two disks of the same size, built before installing)",
        san=san,
        virtual_machine=(f"same cores and memory, {COMMON.vm_nics} NICs, one virtual disk "
                         f"≥{disk_gb} GB"),
        recording_bitrate_kbps=round(RECORDING.bitrate_bps / 1000, 1),
        recording_rule=RECORDING.explanation,
        recording=None if recording_minutes is None else recording_need(recording_minutes, san),
    )


def recording_need(minutes: int, san: bool = False) -> RecordingNeed:
    gb_needed = RECORDING.bytes_for(minutes) / GB
    standard = COMMON.disk_min_gb
    covered = not san and minutes <= RECORDING.minutes
    if san:
        advice = f"recordings live on the SAN: give them ≥{math.ceil(gb_needed)} GB there"
    elif covered:
        advice = (f"the standard {standard} GB disks hold them "
                  f"({minutes / RECORDING.minutes:.0%} of {RECORDING.minutes:,} minutes)")
    else:
        advice = (f"more than the standard {standard} GB holds ({RECORDING.minutes:,} "
                  f"minutes): use two disks of ≥{math.ceil(gb_needed)} GB each in RAID-1, "
                  "or keep recordings on a SAN")
    return RecordingNeed(minutes=minutes, gb_needed=round(gb_needed, 1), on_san=san,
                         standard_gb=standard, covered_by_standard=covered, advice=advice)
