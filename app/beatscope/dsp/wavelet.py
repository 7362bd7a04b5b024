"""Wavelet shrinkage denoising (universal threshold), chunked for long records.

Per lead: ``pywt.wavedec`` to ``level`` levels, soft (or hard) thresholding of the
detail coefficients with Donoho's universal threshold
``sigma * sqrt(2 ln n)``, where ``sigma = MAD(finest details) / 0.6745``, then
``pywt.waverec``. The approximation is left untouched.

``sigma`` is estimated once per lead over the *whole* signal and ``n`` is the whole
signal's length, so the threshold does not depend on how the signal is chunked:
chunks start on multiples of ``2**level`` (the DWT is shift-variant) and overlap by
twice the support of the coarsest-level filters, which makes the stitched result
match the one-piece transform to float rounding away from the record's edges.

**Local threshold** (:func:`local_noise_sigma`, ``wavelet_denoise(local=...)``): over a
24-h record that whole-record threshold depends on beats hours away, twice over: the
noise level is the whole day's (a walk in the afternoon raises the morning's
threshold), and ``sqrt(2 ln n)`` grows with the record, 13 % higher on 24 h than on
the 30 min the classifier was trained on. Locally, ``sigma`` is the median of the
:data:`SIGMA_BLOCK_S`-second blocks' own noise levels within
:data:`SIGMA_NEIGHBOURS` blocks on each side, and ``n`` is :data:`REFERENCE_S`
seconds of samples whatever the record's length. Blocks sit on the record's sample
grid, so the result still does not depend on the chunking.
"""

from __future__ import annotations

import math

import numpy as np
import pywt

from beatscope.dsp.chunked import (
    DEFAULT_CHUNK,
    CancelFn,
    Kernel,
    ProgressFn,
    apply_chunked,
    as_2d,
    iter_chunks,
    read_chunk,
    round_up,
)

#: Default number of decomposition levels without a sampling rate (right for 360 Hz).
DEFAULT_LEVEL = 4
#: With a sampling rate, the default level is the deepest whose detail band still
#: starts above this frequency: the QRS (5-15 Hz), P and T waves then sit in the
#: untouched approximation and soft thresholding does not flatten them (at 360 Hz,
#: level 4: details 11-180 Hz; deeper levels cost 10-25 % of R amplitude on
#: synthetic beats for no noise gain).
MIN_DETAIL_HZ = 10.0

#: Above this many finest-detail coefficients per lead, sigma is estimated on an
#: evenly strided subset (the median of millions of values does not move).
_MAX_SIGMA_COEFFS = 1 << 22

#: Local threshold: the length of the blocks whose noise level is measured...
SIGMA_BLOCK_S = 10.0
#: ... how many of them on each side of a block set its threshold (a 130-s window)...
SIGMA_NEIGHBOURS = 6
#: ... and the record length in Donoho's ``sqrt(2 ln n)``: an MIT-BIH record's 30 min.
REFERENCE_S = 1805.0


def _wavelet(wavelet: str | pywt.Wavelet) -> pywt.Wavelet:
    return wavelet if isinstance(wavelet, pywt.Wavelet) else pywt.Wavelet(wavelet)


def default_level(fs: float | None = None) -> int:
    """Default decomposition level for sampling rate ``fs`` (see :data:`MIN_DETAIL_HZ`)."""
    if fs is None:
        return DEFAULT_LEVEL
    return max(1, int(math.floor(math.log2(fs / MIN_DETAIL_HZ))) - 1)


def resolve_level(n: int, wavelet: str | pywt.Wavelet = "db8", level: int | None = None,
                  fs: float | None = None) -> int:
    """The decomposition level actually used for an ``n``-sample signal: ``level`` (or
    :func:`default_level`) clamped to what ``n`` allows; 0 means "too short"."""
    w = _wavelet(wavelet)
    max_level = pywt.dwt_max_level(n, w.dec_len)
    want = default_level(fs) if level is None else int(level)
    return max(0, min(want, max_level))


def wavelet_overlap(wavelet: str | pywt.Wavelet, level: int) -> int:
    """Context (samples) on each side of a chunk for a ``level``-level transform."""
    w = _wavelet(wavelet)
    return round_up(2 * w.dec_len * (1 << level), 1 << level)


def universal_threshold(sigma: np.ndarray | float, n: int) -> np.ndarray:
    """Donoho's universal threshold ``sigma * sqrt(2 ln n)``."""
    return np.asarray(sigma, dtype=np.float64) * math.sqrt(2.0 * math.log(max(n, 2)))


