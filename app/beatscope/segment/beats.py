"""Fixed-length, R-aligned beat windows for the classifier.

Following the source paper, beat ``i`` spans ``floor(3/8 * (R_i - R_{i-1}))``
samples before its R peak and ``floor(3/8 * (R_{i+1} - R_i))`` samples after it
(at 360 Hz), zero-padded or cropped to ``length`` (400) samples and z-scored per
beat and per lead.

Placement: the R peak always sits at index ``r_index`` (default
:data:`R_INDEX` = 160) of the window, so the network sees aligned beats. Window
position ``j`` holds sample ``R + j - r_index`` when ``-pre <= j - r_index < post``
(with ``pre <= r_index`` and ``post <= length - r_index``: 160 samples = 444 ms
before R covers the P wave even with a long PR interval, 240 samples = 667 ms
after R covers the T wave), and 0 elsewhere. Cropping therefore only happens
below ~50 bpm (before R) or ~34 bpm (after R).

* The first beat uses its following RR interval as its preceding one and the last
  beat its preceding RR as its following one; a lone beat uses
  :data:`DEFAULT_RR_S`.
* Samples beyond the record's ends are padding too.
* z-scoring uses only the real (non-padded) samples; padding stays exactly 0, and
  a beat with (near) zero variance comes out all zeros, never NaN.
* A 1-lead record is a valid input: its lead is duplicated into both channels, so
  the output always has ``len(leads)`` channels.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

BEAT_LENGTH = 400
R_INDEX = 160
FS = 360.0
#: RR assumed for a record with a single beat (seconds).
DEFAULT_RR_S = 0.8
#: a beat whose real samples vary less than this (mV, i.e. 1 uV: below any ECG
#: ADC's resolution) is output as zeros rather than as amplified rounding noise
MIN_STD_MV = 1e-3


def _as_peaks(r_peaks: np.ndarray) -> np.ndarray:
    r = np.asarray(r_peaks)
    if r.ndim != 1:
        raise ValueError("r_peaks must be a 1-D array of sample indices")
    if r.size and not np.issubdtype(r.dtype, np.integer):
        if not np.all(np.isfinite(r)) or np.any(r != np.round(r)):
            raise ValueError("r_peaks must be integer sample indices")
    r = r.astype(np.int64)
    if r.size > 1 and np.any(np.diff(r) < 0):
        raise ValueError("r_peaks must be sorted in increasing order")
    return r


def neighbour_rr(r_peaks: np.ndarray, default_rr: float) -> tuple[np.ndarray, np.ndarray]:
    """Preceding and following RR interval of every beat (in samples, int64), with
    the first/last beats borrowing their neighbouring interval."""
    r = _as_peaks(r_peaks)
    n = r.size
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    if n == 1:
        d = np.array([int(round(default_rr))], dtype=np.int64)
        return d, d.copy()
    rr = np.diff(r)
    pre = np.concatenate([rr[:1], rr])
    post = np.concatenate([rr, rr[-1:]])
    return pre, post


def beat_extents(r_peaks: np.ndarray, length: int = BEAT_LENGTH, r_index: int = R_INDEX,
                 fs: float = FS) -> tuple[np.ndarray, np.ndarray]:
    """``(pre, post)``: samples kept before and after each R peak (int64), i.e.
    ``floor(3/8 RR)`` clamped to the window (``pre <= r_index``,
    ``post <= length - r_index``)."""
    if not 0 <= r_index < length:
        raise ValueError(f"r_index must be in [0, {length}), got {r_index}")
    rr_pre, rr_post = neighbour_rr(r_peaks, DEFAULT_RR_S * fs)
    pre = np.minimum((3 * rr_pre) // 8, r_index)
    post = np.minimum((3 * rr_post) // 8, length - r_index)
    return pre, post


def _lead_indices(n_leads: int, leads: Sequence[int]) -> list[int]:
    out = []
    for lead in leads:
        lead = int(lead)
        if n_leads == 1:
            out.append(0)  # 1-lead record: duplicate the only lead
        elif -n_leads <= lead < n_leads:
            out.append(lead % n_leads)
        else:
            raise ValueError(f"lead {lead} does not exist in a {n_leads}-lead signal")
    return out


def iter_segment_beats(x360: np.ndarray, r_peaks: np.ndarray, length: int = BEAT_LENGTH,
                       leads: Sequence[int] = (0, 1), *, r_index: int = R_INDEX,
                       chunk: int = 8192) -> Iterator[np.ndarray]:
    """Yield the beats of :func:`segment_beats` in consecutive float32 blocks of at
    most ``chunk`` beats (``(m, len(leads), length)``); concatenated they equal
    :func:`segment_beats`'s result. Memory stays ~ ``chunk * length`` x 20 bytes."""
    x = np.asarray(x360)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError("x360 must be (n_samples,) or (n_samples, n_leads)")
    n, n_leads = x.shape
    lead_idx = _lead_indices(n_leads, leads)
    r = _as_peaks(r_peaks)
    pre, post = beat_extents(r, length, r_index)
    offsets = np.arange(length, dtype=np.int64) - r_index  # (length,)
    # Gathering through the flat buffer of a C-contiguous (n, n_leads) array is ~3x
    # faster than np.take on a strided column view.
    if x.flags.c_contiguous and n_leads > 1:
        flat = x.reshape(-1)
        columns = {li: flat[li:] for li in set(lead_idx)}
        stride = n_leads
    else:
        columns = {li: x[:, li] for li in set(lead_idx)}
        stride = 1
    # real samples: offsets in [lo, hi), i.e. inside both the 3/8-RR span and the record
    lo_all = np.maximum(-pre, -r)
    hi_all = np.minimum(post, n - r)
    for b0 in range(0, r.size, max(1, int(chunk))):
        b1 = min(r.size, b0 + max(1, int(chunk)))
        valid = (offsets >= lo_all[b0:b1, None]) & (offsets < hi_all[b0:b1, None])
        idx = r[b0:b1, None] + offsets  # (m, length) sample indices
        np.clip(idx, 0, max(n - 1, 0), out=idx)
        if stride > 1:
            idx *= stride
        weight = valid.astype(np.float32)  # 1 on real samples, 0 on padding
        inv_count = 1.0 / np.maximum(weight.sum(axis=1, keepdims=True), 1.0)
        out = np.empty((b1 - b0, len(lead_idx), length), dtype=np.float32)
        done: dict[int, int] = {}
        for c, li in enumerate(lead_idx):
            if li in done:
                out[:, c, :] = out[:, done[li], :]
                continue
            done[li] = c
            if n == 0:
                out[:, c, :] = 0.0
                continue
            v = np.take(columns[li], idx).astype(np.float32, copy=False)  # fresh array
            if not np.isfinite(v).all():
                np.nan_to_num(v, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
            v *= weight
            mean = v.sum(axis=1, keepdims=True) * inv_count
            v -= mean
            v *= weight
            std = np.sqrt(np.einsum("ij,ij->i", v, v)[:, None] * inv_count)
            scale = np.where(std > MIN_STD_MV, 1.0 / np.maximum(std, MIN_STD_MV), 0.0)
            np.multiply(v, scale.astype(np.float32), out=out[:, c, :])
        yield out


def segment_beats(x360: np.ndarray, r_peaks: np.ndarray, length: int = BEAT_LENGTH,
                  leads: Sequence[int] = (0, 1), *, r_index: int = R_INDEX,
                  chunk: int = 8192) -> np.ndarray:
    """Cut one ``length``-sample, R-aligned, z-scored window per R peak.

    ``x360``: the denoised signal at 360 Hz, ``(n,)`` or ``(n, n_leads)``;
    ``r_peaks``: sorted int sample indices at 360 Hz. Returns float32
    ``(n_beats, len(leads), length)`` with the R peak at index ``r_index`` (see the
    module doc for padding, edge beats and 1-lead records). 100k beats x 2 leads x
    400 samples is 320 MB: use :func:`iter_segment_beats` to stream instead.
    """
    r = _as_peaks(r_peaks)
    out = np.empty((r.size, len(leads), length), dtype=np.float32)
    pos = 0
    for block in iter_segment_beats(x360, r, length, leads, r_index=r_index, chunk=chunk):
        out[pos:pos + len(block)] = block
        pos += len(block)
    return out
