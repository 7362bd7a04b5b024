"""Peak (min/max) decimation for drawing long records on a few thousand pixels.

A pixel column that covers many samples is drawn as a vertical segment from
the lowest to the highest sample in it, so a zoomed-out 24-h trace still shows
every QRS spike and artefact (plain subsampling would drop most of them). This
is the approach of mne-qt-browser and pyqtgraph's ``downsampleMethod='peak'``.

Reducing 31 M samples per lead to one screen's worth on every pan would cost
tens of milliseconds, so :class:`MinMaxPyramid` precomputes min/max levels,
each ``FACTOR`` times coarser than the one below, and a query starts from the
coarsest level that still has at least one bucket per output point.
"""

from __future__ import annotations

import math

import numpy as np

from beatscope.display.baseline import Baseline

#: Each pyramid level summarises this many buckets of the level below.
FACTOR = 16
#: No level is built that would have fewer buckets than this (pointless to keep).
MIN_LEVEL_BUCKETS = 256


def min_max_envelope(y: np.ndarray, bucket: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-bucket minimum and maximum of ``y`` (1-D); the last bucket may be short."""
    y = np.asarray(y)
    if bucket <= 1 or len(y) == 0:
        return y.copy(), y.copy()
    n_full = len(y) // bucket
    head = y[: n_full * bucket].reshape(n_full, bucket)
    lo, hi = head.min(axis=1), head.max(axis=1)
    if n_full * bucket < len(y):
        tail = y[n_full * bucket:]
        lo = np.append(lo, tail.min())
        hi = np.append(hi, tail.max())
    return lo, hi


class MinMaxPyramid:
    """Min/max levels of every lead of a ``(n_samples, n_leads)`` signal.

    Level ``k`` (k >= 1) holds the min and max of consecutive runs of
    ``FACTOR**k`` samples. Level 0 is the signal itself (not copied).

    With a ``baseline``, everything it returns is levelled: raw slices have the
    baseline subtracted sample by sample, and the levels were built from the
    first level's buckets minus the baseline at each bucket's centre (the
    baseline barely moves within 16 samples).
    """

    def __init__(self, signals: np.ndarray, fs: float, baseline: Baseline | None = None):
        self.signals = signals
        self.fs = float(fs)
        self.baseline = baseline
        self.n_samples, self.n_leads = signals.shape
        self._lo: list[list[np.ndarray]] = []  # [level-1][lead]
        self._hi: list[list[np.ndarray]] = []
        lo = hi = None
        size = FACTOR
        while self.n_samples // size >= MIN_LEVEL_BUCKETS:
            if lo is None:  # first level straight from the samples, one lead at a time
                pairs = [min_max_envelope(signals[:, j], FACTOR) for j in range(self.n_leads)]
                if baseline is not None:
                    centres = (np.arange(len(pairs[0][0])) * FACTOR + FACTOR / 2) / self.fs
                    pairs = [(a - b, c - b) for j, (a, c) in enumerate(pairs)
                             for b in [baseline.at(j, centres)]]
            else:  # later levels from the level below: FACTOR times less work each
                pairs = [(min_max_envelope(lo[j], FACTOR)[0], min_max_envelope(hi[j], FACTOR)[1])
                         for j in range(self.n_leads)]
            lo = [p[0] for p in pairs]
            hi = [p[1] for p in pairs]
            self._lo.append(lo)
            self._hi.append(hi)
            size *= FACTOR

    @property
    def n_levels(self) -> int:
        """Precomputed levels, not counting the raw signal."""
        return len(self._lo)

    def window(self, lead: int, start: int, stop: int, max_points: int,
               raw_limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Drawable ``(t_seconds float64, y)`` for samples ``[start, stop)`` of ``lead``.

        The raw samples come back while there are at most ``raw_limit`` of them
        (default ``max_points``); beyond, a min/max envelope of at most
        ``max_points // 2`` buckets (two points each, min then max, so the line
        traces every peak). Times are float64 seconds from the record start.
        """
        start = max(0, int(start))
        stop = min(self.n_samples, int(stop))
        if stop <= start:
            return np.zeros(0), np.zeros(0, np.float32)
        n = stop - start
        if n <= (max_points if raw_limit is None else raw_limit):
            t = np.arange(start, stop, dtype=np.float64) / self.fs
            return t, self._levelled(lead, start, stop, t)
        bucket = math.ceil(n / max(1, max_points // 2))
        # The coarsest precomputed level whose buckets are no wider than requested.
        level = min(self.n_levels, int(math.log(bucket, FACTOR) + 1e-9))
        size = FACTOR ** level
        bucket = -(-bucket // size) * size  # whole source buckets per output bucket
        start = (start // bucket) * bucket  # align, so panning does not shimmer
        if level == 0:
            t = np.arange(start, stop, dtype=np.float64) / self.fs
            lo, hi = min_max_envelope(self._levelled(lead, start, stop, t), bucket)
        else:
            a, b = start // size, -(-stop // size)
            step = bucket // size
            lo = min_max_envelope(self._lo[level - 1][lead][a:b], step)[0]
            hi = min_max_envelope(self._hi[level - 1][lead][a:b], step)[1]
        t_bucket = (start + bucket * np.arange(len(lo), dtype=np.float64)) / self.fs
        t = np.empty(2 * len(lo))
        t[0::2] = t_bucket
        t[1::2] = t_bucket + 0.5 * bucket / self.fs
        y = np.empty(2 * len(lo), dtype=np.result_type(lo.dtype, np.float32))
        y[0::2] = lo
        y[1::2] = hi
        return t, y

    def _levelled(self, lead: int, start: int, stop: int, t: np.ndarray) -> np.ndarray:
        y = np.asarray(self.signals[start:stop, lead], dtype=np.float32)
        if self.baseline is None:
            return y
        return y - self.baseline.at(lead, t)