def _finest_details(x2d: np.ndarray, w: pywt.Wavelet, chunk_size: int,
                    should_cancel: CancelFn | None):
    """Yields ``(g0, |d|)``: the one-piece transform's finest detail coefficients from
    global index ``g0`` on, in order, chunk by chunk (each chunk read with enough
    context that its coefficients are exact, so chunking does not change them)."""
    n = x2d.shape[0]
    total = (n + w.dec_len - 1) // 2  # coefficient count of the one-piece transform
    for chunk in iter_chunks(n, chunk_size, w.dec_len, 2, should_cancel):
        block = read_chunk(x2d, chunk, dtype=np.float32)
        _, d = pywt.dwt(block, w, mode="symmetric", axis=-1)
        g0 = 0 if chunk.start == 0 else chunk.start // 2
        g1 = total if chunk.stop == n else chunk.stop // 2
        off = chunk.ext_start // 2
        yield g0, np.abs(d[:, g0 - off:g1 - off])


def estimate_noise_sigma(x: np.ndarray, wavelet: str | pywt.Wavelet = "db8", *,
                         chunk_size: int = DEFAULT_CHUNK,
                         should_cancel: CancelFn | None = None) -> np.ndarray:
    """Per-lead noise level ``MAD(finest detail coefficients) / 0.6745``.

    Computed chunk by chunk: each chunk contributes exactly the coefficients the
    one-piece transform would have (chunks are read with enough context), so the
    result does not depend on ``chunk_size``. Returns float64 ``(n_leads,)``.
    """
    w = _wavelet(wavelet)
    x2d, _ = as_2d(x)
    n, n_leads = x2d.shape
    if n < 2:
        return np.zeros(n_leads)
    total = (n + w.dec_len - 1) // 2
    stride = max(1, math.ceil(total / _MAX_SIGMA_COEFFS))
    # keep the global coefficients that fall on the stride grid
    parts = [d[:, (-g0) % stride::stride]
             for g0, d in _finest_details(x2d, w, chunk_size, should_cancel)]
    coeffs = np.concatenate(parts, axis=1)
    return np.median(coeffs, axis=1).astype(np.float64) / 0.6745


def sigma_block_samples(fs: float) -> int:
    """Samples per local-noise block (even: two samples per finest coefficient)."""
    return max(2, 2 * int(round(SIGMA_BLOCK_S * fs / 2)))


