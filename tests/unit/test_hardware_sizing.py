"""Sizing: tier boundaries, the recording rule and its bit rate, bad input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.errors import ExpandError
from hardware_profiles.sizing import recording_need, size
from hardware_profiles.tiers import LARGE, MEDIUM, RECORDING, TIERS, XLARGE, tier_for_calls


@pytest.mark.parametrize(("calls", "tier"), [
    (1, "Medium"), (60, "Medium"), (61, "Large"), (90, "Large"), (120, "Large"),
    (121, "XLarge"), (240, "XLarge"), (241, None), (10_000, None)])
def test_tier_boundaries(calls: int, tier: str | None) -> None:
    result = size(calls)
    assert result.tier == tier
    assert result.study_needed is (tier is None)


def test_tiers_are_the_seeds() -> None:
    assert (MEDIUM.cores, MEDIUM.memory_gib) == (4, 32)
    assert (LARGE.cores, LARGE.memory_gib) == (8, 64)
    assert (XLARGE.cores, XLARGE.sockets, XLARGE.memory_gib) == (16, 2, 64)
    assert XLARGE.cpu_text.startswith("2 processors × 8 cores")


def test_90_calls_is_large_with_its_hardware() -> None:
    result = size(90)
    assert (result.tier, result.cores, result.memory_gib) == ("Large", 8, 64)
    assert (result.nics, result.nic_min_mbps, result.disks, result.disk_gb) == (2, 100, 2, 500)
    assert "RAID-1" in result.raid
    assert result.summary.startswith("90 concurrent calls → Large")


def test_above_240_is_a_study_not_an_exception() -> None:
    result = size(241, recording_minutes=1000)
    assert result.tier is None and result.cores is None and result.memory_gib is None
    assert "a study is needed" in result.summary
    assert result.recording is not None  # storage is still worked out


def test_san_needs_100_gb_local_disks() -> None:
    assert size(30, san=True).disk_gb == 100
    assert "≥100 GB" in size(30, san=True).virtual_machine


@pytest.mark.parametrize("calls", [0, -1, -240])
def test_calls_must_be_positive(calls: int) -> None:
    with pytest.raises(ExpandError, match="positive whole number"):
        size(calls)


def test_calls_must_be_a_whole_number() -> None:
    with pytest.raises(ExpandError, match="whole number"):
        size(True)
    with pytest.raises(ExpandError, match="whole number"):
        size(60.5)  # type: ignore[arg-type]


def test_recording_minutes_must_not_be_negative() -> None:
    with pytest.raises(ExpandError, match="recording minutes"):
        size(10, recording_minutes=-1)


def test_rule_implies_about_22_kbit_per_second_not_g711() -> None:
    assert RECORDING.bitrate_bps == pytest.approx(500e9 * 8 / (3e6 * 60))
    assert RECORDING.bitrate_bps == pytest.approx(22_222.2, abs=0.1)
    assert size(90).recording_bitrate_kbps == 22.2
    text = RECORDING.explanation
    assert "22.2 kbit/s" in text and "GSM" in text and "not G.711 (64 kbit/s)" in text
    assert "1,041,666 minutes" in text  # 500 GB of 64 kbit/s


@pytest.mark.parametrize(("minutes", "gb", "covered"), [
    (0, 0.0, True), (1_500_000, 250.0, True), (3_000_000, 500.0, True),
    (3_000_001, 500.0, False), (6_000_000, 1000.0, False)])
def test_recording_storage(minutes: int, gb: float, covered: bool) -> None:
    need = recording_need(minutes)
    assert need.gb_needed == pytest.approx(gb, abs=0.1)
    assert need.covered_by_standard is covered
    if not covered:
        assert f"≥{int(-(-minutes * 500 // 3_000_000))} GB each" in need.advice


def test_recordings_on_a_san_are_sized_there() -> None:
    need = recording_need(4_500_000, san=True)
    assert need.on_san and not need.covered_by_standard
    assert need.advice == "recordings live on the SAN: give them ≥750 GB there"


@given(st.integers(1, 240), st.integers(1, 240))
def test_tier_is_monotone_in_calls(a: int, b: int) -> None:
    low, high = sorted((a, b))
    tier_low, tier_high = tier_for_calls(low), tier_for_calls(high)
    assert tier_low is not None and tier_high is not None
    assert TIERS.index(tier_low) <= TIERS.index(tier_high)
    assert tier_low.min_calls <= low <= tier_low.max_calls
    assert tier_low.cores <= tier_high.cores and tier_low.memory_gib <= tier_high.memory_gib


@given(st.integers(0, 10**9), st.integers(0, 10**9))
def test_recording_storage_grows_with_minutes(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert recording_need(low).gb_needed <= recording_need(high).gb_needed
    assert recording_need(low).covered_by_standard >= recording_need(high).covered_by_standard
