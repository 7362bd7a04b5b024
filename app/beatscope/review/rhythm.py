"""Rhythm findings on the reviewed beats: the same rules on the beat sequence as the
reviewer left it (deleted beats out, inserted beats in, the reviewer's labels).

``derive_rhythm`` is pure; the analysis keeps what else it needs
(:class:`~beatscope.analysis.result.RhythmInputs`: the unreadable stretches and the
rhythm model's window probabilities), so a 24-h record's findings are derived again
in about a second without re-running the engine.
"""

from __future__ import annotations

import numpy as np

from beatscope.aami import AAMI_CLASSES
from beatscope.review.store import BeatRows
from beatscope.rhythm import derive_rhythm


def reviewed_rhythm(rows: BeatRows, fs: float, duration_s: float, inputs=None) -> dict:
    """``derive_rhythm`` on ``rows`` as reviewed; ``inputs``: the analysis's
    RhythmInputs (None: no unreadable stretches, no rhythm model)."""
    keep = ~rows.deleted
    labels = rows.label[keep]
    probability = rows.probability[keep].copy()
    if np.isnan(rows.probability).all():  # no classifier ran
        probability = None
    else:
        # a reviewer's label is certain: its run and pattern episodes get full
        # confidence, as the model's most confident calls do
        certain = (rows.reviewer_label[keep] != "") | np.isnan(probability).any(axis=1)
        one_hot = (labels[certain, None] == np.asarray(AAMI_CLASSES)[None, :])
        probability[certain] = one_hot.astype(np.float32)
    unreadable = getattr(inputs, "unreadable_intervals", None)
    model = getattr(inputs, "model_windows", None)
    return derive_rhythm(rows.sample[keep], labels, fs, duration_s, unreadable,
                         probabilities=probability, model=model)
