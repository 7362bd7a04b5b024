"""Shared by the window rules: logistic scores and windows-to-interval mapping."""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    """Logistic curve (see :mod:`.config` for how thresholds become scores)."""
    with np.errstate(over="ignore"):  # exp overflow for very negative x: the score is 0
        return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def window_starts(n_intervals: int, width: int, stride: int) -> np.ndarray:
    """First interval of each sliding window; the last window ends on the last interval."""
    starts = np.arange(0, n_intervals - width + 1, stride)
    if starts[-1] != n_intervals - width:
        starts = np.append(starts, n_intervals - width)
    return starts


def nearest_window(n_intervals: int, starts: np.ndarray, width: int) -> np.ndarray:
    """For each RR interval, the index of the window whose centre is nearest to it."""
    centres = starts + (width - 1) / 2.0
    position = np.arange(n_intervals, dtype=np.float64)
    right = np.clip(np.searchsorted(centres, position), 0, len(centres) - 1)
    left = np.maximum(right - 1, 0)
    nearer_left = np.abs(position - centres[left]) <= np.abs(centres[right] - position)
    return np.where(nearer_left, left, right)
