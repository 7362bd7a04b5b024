"""One-to-one matching of detected beats to reference beats within a tolerance window."""

from __future__ import annotations

import numpy as np


def match_beats(reference: np.ndarray, detected: np.ndarray, tolerance: int) -> np.ndarray:
    """Match each reference beat to at most one detection, nearest first.

    Returns an int64 array, one entry per reference beat: the index into
    ``detected`` of its match, or -1. Both inputs are sample indices on the same
    grid; ``tolerance`` is the largest allowed |difference| in samples (AAMI
    EC57 uses 150 ms). Matching is globally greedy by distance, so a detection
    between two references goes to the closer one, as bxb does.
    """
    ref = np.asarray(reference, dtype=np.int64)
    det = np.asarray(detected, dtype=np.int64)
    out = np.full(len(ref), -1, dtype=np.int64)
    if len(ref) == 0 or len(det) == 0:
        return out
    det_order = np.argsort(det, kind="stable")
    det_sorted = det[det_order]
    # Candidate pairs: for each reference, the detections within the window.
    lo = np.searchsorted(det_sorted, ref - tolerance, side="left")
    hi = np.searchsorted(det_sorted, ref + tolerance, side="right")
    counts = hi - lo
    if counts.sum() == 0:
        return out
    ref_idx = np.repeat(np.arange(len(ref)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    det_idx = np.repeat(lo, counts) + offsets
    dist = np.abs(det_sorted[det_idx] - ref[ref_idx])
    # Closest pairs first; ties broken by position for determinism.
    order = np.lexsort((det_idx, ref_idx, dist))
    ref_used = np.zeros(len(ref), dtype=bool)
    det_used = np.zeros(len(det_sorted), dtype=bool)
    for k in order:  # pairs are few (about one per beat): a plain loop is fine
        r, d = ref_idx[k], det_idx[k]
        if not ref_used[r] and not det_used[d]:
            ref_used[r] = det_used[d] = True
            out[r] = det_order[d]
    return out
