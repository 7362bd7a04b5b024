"""R-peak detection: multi-lead QRS energy with adaptive thresholds.

The approach follows Pan & Tompkins (1985) and Hamilton & Tompkins (1986):
band-pass the QRS energy, integrate it over a QRS-width window, and classify
each local maximum as QRS or noise against thresholds that track the medians of
recent QRS and noise peaks. Additions that make it robust here:

- every lead contributes, each normalised by its own running QRS level and
  weighted down where its signal quality is poor, so a lead lost to noise or a
  loose electrode does not hide the beats seen on the others;
- polarity does not matter (the energy is of the derivative);
- a search-back for beats missed after a long RR, and a T-wave test by slope;
- everything is defined in seconds and Hz, so any fs from 100 to 1000 Hz works.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal


@dataclass(frozen=True)
class DetectorConfig:
    band_hz: tuple[float, float] = (5.0, 22.0)
    integration_s: float = 0.10
    refractory_s: float = 0.20
    t_wave_window_s: float = 0.36
    threshold: float = 0.20  # absolute floor of the adaptive threshold
    threshold_fraction: float = 0.3125
    t_wave_ratio: float = 0.5
    searchback_ratio: float = 0.5
    floor: float = 0.05
    searchback_rr_factor: float = 1.66
    block_s: float = 2.0
    peakiness_floor: float = 2.0
    peakiness_full: float = 6.0
    jump_ratio: float = 3.0
    interposed_rr_ratio: float = 1.25
    interposed_amp_ratio: float = 0.5
    scale_window_s: float = 30.0


def _moving_sum(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving sum along axis 0 via cumulative sums (O(n))."""
    c = np.cumsum(x, axis=0, dtype=np.float64)
    c = np.concatenate([np.zeros((1,) + x.shape[1:]), c], axis=0)
    half = width // 2
    n = x.shape[0]
    hi = np.minimum(np.arange(n) + width - half, n)
    lo = np.maximum(np.arange(n) - half, 0)
    return (c[hi] - c[lo]).astype(np.float32)


def qrs_feature(x: np.ndarray, fs: float, config: DetectorConfig = DetectorConfig(),
                lead_weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A 1-D QRS-likelihood signal combining all leads, about 1 at a typical QRS,
    and the per-sample, per-lead weights (0..1) given to each lead."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    lo, hi = config.band_hz
    hi = min(hi, 0.45 * fs)
    sos = signal.butter(2, [lo, hi], btype="bandpass", fs=fs, output="sos")
    y = signal.sosfiltfilt(sos, x, axis=0).astype(np.float32)
    d = np.diff(y, axis=0, prepend=y[:1]) * np.float32(fs)  # mV/s
    width = max(1, int(round(config.integration_s * fs)))
    # RMS slope over a QRS-wide window: linear in amplitude, so a tall ectopic
    # beat does not dwarf the normal beats beside it as squared energy would.
    rms = np.sqrt(_moving_sum(d * d, width) / width)
    block = max(1, int(config.block_s * fs))
    n = rms.shape[0]
    nb = int(np.ceil(n / block))
    padded = np.pad(rms, ((0, nb * block - n), (0, 0)), mode="edge")
    maxima = padded.reshape(nb, block, -1).max(axis=1)  # (nb, leads)
    k = max(1, int(round(config.scale_window_s / config.block_s)) | 1)
    level = np.maximum(_running_median(maxima, k), 1e-6)
    # Interpolate the per-block level to every sample, anchored at block centres.
    centres = (np.arange(nb) + 0.5) * block
    t = np.arange(n)
    z = np.empty_like(rms)
    for j in range(rms.shape[1]):
        z[:, j] = rms[:, j] / np.interp(t, centres, level[:, j]).astype(np.float32)
    # Per-lead, per-block weight from how peaky the slope envelope is: a clean
    # lead has sharp QRS peaks over a quiet baseline, a lead lost to muscle noise
    # or a loose electrode is uniformly busy. Leads are then averaged with these
    # weights, so beats seen clearly on any lead survive noise on the others.
    med = np.median(padded.reshape(nb, block, -1), axis=1)
    peakiness = maxima / np.maximum(med, 1e-6)
    w_block = np.clip((peakiness - config.peakiness_floor)
                      / (config.peakiness_full - config.peakiness_floor), 0.02, 1.0)
    # Baseline jumps (electrode pops, motion) far larger than the lead's usual
    # QRS produce slope spikes that look like beats: weight those blocks down.
    xb = np.pad(x, ((0, nb * block - n), (0, 0)), mode="edge").reshape(nb, block, -1)
    yb = np.pad(y, ((0, nb * block - n), (0, 0)), mode="edge").reshape(nb, block, -1)
    excursion = xb.max(axis=1) - xb.min(axis=1)
    # Each lead's usual QRS size over the whole record (gain is fixed per lead).
    qrs_size = np.median(yb.max(axis=1) - yb.min(axis=1), axis=0, keepdims=True)
    jump = excursion / np.maximum(qrs_size, 1e-6)
    w_block = w_block * np.clip(config.jump_ratio / np.maximum(jump, 1e-6), 0.0, 1.0)
    w_block = np.maximum(_running_median(w_block, 3), 0.02) ** 2
    w = np.empty_like(z)
    for j in range(z.shape[1]):
        w[:, j] = np.interp(t, centres, w_block[:, j])
    if lead_weights is not None:
        w *= lead_weights.astype(np.float32)
    return (z * w).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-6), w


def _running_median(a: np.ndarray, k: int) -> np.ndarray:
    from scipy.ndimage import median_filter

    out = np.empty_like(a)
    for j in range(a.shape[1]):
        out[:, j] = median_filter(a[:, j], size=k, mode="nearest")
    return out


