"""Deciding which QRS-feature peaks are beats.

Hamilton & Tompkins (1986): each local maximum of the feature is compared with a
threshold between the medians of the last eight QRS peaks and the last eight
noise peaks. Two whole-record passes follow, which an offline reviewer can
afford: a search-back in RR gaps far longer than usual, and the removal of small
peaks that split a regular RR interval (noise rather than ectopy).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d

from beatscope.detect.config import DetectorConfig
from beatscope.detect.filters import running_median


def candidate_peaks(feat: np.ndarray, distance: int, floor: float,
                    chunk: int = 1 << 19) -> np.ndarray:
    """Samples that are the maximum of the feature within +-``distance`` and >= ``floor``.

    Equivalent to ``find_peaks(feat, distance=..., height=...)`` on a smooth
    feature, but works in float32 chunks: find_peaks copies a 24-h feature to
    float64 (250 MB) first. Chunks stay short because scipy.ndimage holds the GIL:
    a 4M-sample call froze the viewer's GUI thread for tens of milliseconds.
    On a plateau the first sample is kept.
    """
    n = len(feat)
    size = 2 * distance + 1
    out = []
    for start in range(0, n, chunk):
        lo, hi = max(0, start - distance), min(n, start + chunk + distance)
        seg = feat[lo:hi]
        peak = (maximum_filter1d(seg, size, mode="constant", cval=-np.inf) == seg) & (seg >= floor)
        idx = np.flatnonzero(peak) + lo
        out.append(idx[(idx >= start) & (idx < start + chunk)])
    idx = np.concatenate(out) if out else np.zeros(0, dtype=np.int64)
    if len(idx) > 1:  # plateaus: keep the first sample of equal neighbours
        keep = np.ones(len(idx), dtype=bool)
        keep[1:] = ~((np.diff(idx) <= distance) & (feat[idx[1:]] == feat[idx[:-1]]))
        idx = idx[keep]
    return idx.astype(np.int64)


def decide(feat: np.ndarray, fs: float, config: DetectorConfig) -> np.ndarray:
    """Sample indices of the feature peaks judged to be QRS complexes."""
    refractory = max(1, int(config.refractory_s * fs))
    cand = candidate_peaks(feat, refractory, config.floor)
    amp = feat[cand].astype(np.float64)
    if len(cand) == 0:
        return cand
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
    accepted = _resolve_close_pairs(cand, amp, accepted, config)
    return cand[accepted].astype(np.int64)


def _reject_interposed(cand, amp, accepted, config):
    """Drop small peaks that split an otherwise regular RR interval.

    A noise spike between two beats leaves the surrounding rhythm intact: the
    intervals on either side add up to about one normal RR. Ectopic beats are
    followed by a pause, or are as large as their neighbours (interpolated PVCs).
    """
    accepted = accepted.copy()
    for _ in range(2):  # a second pass sees the rhythm without the first pass's noise
        idx = np.flatnonzero(accepted)
        if len(idx) < 5:
            return accepted
        pos = cand[idx].astype(np.float64)
        a = amp[idx]
        # The expected RR comes from the confident (full-size) beats only, so a
        # burst of noise peaks cannot shorten it and so excuse itself.
        level = running_median(a[:, None], 9)[:, 0]
        confident = a >= config.interposed_amp_ratio * level
        if confident.sum() < 3:
            return accepted
        cpos = pos[confident]
        crr = running_median(np.diff(cpos)[:, None], 9)[:, 0]
        centres = 0.5 * (cpos[1:] + cpos[:-1])
        ref_rr = np.interp(pos, centres, crr)
        # Only where the confident beats keep a regular rhythm: in atrial
        # fibrillation a small early beat is as likely a beat as noise.
        dev = np.abs(np.diff(cpos)[:, None] - crr[:, None])
        irregularity = np.interp(pos, centres, running_median(dev, 9)[:, 0] / crr)
        span = pos[2:] - pos[:-2]  # RR before + RR after each inner beat
        neighbours = 0.5 * (a[:-2] + a[2:])
        bad = ((span < config.interposed_rr_ratio * ref_rr[1:-1])
               & (irregularity[1:-1] < config.interposed_max_irregularity)
               & (a[1:-1] < config.interposed_amp_ratio * neighbours))
        bad &= ~_recurring_coupling(pos, confident)[1:-1]
        if not bad.any():
            break
        accepted[idx[1:-1][bad]] = False
    return accepted


def _recurring_coupling(pos: np.ndarray, confident: np.ndarray, window: int = 9) -> np.ndarray:
    """True for small beats that recur at a steady coupling interval (bigeminy).

    Ectopic beats that look small on the available leads come back after the
    same coupling interval beat after beat; noise peaks land anywhere. A small
    beat is protected when most of the surrounding small beats sit at nearly
    the same delay after their preceding full-size beat.
    """
    small = np.flatnonzero(~confident)
    out = np.zeros(len(pos), dtype=bool)
    if len(small) < 3:
        return out
    cidx = np.flatnonzero(confident)
    prev = np.searchsorted(cidx, small) - 1
    has_prev = prev >= 0
    coupling = np.full(len(small), np.nan)
    coupling[has_prev] = pos[small[has_prev]] - pos[cidx[prev[has_prev]]]
    half = window // 2
    for k in range(len(small)):
        lo, hi = max(0, k - half), min(len(small), k + half + 1)
        c = coupling[lo:hi]
        c = c[np.isfinite(c)]
        if len(c) >= 3 and np.isfinite(coupling[k]):
            close = np.abs(c - coupling[k]) <= 0.04 * max(coupling[k], 1.0)
            out[small[k]] = close.sum() >= 3
    return out


def _resolve_close_pairs(cand, amp, accepted, config):
    """Of two beats far closer than the local rhythm allows, keep the one that fits it.

    Each is scored by how well it continues the rhythm from the beat before the
    pair (one expected RR later) and by its amplitude; the worse one goes.
    """
    accepted = accepted.copy()
    idx = np.flatnonzero(accepted)
    if len(idx) < 5:
        return accepted
    pos = cand[idx].astype(np.float64)
    rr = np.diff(pos)
    local = running_median(rr[:, None], 15)[:, 0]
    close = np.flatnonzero(rr < config.close_pair_ratio * local)
    for g in close:
        i, j = g, g + 1
        if not (accepted[idx[i]] and accepted[idx[j]]) or i == 0:
            continue
        expected = pos[i - 1] + local[g]
        fit_i = abs(pos[i] - expected) / local[g]
        fit_j = abs(pos[j] - expected) / local[g]
        a_i, a_j = amp[idx[i]], amp[idx[j]]
        score_i = a_i / max(a_i, a_j) - fit_i
        score_j = a_j / max(a_i, a_j) - fit_j
        drop_j = score_j < score_i
        # An ectopic beat is followed by a pause: if dropping one of the pair
        # leaves a gap far longer than the rhythm, both were beats.
        if drop_j:
            gap = (pos[j + 1] - pos[i]) if j + 1 < len(pos) else 0.0
        else:
            gap = pos[j] - pos[i - 1]
        if gap > config.close_pair_max_gap * local[g]:
            continue
        accepted[idx[j] if drop_j else idx[i]] = False
    return accepted


def _search_back(cand, amp, thresholds, accepted, fs, config):
    """Accept the strongest rejected peak inside RR gaps far longer than usual."""
    t_window = int(config.t_wave_window_s * fs)
    for _ in range(3):
        idx = np.flatnonzero(accepted)
        if len(idx) < 3:
            return accepted
        rr = np.diff(cand[idx])
        local = running_median(rr[:, None].astype(np.float64), 9)[:, 0]
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
