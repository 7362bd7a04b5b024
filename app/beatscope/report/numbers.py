"""The report's numbers from beats: heart rate (8-beat), rate bands, trends, hours.

Every rate here is the mean of 8 consecutive RR intervals (as ``analysis.heart_rate``
takes min and max), so one ectopic beat or one missed beat cannot set an extreme;
RR intervals outside 0.2-3.0 s are gaps (unreadable signal, record joins), not heart
periods, and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from beatscope.analysis.heart_rate import RR_MAX_S, RR_MIN_S

#: Beats per rate: the moving mean of this many RR intervals.
RATE_BEATS = 8
#: Rate bands (bpm): time below the first, between, above the second.
RATE_BANDS = (50.0, 100.0)


@dataclass(frozen=True)
class RateSeries:
    """The 8-beat heart rate at the end of each window: ``t_s`` seconds, ``bpm``."""

    t_s: np.ndarray
    bpm: np.ndarray
    rr_s: np.ndarray  # the RR interval ending at t_s (the time it stands for)


def rate_series(samples: np.ndarray, fs: float, beats: int = RATE_BEATS) -> RateSeries:
    samples = np.asarray(samples, dtype=np.float64)
    if len(samples) < 2:
        return RateSeries(np.zeros(0), np.zeros(0), np.zeros(0))
    rr = np.diff(samples) / fs
    end = samples[1:] / fs
    ok = (rr >= RR_MIN_S) & (rr <= RR_MAX_S)
    rr, end = rr[ok], end[ok]
    w = min(beats, len(rr))
    if w == 0:
        return RateSeries(np.zeros(0), np.zeros(0), np.zeros(0))
    mean_rr = np.convolve(rr, np.ones(w) / w, mode="valid")
    return RateSeries(end[w - 1:], 60.0 / mean_rr, rr[w - 1:])


@dataclass(frozen=True)
class HeartRate:
    min_bpm: float | None
    min_at_s: float | None
    mean_bpm: float | None
    max_bpm: float | None
    max_at_s: float | None
    #: seconds spent below, within and above RATE_BANDS
    band_s: tuple[float, float, float]
    method: str = f"mean of {RATE_BEATS} consecutive RR intervals"


def heart_rate(samples: np.ndarray, fs: float) -> HeartRate:
    series = rate_series(samples, fs)
    if not len(series.bpm):
        return HeartRate(None, None, None, None, None, (0.0, 0.0, 0.0))
    rr = np.diff(np.asarray(samples, dtype=np.float64)) / fs
    valid = rr[(rr >= RR_MIN_S) & (rr <= RR_MAX_S)]
    lo, hi = RATE_BANDS
    bands = (float(series.rr_s[series.bpm < lo].sum()),
             float(series.rr_s[(series.bpm >= lo) & (series.bpm <= hi)].sum()),
             float(series.rr_s[series.bpm > hi].sum()))
    i_min, i_max = int(np.argmin(series.bpm)), int(np.argmax(series.bpm))
    return HeartRate(round(float(series.bpm[i_min]), 1), float(series.t_s[i_min]),
                     round(60.0 / float(valid.mean()), 1),
                     round(float(series.bpm[i_max]), 1), float(series.t_s[i_max]), bands)


@dataclass(frozen=True)
class Trend:
    """Per bin of ``bin_s``: start, min/mean/max 8-beat rate (NaN: no beats), V and S
    beats."""

    bin_s: float
    start_s: np.ndarray
    min_bpm: np.ndarray
    mean_bpm: np.ndarray
    max_bpm: np.ndarray
    v_count: np.ndarray
    s_count: np.ndarray


def trend(samples: np.ndarray, labels: np.ndarray, fs: float, duration_s: float,
          bin_s: float) -> Trend:
    n_bins = max(1, int(np.ceil(duration_s / bin_s)))
    series = rate_series(samples, fs)
    which = np.minimum((series.t_s // bin_s).astype(np.int64), n_bins - 1)
    lo = np.full(n_bins, np.nan)
    hi = np.full(n_bins, np.nan)
    mean = np.full(n_bins, np.nan)
    if len(which):
        np.fmin.at(lo, which, series.bpm)
        np.fmax.at(hi, which, series.bpm)
        total = np.bincount(which, weights=series.bpm, minlength=n_bins)
        count = np.bincount(which, minlength=n_bins)
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    beat_bin = np.minimum((np.asarray(samples) / fs // bin_s).astype(np.int64), n_bins - 1)
    labels = np.asarray(labels)
    v = np.bincount(beat_bin[labels == "V"], minlength=n_bins)
    s = np.bincount(beat_bin[labels == "S"], minlength=n_bins)
    return Trend(bin_s, np.arange(n_bins) * bin_s, lo, mean, hi, v, s)


@dataclass(frozen=True)
class HourRow:
    hour: int  # 0-based hour of the recording
    start_s: float
    analysable_min: float
    beats: int
    min_bpm: float | None
    mean_bpm: float | None
    max_bpm: float | None
    v: int
    s: int
    pauses: int
    af_min: float


def _overlap(a0: float, a1: float, spans) -> float:
    return float(sum(max(0.0, min(a1, b) - max(a0, a)) for a, b in spans))


def hourly(samples: np.ndarray, labels: np.ndarray, fs: float, duration_s: float,
           unreadable: list[tuple[float, float]], pauses_s: np.ndarray,
           af_spans: list[tuple[float, float]]) -> list[HourRow]:
    """One row per hour of the recording (the last one may be shorter)."""
    per_hour = trend(samples, labels, fs, duration_s, 3600.0)
    t = np.asarray(samples) / fs
    rows = []
    for h, start in enumerate(per_hour.start_s.tolist()):
        end = min(start + 3600.0, duration_s)
        n = int(((t >= start) & (t < end)).sum())
        readable = (end - start) - _overlap(start, end, unreadable)

        def rounded(x: float) -> float | None:
            return None if np.isnan(x) else round(float(x))
        rows.append(HourRow(h, start, round(readable / 60.0, 1), n,
                            rounded(per_hour.min_bpm[h]), rounded(per_hour.mean_bpm[h]),
                            rounded(per_hour.max_bpm[h]), int(per_hour.v_count[h]),
                            int(per_hour.s_count[h]),
                            int(((pauses_s >= start) & (pauses_s < end)).sum()),
                            round(_overlap(start, end, af_spans) / 60.0, 1)))
    return rows
