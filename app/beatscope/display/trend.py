"""Heart-rate trend for the overview strip and the rate under the cursor."""

from __future__ import annotations

import numpy as np

# RR intervals outside this range are gaps or double detections, not heart
# periods: the same bounds as the analysis's heart-rate statistics.
from beatscope.analysis.heart_rate import RR_MAX_S, RR_MIN_S

#: Beats averaged for the rate at the cursor, as Holter reports do (8-beat HR).
CURSOR_BEATS = 8


def heart_rate_trend(sample: np.ndarray, fs: float, duration_s: float,
                     n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Median heart rate (bpm) in ``n_bins`` equal bins over the record.

    Bins without a valid RR interval are NaN, so the drawn trend has gaps where
    the ECG is unreadable instead of a line across them.
    """
    edges = np.linspace(0.0, duration_s, n_bins + 1)
    centres = 0.5 * (edges[:-1] + edges[1:])
    hr = np.full(n_bins, np.nan)
    if len(sample) < 2:
        return centres, hr
    rr = np.diff(sample) / fs
    t = sample[1:] / fs
    ok = (rr >= RR_MIN_S) & (rr <= RR_MAX_S)
    rr, t = rr[ok], t[ok]
    if len(rr) == 0:
        return centres, hr
    which = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, n_bins - 1)
    rate = 60.0 / rr
    # Median per bin without a Python loop: sort by (bin, rate), then take the
    # middle element(s) of each bin's run (100k beats in a few milliseconds).
    order = np.lexsort((rate, which))
    which, rate = which[order], rate[order]
    counts = np.bincount(which, minlength=n_bins)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    lo = first[has] + (counts[has] - 1) // 2
    hi = first[has] + counts[has] // 2
    hr[has] = 0.5 * (rate[lo] + rate[hi])
    return centres, hr


def heart_rate_at(sample: np.ndarray, fs: float, t: float,
                  beats: int = CURSOR_BEATS) -> float | None:
    """Mean rate (bpm) over the ``beats`` RR intervals around time ``t``; None if unknown."""
    if len(sample) < 2:
        return None
    i = int(np.searchsorted(sample, t * fs))
    lo = max(0, i - beats // 2)
    hi = min(len(sample), lo + beats + 1)
    lo = max(0, hi - beats - 1)
    rr = np.diff(sample[lo:hi]) / fs
    rr = rr[(rr >= RR_MIN_S) & (rr <= RR_MAX_S)]
    if len(rr) == 0:
        return None
    return 60.0 / float(rr.mean())