def local_noise_sigma(x: np.ndarray, fs: float, wavelet: str | pywt.Wavelet = "db8", *,
                      chunk_size: int = DEFAULT_CHUNK,
                      should_cancel: CancelFn | None = None) -> np.ndarray:
    """``(n_blocks, n_leads)``: each block's local noise level, the median over the
    :data:`SIGMA_NEIGHBOURS` blocks on each side (itself included) of the blocks'
    ``MAD(finest detail coefficients) / 0.6745``. Blocks are
    :func:`sigma_block_samples` long from sample 0; chunk by chunk, exact."""
    w = _wavelet(wavelet)
    x2d, _ = as_2d(x)
    n, n_leads = x2d.shape
    per_block = sigma_block_samples(fs) // 2  # coefficients
    # blocks of samples; the transform's few edge coefficients past the last sample
    # go to the last block
    n_blocks = max(1, -(-n // (2 * per_block)))
    own = np.zeros((n_blocks, n_leads))
    carry = np.zeros((n_leads, 0), np.float32)  # coefficients of the unfinished block
    done = 0  # blocks finished
    for _, d in _finest_details(x2d, w, chunk_size, should_cancel):
        carry = np.concatenate([carry, d], axis=1)
        while carry.shape[1] >= per_block and done < n_blocks - 1:
            own[done] = np.median(carry[:, :per_block], axis=1) / 0.6745
            carry = carry[:, per_block:]
            done += 1
    if carry.shape[1]:
        own[done] = np.median(carry, axis=1) / 0.6745
    k = SIGMA_NEIGHBOURS
    padded = np.pad(own, ((k, k), (0, 0)), mode="constant", constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * k + 1, axis=0)
    return np.nanmedian(windows, axis=-1)


def local_threshold_kernel(wavelet: str | pywt.Wavelet, level: int, sigma: np.ndarray,
                           fs: float, mode: str = "soft"):
    """A positional kernel (``kernel(block, start)``) shrinking each detail
    coefficient by the threshold of the local-noise block its samples fall in."""
    thr = (np.asarray(sigma, np.float64)
           * math.sqrt(2.0 * math.log(max(REFERENCE_S * fs, 2)))).astype(np.float32)
    block_len = sigma_block_samples(fs)

    def threshold_at(start: int, step: int, count: int) -> np.ndarray:
        where = (start + np.arange(count) * step) // block_len
        return thr[np.clip(where, 0, len(thr) - 1)].T  # (leads, coefficients)

    return _shrinking(_wavelet(wavelet), level, mode, threshold_at)


def wavelet_kernel(wavelet: str | pywt.Wavelet, level: int, threshold: np.ndarray,
                   mode: str = "soft") -> Kernel:
    """Shrink the detail coefficients of a ``(n_leads, m)`` chunk."""
    thr = np.asarray(threshold, dtype=np.float32).reshape(-1, 1)
    shrink = _shrinking(_wavelet(wavelet), level, mode, lambda start, step, count: thr)
    return lambda block: shrink(block, 0)


def _shrinking(w: pywt.Wavelet, level: int, mode: str, threshold_at):
    """``kernel(block, start)``: the block's detail coefficients shrunk by
    ``threshold_at(start, samples per coefficient, coefficients)``."""
    if mode not in ("soft", "hard"):
        raise ValueError(f"mode must be 'soft' or 'hard', not {mode!r}")

    def kernel(block: np.ndarray, start: int) -> np.ndarray:
        m = block.shape[1]
        lvl = min(level, pywt.dwt_max_level(m, w.dec_len))
        if lvl < 1:
            return block
        coeffs = pywt.wavedec(block.astype(np.float32), w, level=lvl, axis=-1,
                              mode="symmetric")
        for i in range(1, len(coeffs)):
            step = 1 << (lvl - i + 1)  # samples per coefficient at this level
            coeffs[i] = _shrink(coeffs[i], threshold_at(start, step, coeffs[i].shape[1]),
                                mode)
        y = pywt.waverec(coeffs, w, axis=-1, mode="symmetric")
        return y[:, :m]

    return kernel


def _shrink(c: np.ndarray, thr: np.ndarray, mode: str) -> np.ndarray:
    if mode == "soft":
        mag = np.abs(c)
        mag -= thr
        np.maximum(mag, 0, out=mag)
        return np.copysign(mag, c)
    return np.where(np.abs(c) > thr, c, 0)


def wavelet_denoise(x: np.ndarray, wavelet: str = "db8", level: int | None = None,
                    mode: str = "soft", *, fs: float | None = None,
                    sigma: np.ndarray | float | None = None,
                    chunk_size: int = DEFAULT_CHUNK, progress: ProgressFn | None = None,
                    should_cancel: CancelFn | None = None,
                    out: np.ndarray | None = None, local: bool = False) -> np.ndarray:
    """Wavelet shrinkage of every lead of ``x`` (``(n,)`` or ``(n, n_leads)``).

    ``mode`` is ``"soft"`` or ``"hard"`` thresholding. ``level`` defaults to
    :func:`default_level` of ``fs`` (4 at 360 Hz or when ``fs`` is not given),
    clamped for short signals; ``sigma`` (per lead) is estimated with
    :func:`estimate_noise_sigma` unless given. Returns float32 shaped like ``x``;
    signals too short for one level are returned unchanged. ``out`` (float32, shaped
    like ``x``, may be ``x`` itself for in-place denoising) receives the result
    instead of a new array. ``local``: the local threshold (module docstring; needs
    ``fs``); ``sigma`` is then :func:`local_noise_sigma`'s ``(n_blocks, n_leads)``.
    """
    if mode not in ("soft", "hard"):
        raise ValueError(f"mode must be 'soft' or 'hard', not {mode!r}")
    w = _wavelet(wavelet)
    x2d, was_1d = as_2d(x)
    n, n_leads = x2d.shape
    lvl = resolve_level(n, w, level, fs)
    if lvl < 1:
        if out is None:
            return np.array(x, dtype=np.float32)
        out[...] = x
        return out
    overlap = wavelet_overlap(w, lvl)
    if local:
        if fs is None:
            raise ValueError("a local threshold needs the sampling rate")
        if sigma is None:
            sigma = local_noise_sigma(x2d, fs, w, chunk_size=chunk_size,
                                      should_cancel=should_cancel)
        kernel = local_threshold_kernel(w, lvl, sigma, fs, mode)
    else:
        if sigma is None:
            sigma = estimate_noise_sigma(x2d, w, chunk_size=chunk_size,
                                         should_cancel=should_cancel)
        sigma = np.broadcast_to(np.asarray(sigma, dtype=np.float64), (n_leads,))
        kernel = wavelet_kernel(w, lvl, universal_threshold(sigma, n), mode)
    y = apply_chunked(kernel, x2d, overlap=overlap, align=1 << lvl,
                      chunk_size=max(chunk_size, 2 * overlap), out=out, progress=progress,
                      should_cancel=should_cancel, positional=local)
    return y[:, 0] if was_1d else y
