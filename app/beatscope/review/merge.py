"""Re-analysis never erases review work: the review is laid over the new beats by sample.

A record analysed again (new weights, new filters) gets new model beats whose R peaks
may sit a few samples away from the old ones. Each reviewed beat (relabelled,
inserted, deleted or annotated) is matched to the nearest new beat within 150 ms,
as beat-by-beat scoring does, and its review state moves onto it. A reviewer's
inserted beat that the new analysis still misses stays an inserted beat; a beat the
reviewer labelled that the new analysis no longer finds is kept as a reviewer's beat
too (the reviewer said it is one). Every reviewed model beat that found no new beat
is returned in ``unmatched``, to be listed for the reviewer, never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from beatscope.evaluate.matching import match_beats
from beatscope.review.store import SOURCES, BeatRows

#: As in beat-by-beat scoring (AAMI EC57).
MATCH_WINDOW_S = 0.15
_REVIEW_FIELDS = ("reviewer_label", "source", "inserted", "deleted", "note", "reviewer",
                  "edited_at")


@dataclass
class Merged:
    rows: BeatRows  # the new analysis with the review laid over it
    unmatched: BeatRows  # reviewed model beats that found no new beat


def reviewed(rows: BeatRows) -> np.ndarray:
    """Beats that carry review work."""
    return (rows.reviewer_label != "") | rows.inserted | rows.deleted | (rows.note != "")


def merge_review(old: BeatRows, new: BeatRows, fs: float) -> Merged:
    """``new`` (fresh model beats) with ``old``'s review work moved onto it."""
    work = old.take(reviewed(old))
    out = new.copy()
    # inserted beats are the reviewer's own: they are matched only when the new
    # analysis now finds that beat itself
    match = match_beats(work.sample, out.sample, int(round(MATCH_WINDOW_S * fs)))
    hit = match >= 0
    for name in _REVIEW_FIELDS:
        getattr(out, name)[match[hit]] = getattr(work, name)[hit]
    out.inserted[match[hit]] = False  # the model found it this time
    missing = work.take(~hit)
    keep = missing.take(~missing.deleted)  # a deleted beat no longer found: nothing to delete
    keep.inserted[:] = True
    keep.source[:] = np.where(keep.source == 0, SOURCES.index("reviewer"), keep.source)
    keep.reviewer_label[:] = np.where(keep.reviewer_label == "", keep.model_label,
                                      keep.reviewer_label)
    if len(keep):
        merged = BeatRows(**{f.name: np.concatenate([getattr(out, f.name),
                                                     getattr(keep, f.name)])
                             for f in fields(BeatRows)})
        out = merged.take(np.argsort(merged.sample, kind="stable"))
    # an inserted beat the model still misses is simply still inserted: not news
    return Merged(out, missing.take(~missing.inserted))
