"""Which beat marks to draw: all of them when zoomed in, a legible subset when not.

Zoomed out over hours, 100k marks would paint a solid band and cost tens of
milliseconds. Each bucket (about a letter wide) therefore keeps one mark, and an
ectopic mark wins over a normal one, so a lone PVC in an hour of sinus rhythm stays
visible at any zoom. Winners of neighbouring buckets can still sit closer than a
letter (one at a bucket's right edge, the next at the left edge of the next), so a
last pass keeps only marks at least a bucket apart, the higher priority first: no
two letters overlap ("FV").
"""

from __future__ import annotations

import bisect

import numpy as np

from beatscope.aami import AAMI_CLASSES

#: Drawing priority when several beats share one bucket (higher wins).
_PRIORITY = {"V": 5, "S": 4, "F": 3, "Q": 2, "N": 1}


def marks_in_view(sample: np.ndarray, label: np.ndarray, fs: float, t0: float, t1: float,
                  max_marks: int) -> dict[str, np.ndarray]:
    """Indices of the beats to mark in ``[t0, t1]`` seconds, per AAMI class.

    At most about ``max_marks`` beats (one per bucket of ``(t1-t0)/max_marks``
    seconds) when more are visible.
    """
    i0 = int(np.searchsorted(sample, t0 * fs, side="left"))
    i1 = int(np.searchsorted(sample, t1 * fs, side="right"))
    index = np.arange(i0, i1)
    if len(index) > max_marks > 0:
        labels = label[i0:i1]
        priority = np.zeros(len(index), np.int8)
        for cls, p in _PRIORITY.items():
            priority[labels == cls] = p
        bucket = ((sample[i0:i1] / fs - t0) * (max_marks / max(t1 - t0, 1e-9))).astype(np.int64)
        # Sort by bucket, then by descending priority; keep the first of each bucket.
        order = np.lexsort((-priority, bucket))
        first = np.ones(len(order), bool)
        first[1:] = bucket[order][1:] != bucket[order][:-1]
        index = np.sort(index[order[first]])
        index = _spaced(index, sample, fs, (t1 - t0) / max_marks, label)
    labels = label[index]
    return {cls: index[labels == cls] for cls in AAMI_CLASSES}


def _spaced(index: np.ndarray, sample: np.ndarray, fs: float, gap_s: float,
            label: np.ndarray) -> np.ndarray:
    """The marks of ``index`` at least ``gap_s`` apart, chosen by priority then time
    (a few hundred marks at most: one per bucket)."""
    t = sample[index] / fs
    priority = np.array([_PRIORITY.get(c, 0) for c in label[index].tolist()])
    kept: list[float] = []
    keep = np.zeros(len(index), bool)
    for i in np.lexsort((t, -priority)).tolist():
        at = bisect.bisect_left(kept, t[i])
        if (at > 0 and t[i] - kept[at - 1] < gap_s) or (at < len(kept)
                                                      and kept[at] - t[i] < gap_s):
            continue
        kept.insert(at, float(t[i]))
        keep[i] = True
    return index[keep]
