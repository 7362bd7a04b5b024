"""Tunable constants of the R-peak detector, all in seconds, Hz or ratios.

Nothing here depends on the sampling rate, so one configuration serves records
from 100 to 1000 Hz.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DetectorConfig:
    """Defaults tuned on MITDB and NSTDB; see bench/detection.py."""

    # QRS feature (feature.py)
    band_hz: tuple[float, float] = (5.0, 22.0)  # QRS energy band; upper edge kept < Nyquist
    integration_s: float = 0.10  # RMS window, about one QRS width
    feature_power: float = 1.0  # 1 = RMS slope (linear in amplitude); < 1 compresses
    block_s: float = 2.0  # blocks for per-lead level and quality weights
    scale_window_s: float = 30.0  # running median of block maxima = the lead's QRS level
    peakiness_floor: float = 1.5  # block max/median at or below which a lead gets ~0 weight
    peakiness_full: float = 5.0  # ... and above which it gets full weight
    jump_ratio: float = 3.0  # baseline excursion beyond this many QRS sizes: weight falls
    lead_power: float = 0.25  # power mean across leads (1 = arithmetic, -> 0 = geometric)
    # Adaptive thresholds (decision.py)
    refractory_s: float = 0.14  # candidates are maxima within +-this
    floor: float = 0.05  # candidates below this are not even noise peaks
    threshold: float = 0.20  # absolute floor of the adaptive threshold
    threshold_fraction: float = 0.22  # noise + fraction * (QRS - noise), Hamilton-Tompkins
    t_wave_window_s: float = 0.36  # a peak this soon after a beat ...
    t_wave_ratio: float = 0.5  # ... and smaller than this share of it is a T wave
    searchback_rr_factor: float = 1.66  # gaps longer than this x the local RR are searched
    searchback_ratio: float = 0.5  # ... for peaks above this share of the threshold
    # Whole-record passes (decision.py)
    interposed_rr_ratio: float = 1.35  # RR before + after a small beat < this x expected RR
    interposed_amp_ratio: float = 0.65  # "small": below this share of its neighbours
    interposed_max_irregularity: float = 0.16  # only where the rhythm is this regular
    close_pair_ratio: float = 0.39  # two beats closer than this x local RR: keep one
    close_pair_max_gap: float = 1.5  # unless dropping one leaves a gap > this x local RR
    chunk_s: float = 600.0  # long records are filtered in chunks to bound memory
