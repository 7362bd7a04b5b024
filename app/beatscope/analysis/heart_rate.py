"""Heart-rate statistics from R-peak positions."""

from __future__ import annotations

import numpy as np

# RR intervals outside this range are gaps (unreadable stretches, record joins)
# or double detections, not heart periods.
RR_MIN_S = 0.2
RR_MAX_S = 3.0


def heart_rate_stats(r_peaks: np.ndarray, fs: float, window_beats: int = 8) -> dict:
    """Mean, median, min and max heart rate in bpm, plus pause counts.

    Min and max are taken over a moving mean of ``window_beats`` RR intervals
    (as Holter reports do), so one ectopic beat does not set the extremes.
    """
    rr = np.diff(np.asarray(r_peaks, dtype=np.float64)) / fs
    valid = rr[(rr >= RR_MIN_S) & (rr <= RR_MAX_S)]
    out: dict = {"n_rr": int(len(valid)), "mean_bpm": None, "median_bpm": None,
                 "min_bpm": None, "max_bpm": None, "pauses_over_2s": int((rr > 2.0).sum()),
                 "longest_rr_s": round(float(rr.max()), 3) if len(rr) else None}
    if len(valid) == 0:
        return out
    out["mean_bpm"] = round(60.0 / float(valid.mean()), 1)
    out["median_bpm"] = round(60.0 / float(np.median(valid)), 1)
    w = min(window_beats, len(valid))
    moving = np.convolve(valid, np.ones(w) / w, mode="valid")
    out["min_bpm"] = round(60.0 / float(moving.max()), 1)
    out["max_bpm"] = round(60.0 / float(moving.min()), 1)
    return out
