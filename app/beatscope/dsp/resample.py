"""Sampling-rate conversion (polyphase) and sample-index mapping between grids."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from scipy import signal

from beatscope.dsp.chunked import DEFAULT_CHUNK, as_2d, chunk_plan, read_chunk, restore_shape

#: The rate the detector, segmenter and classifier work at (MIT-BIH's).
TARGET_FS = 360.0

#: Half-length (in input samples) of scipy's default anti-aliasing filter is
#: 10 * max(up, down) / up; the chunk overlap adds this margin on top.
_KAISER_HALF_ZEROS = 10


def resample_ratio(fs_in: float, fs_out: float, max_denominator: int = 1000) -> tuple[int, int]:
    """``(up, down)``: a rational approximation of ``fs_out / fs_in``."""
    if fs_in <= 0 or fs_out <= 0:
        raise ValueError(f"sampling rates must be positive (got {fs_in}, {fs_out})")
    frac = Fraction(fs_out / fs_in).limit_denominator(max_denominator)
    if frac.numerator == 0:
        raise ValueError(f"cannot resample from {fs_in} Hz to {fs_out} Hz")
    return frac.numerator, frac.denominator


def resample(x: np.ndarray, fs_in: float, fs_out: float = TARGET_FS, *,
             chunk_size: int = DEFAULT_CHUNK) -> tuple[np.ndarray, float]:
    """Resample ``x`` (``(n,)`` or ``(n, n_leads)``, axis 0 is time) from ``fs_in`` to
    about ``fs_out`` Hz with ``scipy.signal.resample_poly``.

    Returns ``(y, exact_fs_out)`` where ``exact_fs_out = fs_in * up / down`` is the
    rate actually produced (the ratio is approximated with a denominator <= 1000).
    Equal rates return a float32 copy. Output sample ``j`` sits at input position
    ``j * down / up``, so ``y`` has ``ceil(n * up / down)`` samples. Long records are
    processed in chunks (starting on multiples of ``down``) with enough overlap for
    the anti-aliasing filter, so the result equals the one-piece conversion.
    """
    x2d, was_1d = as_2d(x)
    if float(fs_in) == float(fs_out):
        return np.array(x, dtype=np.float32), float(fs_out)
    up, down = resample_ratio(fs_in, fs_out)
    exact = float(fs_in) * up / down
    if up == down:
        return np.array(x, dtype=np.float32), exact
    n, n_leads = x2d.shape
    n_out = -(-n * up // down)
    out = np.empty((n_out, n_leads), dtype=np.float32)
    if n == 0:
        return restore_shape(out, was_1d), exact
    overlap = (_KAISER_HALF_ZEROS * max(up, down)) // up + 16
    # Like resample_poly(padtype="line") on the whole record: the straight line
    # through the first and last samples is removed before filtering (so the record's
    # ends do not ring against zero padding) and added back on the output grid.
    # Doing it with the record's line, not each chunk's, keeps chunks exact.
    first = np.nan_to_num(np.asarray(x2d[0], dtype=np.float64))[:, None]
    last = np.nan_to_num(np.asarray(x2d[-1], dtype=np.float64))[:, None]
    slope = (last - first) / max(n - 1, 1)
    # chunk_size is in input samples; cores start on multiples of `down`, i.e. on
    # input samples that coincide with output samples.
    for chunk in chunk_plan(n, chunk_size, overlap, down):
        block = read_chunk(x2d, chunk)
        block -= first + slope * np.arange(chunk.ext_start, chunk.ext_stop)
        y = signal.resample_poly(block, up, down, axis=-1, padtype="constant")
        o0 = chunk.start * up // down
        o1 = n_out if chunk.stop == n else chunk.stop * up // down
        local0 = o0 - chunk.ext_start * up // down
        pos = np.arange(o0, o1) * (down / up)
        out[o0:o1] = (y[:, local0:local0 + (o1 - o0)] + first + slope * pos).T
    return restore_shape(out, was_1d), exact


def map_samples(idx: np.ndarray | int, fs_from: float, fs_to: float,
                n_to: int | None = None) -> np.ndarray:
    """Convert sample indices on a ``fs_from`` grid to the nearest ones on ``fs_to``.

    ``idx * fs_to / fs_from`` rounded to the nearest integer, clipped to
    ``[0, n_to - 1]`` when the target length is known (else to ``>= 0``).
    Returns int64 (a 0-d array for a scalar input).
    """
    idx = np.asarray(idx)
    pos = np.rint(idx.astype(np.float64) * (float(fs_to) / float(fs_from)))
    hi = None if n_to is None else max(int(n_to) - 1, 0)
    return np.clip(pos, 0, hi).astype(np.int64)


def resampled_length(n: int, fs_in: float, fs_out: float = TARGET_FS) -> int:
    """Number of samples :func:`resample` produces for ``n`` input samples."""
    if float(fs_in) == float(fs_out):
        return int(n)
    up, down = resample_ratio(fs_in, fs_out)
    return int(math.ceil(n * up / down))
