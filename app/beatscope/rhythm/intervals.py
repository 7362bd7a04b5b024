"""Sets of time intervals ``[start, end)`` in seconds, as sorted disjoint start/end arrays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Intervals = Sequence[tuple[float, float]]
#: Sorted, disjoint intervals: (starts, ends).
IntervalArrays = tuple[np.ndarray, np.ndarray]


def merged_intervals(intervals: Intervals, lower: float = -np.inf,
                     upper: float = np.inf) -> IntervalArrays:
    """``intervals`` clipped to ``[lower, upper]``, overlapping ones merged, sorted."""
    pairs = sorted((max(float(a), lower), min(float(b), upper)) for a, b in intervals)
    pairs = [(a, b) for a, b in pairs if b > a]
    if not pairs:
        return np.zeros(0), np.zeros(0)
    array = np.asarray(pairs)
    starts, ends = array[:, 0], np.maximum.accumulate(array[:, 1])
    group_first = np.flatnonzero(np.concatenate([[True], starts[1:] > ends[:-1]]))
    return starts[group_first], np.maximum.reduceat(ends, group_first)


def overlap_count(intervals: IntervalArrays, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each ``[a, b]``, how many intervals it touches; with ``a == b``, whether the
    point lies inside one. Those that start by ``b`` minus those that ended by ``a``
    (sorted and disjoint, so the second set lies inside the first)."""
    starts, ends = intervals
    return (np.searchsorted(starts, b, side="right")
            - np.searchsorted(ends, a, side="right"))


def covered_until(intervals: IntervalArrays, t: np.ndarray) -> np.ndarray:
    """Seconds covered by the intervals between -inf and each time in ``t``."""
    starts, ends = intervals
    t = np.asarray(t, dtype=np.float64)
    if not len(starts):
        return np.zeros(len(t))
    before = np.concatenate([[0.0], np.cumsum(ends - starts)])
    k = np.searchsorted(starts, t, side="right")  # intervals begun by t
    last = np.maximum(k - 1, 0)
    partial = np.where(k > 0, np.clip(t - starts[last], 0.0, ends[last] - starts[last]), 0.0)
    return before[last] + partial
