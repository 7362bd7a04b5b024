"""Tunable constants of the R-peak detector, all in seconds, Hz or ratios.

Nothing here depends on the sampling rate, so one configuration serves records
from 100 to 1000 Hz.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DetectorConfig:
    """Defaults tuned on MITDB and NSTDB; see bench/detection.py."""

    band_hz: tuple[float, float] = (5.0, 22.0)
    integration_s: float = 0.10
    feature_power: float = 1.0
    refractory_s: float = 0.14
    t_wave_window_s: float = 0.36
    threshold: float = 0.20  # absolute floor of the adaptive threshold
    threshold_fraction: float = 0.22
    t_wave_ratio: float = 0.5
    searchback_ratio: float = 0.5
    floor: float = 0.05
    searchback_rr_factor: float = 1.66
    block_s: float = 2.0
    peakiness_floor: float = 1.5
    peakiness_full: float = 5.0
    jump_ratio: float = 3.0
    lead_contrast: float = 0.0
    lead_power: float = 0.25
    interposed_rr_ratio: float = 1.35
    interposed_amp_ratio: float = 0.65
    interposed_max_irregularity: float = 0.16
    close_pair_ratio: float = 0.39
    close_pair_max_gap: float = 1.5
    scale_window_s: float = 30.0
    chunk_s: float = 600.0  # long records are filtered in chunks to bound memory
