"""The QRS feature: a 1-D signal, about 1 at a typical QRS, fused from all leads.

Per lead: band-pass to the QRS band, differentiate, and take the RMS slope over
a QRS-wide window. RMS (not squared energy) keeps the feature linear in
amplitude, so a tall ectopic beat does not dwarf the normal beats beside it.
Each lead is normalised by its running QRS level, then leads are averaged with
weights that fall where the lead looks unreadable, so beats that are clear on
any lead survive noise, pops or a loose electrode on the others.

Long records are processed in chunks whose margins cover the longest context
any step uses, so the result does not depend on the chunking and memory stays
bounded for 24-h Holter recordings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import signal

from beatscope.detect.config import DetectorConfig
from beatscope.detect.filters import bandpass_sos, moving_mean, running_median
from beatscope.errors import CancelledError


@dataclass(frozen=True)
class QrsFeature:
    """The fused feature and, per block of ``block`` samples, each lead's weight."""

    values: np.ndarray  # float32 (n_samples,)
    lead_weights: np.ndarray  # float32 (n_blocks, n_leads)
    block: int


def compute_feature(x: np.ndarray, fs: float, config: DetectorConfig,
                    lead_quality: np.ndarray | None = None,
                    progress: Callable[[float], None] | None = None,
                    should_cancel: Callable[[], bool] | None = None) -> QrsFeature:
    """QRS feature of ``x`` (n_samples, n_leads), chunked for long records.

    ``lead_quality`` (n_seconds, n_leads), 0..1, scales each lead's weight: 0
    where the quality index found it flat, saturated or missing.
    """
    n = x.shape[0]
    block = max(1, int(round(config.block_s * fs)))
    chunk = max(1, int(config.chunk_s * fs) // block) * block
    margin = int(np.ceil((config.scale_window_s + 4 * config.block_s) * fs / block)) * block
    sos = bandpass_sos(fs, *config.band_hz)
    values = np.empty(n, dtype=np.float32)
    weights = []
    for start in range(0, n, chunk):
        if should_cancel is not None and should_cancel():
            raise CancelledError("R-peak detection cancelled")
        lo, hi = max(0, start - margin), min(n, start + chunk + margin)
        q = None
        if lead_quality is not None:
            q = _quality_per_block(lead_quality, fs, lo, hi, block)
        v, w = _feature_chunk(np.asarray(x[lo:hi], dtype=np.float32), fs, config, sos, block, q)
        keep = slice(start - lo, min(start + chunk, n) - lo)
        values[start:start + (keep.stop - keep.start)] = v[keep]
        weights.append(w[(start - lo) // block: (keep.stop + block - 1) // block])
        if progress is not None:
            progress(min(n, start + chunk) / n)
    return QrsFeature(values, np.concatenate(weights, axis=0), block)


def _quality_per_block(quality: np.ndarray, fs: float, lo: int, hi: int, block: int) -> np.ndarray:
    centres = (np.arange(lo, hi, block) + block / 2) / fs
    sec = np.clip(centres.astype(np.int64), 0, len(quality) - 1)
    return np.asarray(quality, dtype=np.float32)[sec]


def _feature_chunk(x, fs, config, sos, block, quality):
    y = signal.sosfiltfilt(sos, x, axis=0).astype(np.float32)
    d = np.diff(y, axis=0, prepend=y[:1]) * np.float32(fs)  # mV/s
    width = max(1, int(round(config.integration_s * fs)))
    rms = moving_mean(d * d, width)
    del d
    # Energy ** (power / 2): 0.5 gives the RMS slope, linear in amplitude; lower
    # powers compress further so a small normal QRS beside tall ectopic beats
    # still clears the threshold.
    rms = np.power(np.maximum(rms, 0.0), np.float32(config.feature_power / 2))
    n = rms.shape[0]
    nb = int(np.ceil(n / block))
    pad = nb * block - n
    rb = np.pad(rms, ((0, pad), (0, 0)), mode="edge").reshape(nb, block, -1)
    maxima = rb.max(axis=1)
    k = max(1, int(round(config.scale_window_s / config.block_s))) | 1
    level = np.maximum(running_median(maxima, k), 1e-6)
    # A clean lead has sharp QRS peaks over a quiet baseline; a lead lost to
    # muscle noise is uniformly busy.
    peakiness = maxima / np.maximum(np.median(rb, axis=1), 1e-6)
    w = np.clip((peakiness - config.peakiness_floor)
                / (config.peakiness_full - config.peakiness_floor), 0.02, 1.0)
    # Baseline jumps (electrode pops, motion) far larger than the lead's usual
    # QRS make slope spikes that look like beats.
    xb = np.pad(x, ((0, pad), (0, 0)), mode="edge").reshape(nb, block, -1)
    yb = np.pad(y, ((0, pad), (0, 0)), mode="edge").reshape(nb, block, -1)
    excursion = xb.max(axis=1) - xb.min(axis=1)
    qrs_size = np.median(yb.max(axis=1) - yb.min(axis=1), axis=0, keepdims=True)
    w = w * np.clip(config.jump_ratio * qrs_size / np.maximum(excursion, 1e-6), 0.0, 1.0)
    w = np.maximum(running_median(w, 3), 0.02) ** 2
    if quality is not None:
        w = w * quality
    centres = (np.arange(nb) + 0.5) * block
    t = np.arange(n)
    # Leads are fused by a weighted power mean: with p < 1 a peak must show on
    # several leads at once to score fully, as a QRS does and independent noise
    # on each lead rarely does.
    p = np.float32(config.lead_power)
    num = np.zeros(n, dtype=np.float32)
    den = np.zeros(n, dtype=np.float32)
    for j in range(rms.shape[1]):
        wj = np.interp(t, centres, w[:, j]).astype(np.float32)
        zj = rms[:, j] / np.interp(t, centres, level[:, j]).astype(np.float32)
        num += wj * (zj if p == 1 else np.power(zj, p))
        den += wj
    fused = num / np.maximum(den, 1e-6)
    if p != 1:
        fused = np.power(fused, 1 / p)
    return fused, w.astype(np.float32)
