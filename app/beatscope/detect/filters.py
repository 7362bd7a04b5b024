"""Small array helpers shared by the detector's stages."""

from __future__ import annotations

import numpy as np
from scipy import signal
from scipy.ndimage import median_filter


def running_median(a: np.ndarray, k: int) -> np.ndarray:
    """Median over ``k`` rows, column by column (1-D median_filter is far faster than 2-D)."""
    out = np.empty_like(a)
    for j in range(a.shape[1]):
        out[:, j] = median_filter(a[:, j], size=k, mode="nearest")
    return out


def moving_mean(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving mean along axis 0, O(n) through a cumulative sum."""
    c = np.cumsum(x, axis=0, dtype=np.float64)
    c = np.concatenate([np.zeros((1,) + x.shape[1:]), c], axis=0)
    n = x.shape[0]
    half = width // 2
    t = np.arange(n)
    hi = np.minimum(t + width - half, n)
    lo = np.maximum(t - half, 0)
    return ((c[hi] - c[lo]) / width).astype(np.float32)


def bandpass_sos(fs: float, low: float, high: float) -> np.ndarray:
    """2nd-order Butterworth band-pass, with the upper edge kept below Nyquist."""
    high = min(high, 0.45 * fs)
    return signal.butter(2, [low, high], btype="bandpass", fs=fs, output="sos")
