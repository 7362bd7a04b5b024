"""From a record's samples to the rhythm model's input windows.

One lead at 100 Hz: 100 Hz keeps everything up to 40-50 Hz, which holds the P wave
(energy below ~15 Hz) and the QRS (below ~40 Hz), and RR intervals are timed to
10 ms, well inside the beat-to-beat variation AF is recognised by; it is 3-10x
fewer samples than the recordings' own rates (300 Hz CinC, 360 Hz MIT-BIH,
500 Hz resting ECGs), which is what makes a 24-h record fit the time budget.
Baseline is removed by a 0.5 Hz high-pass, then each 10-s window is z-scored on
its own (gain differs between devices and leads).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy import signal as sps

from .network import MODEL_FS, WINDOW_SAMPLES

HIGHPASS_HZ = 0.5


def to_model_rate(x: np.ndarray, fs: float, chunk_s: float = 600.0,
                  margin_s: float = 30.0) -> np.ndarray:
    """One lead (1-D, mV) at ``fs`` -> float32 at 100 Hz, baseline removed.

    Polyphase resampling (with its anti-alias filter), then a 2nd-order
    Butterworth high-pass at 0.5 Hz, forward and backward (no phase shift).
    Long leads go through in ``chunk_s`` pieces with ``margin_s`` of signal on
    each side that is filtered and dropped, so a 24-h lead never has more than a
    few float64 copies of ten minutes in memory; the result matches the one-piece
    computation to float32 rounding away from the record's own ends.
    """
    ratio = Fraction(MODEL_FS / float(fs)).limit_denominator(1000)
    up, down = ratio.numerator, ratio.denominator
    step = max(down, int(chunk_s * fs) // down * down)  # chunk starts on a multiple of down
    margin = max(down, int(margin_s * fs) // down * down)
    n = len(x)
    if n <= step + 2 * margin:
        return _model_rate_piece(x, up, down)
    pieces = []
    for start in range(0, n, step):
        lo, hi = max(0, start - margin), min(n, start + step + margin)
        y = _model_rate_piece(x[lo:hi], up, down)
        first = (start - lo) * up // down
        count = (min(n, start + step) - start) * up // down
        if start + step >= n:  # the last piece runs to the end
            count = len(y) - first
        pieces.append(y[first:first + count])
    return np.concatenate(pieces)


def _model_rate_piece(x: np.ndarray, up: int, down: int) -> np.ndarray:
    x = np.nan_to_num(np.asarray(x, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    if (up, down) != (1, 1):
        x = sps.resample_poly(x, up, down).astype(np.float32)
    if len(x) > 12:
        sos = sps.butter(2, HIGHPASS_HZ, btype="highpass", fs=MODEL_FS, output="sos")
        x = sps.sosfiltfilt(sos, x).astype(np.float32)
    return x


def zscore(windows: np.ndarray) -> np.ndarray:
    """Each row to zero mean, unit std (a flat row stays zero)."""
    w = windows - windows.mean(axis=-1, keepdims=True)
    sd = w.std(axis=-1, keepdims=True)
    return (w / np.where(sd > 1e-6, sd, 1.0)).astype(np.float32)


def window_starts(n: int, stride: int, length: int = WINDOW_SAMPLES) -> np.ndarray:
    """Start indices of windows of ``length`` every ``stride`` samples over ``n``
    samples, the last one aligned with the end; one window at 0 when ``n <= length``."""
    if n <= length:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, n - length + 1, stride, dtype=np.int64)
    if starts[-1] != n - length:
        starts = np.append(starts, n - length)
    return starts


def cut_windows(x: np.ndarray, starts: np.ndarray, length: int = WINDOW_SAMPLES) -> np.ndarray:
    """``(len(starts), length)`` z-scored windows; a record shorter than ``length``
    is zero-padded at the end after z-scoring its own samples."""
    if len(x) < length:
        out = np.zeros((1, length), np.float32)
        out[0, :len(x)] = zscore(x[None, :])[0] if len(x) else 0.0
        return out
    idx = starts[:, None] + np.arange(length)[None, :]
    return zscore(x[idx])
