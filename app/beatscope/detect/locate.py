"""Placing each detected beat on its R peak."""

from __future__ import annotations

import numpy as np
from scipy import signal

from beatscope.detect.feature import QrsFeature
from beatscope.detect.filters import bandpass_sos

#: Beats on each side whose fiducial sign makes the local majority (polarity consistency).
POLARITY_NEIGHBOURS = 15
#: A beat joins the majority's sign only if that deflection is at least this share of
#: its own largest: a biphasic QRS (R about as deep as S) is ambiguous, a PVC whose
#: opposite deflection is small is not.
POLARITY_SWITCH_RATIO = 0.5


def locate_r_peaks(x: np.ndarray, fs: float, qrs: np.ndarray, feature: QrsFeature,
                   chunk: int = 3_600_000, consistent_polarity: bool = False) -> np.ndarray:
    """Move each QRS mark to the largest deflection of the best lead nearby.

    The search is confined to +-50 ms of the QRS energy centre so that a deep ST
    segment or a tall T wave after a wide ventricular beat cannot pull the mark
    off the QRS. The lead is the one with the largest deflection times its
    quality weight, so an electrode pop on another lead cannot capture it.
    Works in chunks so that 24-h records need no full-length filtered copy.

    ``consistent_polarity``: where R and S are about as large (a biphasic QRS, common
    on lead I and in handheld strips) the largest deflection is the R wave in one beat
    and the S wave in the next, and the classifier, whose windows are centred on the
    mark, sees every other normal beat shifted by 30-50 ms. With it, a beat whose
    largest deflection has the sign opposite to most of its neighbours on the same
    lead (:data:`POLARITY_NEIGHBOURS` each side) is placed on its deflection of the
    majority's sign when that one is at least :data:`POLARITY_SWITCH_RATIO` of it.
    """
    if len(qrs) == 0:
        return qrs.astype(np.int64)
    n = x.shape[0]
    sos = bandpass_sos(fs, 3.0, 40.0)
    half = max(1, int(0.05 * fs))
    margin = int(2 * fs)
    offs = np.arange(-half, half + 1)
    blocks = np.clip(qrs // feature.block, 0, len(feature.lead_weights) - 1)
    m = len(qrs)
    lead = np.zeros(m, np.int64)
    peak = np.zeros((m, 2), np.int64)  # sample of the largest rise / largest fall
    size = np.zeros((m, 2))  # their sizes
    for start in range(0, n, chunk):
        sel = np.flatnonzero((qrs >= start) & (qrs < start + chunk))
        if len(sel) == 0:
            continue
        lo, hi = max(0, start - margin), min(n, start + chunk + margin)
        y = signal.sosfiltfilt(sos, np.asarray(x[lo:hi], dtype=np.float32), axis=0)
        idx = np.clip(qrs[sel, None] - lo + offs[None, :], 0, hi - lo - 1)
        seg = y[idx]  # (beats, window, leads)
        dev = seg - np.median(seg, axis=1, keepdims=True)
        score = np.abs(dev).max(axis=1) * feature.lead_weights[blocks[sel]]
        lead[sel] = score.argmax(axis=1)
        d = dev[np.arange(len(sel)), :, lead[sel]]
        rows = np.arange(len(sel))
        peak[sel, 0] = idx[rows, d.argmax(axis=1)] + lo
        peak[sel, 1] = idx[rows, d.argmin(axis=1)] + lo
        size[sel, 0], size[sel, 1] = d.max(axis=1), -d.min(axis=1)
    falls = size[:, 1] > size[:, 0]  # the largest deflection is a fall
    if consistent_polarity:
        majority_falls = _local_majority(falls, lead, POLARITY_NEIGHBOURS)
        other = np.where(majority_falls, size[:, 1], size[:, 0])
        switch = (falls != majority_falls) & (other >= POLARITY_SWITCH_RATIO * size.max(axis=1))
        falls = np.where(switch, majority_falls, falls)
    return np.unique(peak[np.arange(m), falls.astype(np.int64)])


def _local_majority(flag: np.ndarray, lead: np.ndarray, k: int) -> np.ndarray:
    """Per beat: whether most of the beats within ``k`` of it on the same lead (itself
    included) have ``flag`` set (ties: not set)."""
    out = np.zeros(len(flag), bool)
    for value in np.unique(lead):
        on = np.flatnonzero(lead == value)
        votes = np.concatenate([[0], np.cumsum(np.where(flag[on], 1, -1))])
        j = np.arange(len(on))
        total = votes[np.minimum(j + k + 1, len(on))] - votes[np.maximum(j - k, 0)]
        out[on] = total > 0
    return out


#: How far from a click the R peak of an inserted beat is looked for.
SNAP_SEARCH_S = 0.15
#: No QRS is looked for this close to a beat already there.
AVOID_S = 0.1


def snap_to_r_peak(x: np.ndarray, fs: float, sample: int, lead: int | None = None,
                   search_s: float = SNAP_SEARCH_S, avoid=()) -> int:
    """The R peak nearest ``sample`` (a reviewer's click on a missed beat).

    As the detector does, on a few seconds around the click: its QRS feature
    (:func:`~beatscope.detect.feature.compute_feature`), whose peak within
    ``search_s`` of the click is the QRS, and :func:`locate_r_peaks` placing the mark
    on it exactly as it places the detector's own beats. Only the detector's
    decision (which peaks are beats) is skipped: the reviewer made it. ``lead``: the
    lead the reviewer pointed at, the only one read; None: all (as the detector).
    ``avoid``: samples of beats already there (the reviewer is pointing at another
    one): the QRS is not looked for within ``AVOID_S`` of them, so a bigger neighbour
    or the artefact the detector took for the beat cannot capture the mark.
    """
    from beatscope.detect.config import DetectorConfig
    from beatscope.detect.feature import compute_feature

    n = x.shape[0]
    sample = int(np.clip(sample, 0, n - 1))
    margin = int(3 * fs)
    lo, hi = max(0, sample - margin), min(n, sample + margin + 1)
    y = np.asarray(x[lo:hi], dtype=np.float32)
    if y.ndim == 1:
        y = y[:, None]
    if hi - lo < int(0.5 * fs):  # too short for the detector's filters
        return sample
    weights = None
    if lead is not None and y.shape[1] > 1:
        weights = np.zeros((int(np.ceil((hi - lo) / fs)) + 1, y.shape[1]), np.float32)
        weights[:, int(np.clip(lead, 0, y.shape[1] - 1))] = 1.0
    feature = compute_feature(y, fs, DetectorConfig(), weights)
    half = max(1, int(search_s * fs))
    a, b = max(0, sample - lo - half), min(hi - lo, sample - lo + half + 1)
    values = feature.values.copy()
    guard = int(AVOID_S * fs)
    for beat in np.asarray(avoid, np.int64) - lo:
        values[max(0, beat - guard):max(0, beat + guard + 1)] = -np.inf
    window = values[a:b]
    if not np.isfinite(window).any():  # the click is on a beat that is there
        return sample
    qrs = a + int(np.argmax(window))
    return int(locate_r_peaks(y, fs, np.array([qrs]), feature)[0]) + lo