def detect_r_peaks(x: np.ndarray, fs: float, config: DetectorConfig = DetectorConfig(),
                   lead_weights: np.ndarray | None = None) -> np.ndarray:
    """R-peak sample indices (int64, sorted) of a (n_samples, n_leads) ECG in mV."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    feat, weights = qrs_feature(x, fs, config, lead_weights)
    qrs = _decide(feat, fs, config)
    return _locate_r(x, fs, qrs, weights)


def _decide(feat: np.ndarray, fs: float, config: DetectorConfig) -> np.ndarray:
    refractory = max(1, int(config.refractory_s * fs))
    cand, props = signal.find_peaks(feat, distance=refractory, height=config.floor)
    amp = props["peak_heights"]
    t_window = int(config.t_wave_window_s * fs)
    accepted = np.zeros(len(cand), dtype=bool)
    thresholds = np.empty(len(cand))
    # Hamilton & Tompkins: the threshold sits between the medians of the last
    # eight QRS peaks and the last eight noise peaks.
    first = amp[cand < 8 * fs] if np.any(cand < 8 * fs) else amp
    qrs_hist = np.full(8, max(float(np.percentile(first, 90)), config.threshold))
    # Noise starts at the typical level between beats, not at a candidate-peak
    # percentile: in a bigeminal rhythm every candidate is a beat.
    noise_hist = np.full(8, float(np.median(feat[: int(8 * fs)])))
    qi = ni = 0
    last = -1
    for i in range(len(cand)):
        q_med = float(np.median(qrs_hist))
        n_med = float(np.median(noise_hist))
        thr = max(n_med + config.threshold_fraction * (q_med - n_med), config.threshold)
        thresholds[i] = thr
        is_qrs = amp[i] >= thr
        if (is_qrs and last >= 0 and cand[i] - cand[last] < t_window
                and amp[i] < config.t_wave_ratio * amp[last]):
            is_qrs = False
        if is_qrs:
            accepted[i] = True
            last = i
            qrs_hist[qi % 8] = amp[i]
            qi += 1
        else:
            noise_hist[ni % 8] = amp[i]
            ni += 1
    accepted = _search_back(cand, amp, thresholds, accepted, fs, config)
    accepted = _reject_interposed(cand, amp, accepted, config)
    return cand[accepted].astype(np.int64)


def _reject_interposed(cand, amp, accepted, config):
    """Drop small peaks that split an otherwise regular RR interval.

    A noise spike between two beats leaves the surrounding rhythm intact: the
    intervals on either side add up to about one normal RR. Ectopic beats are
    followed by a pause, or are as large as their neighbours (interpolated PVCs).
    """
    idx = np.flatnonzero(accepted)
    if len(idx) < 5:
        return accepted
    pos = cand[idx].astype(np.float64)
    a = amp[idx]
    rr = np.diff(pos)
    local = _running_median(rr[:, None], 9)[:, 0]
    span = pos[2:] - pos[:-2]  # RR before + RR after each inner beat
    ref_rr = np.minimum(local[:-1], local[1:])
    neighbours = 0.5 * (a[:-2] + a[2:])
    bad = (span < config.interposed_rr_ratio * ref_rr) & (a[1:-1] < config.interposed_amp_ratio * neighbours)
    accepted = accepted.copy()
    accepted[idx[1:-1][bad]] = False
    return accepted


def _search_back(cand, amp, thresholds, accepted, fs, config):
    """Accept the strongest rejected peak inside RR gaps far longer than usual."""
    t_window = int(config.t_wave_window_s * fs)
    for _ in range(3):
        idx = np.flatnonzero(accepted)
        if len(idx) < 3:
            return accepted
        rr = np.diff(cand[idx])
        local = _running_median(rr[:, None].astype(np.float64), 9)[:, 0]
        gaps = np.flatnonzero(rr > config.searchback_rr_factor * local)
        changed = False
        for g in gaps:
            a, b = idx[g], idx[g + 1]
            inner = np.arange(a + 1, b)
            if len(inner) == 0:
                continue
            ok = ((cand[inner] - cand[a] > t_window) & (cand[b] - cand[inner] > 0.5 * t_window)
                  & (amp[inner] >= config.searchback_ratio * thresholds[inner])
                  & (amp[inner] >= config.searchback_ratio * 0.8 * min(amp[a], amp[b])))
            if ok.any():
                best = inner[ok][np.argmax(amp[inner[ok]])]
                accepted[best] = True
                changed = True
        if not changed:
            break
    return accepted
def _locate_r(x: np.ndarray, fs: float, qrs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Move each QRS mark to the largest deflection of the best lead nearby.

    The search is confined to +-50 ms of the QRS energy centre so that a deep ST
    segment or a tall T wave after a wide ventricular beat cannot pull the mark
    away from the QRS complex.
    """
    if len(qrs) == 0:
        return qrs
    sos = signal.butter(2, [3.0, min(40.0, 0.45 * fs)], btype="bandpass", fs=fs, output="sos")
    half = max(1, int(0.05 * fs))
    offs = np.arange(-half, half + 1)
    idx = np.clip(qrs[:, None] + offs[None, :], 0, x.shape[0] - 1)
    best_amp = np.full(len(qrs), -1.0, dtype=np.float32)
    best_pos = qrs.copy()
    for j in range(x.shape[1]):
        y = signal.sosfiltfilt(sos, x[:, j]).astype(np.float32)
        seg = np.abs(y[idx] - np.median(y[idx], axis=1, keepdims=True))
        amp = seg.max(axis=1) * weights[qrs, j]
        better = amp > best_amp
        best_amp[better] = amp[better]
        best_pos[better] = idx[np.arange(len(qrs)), seg.argmax(axis=1)][better]
    return np.unique(best_pos)
