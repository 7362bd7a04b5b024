"""The model's call on one beat the detector missed (a reviewer inserts it).

The classifier reads a beat's window, its RR intervals and the local reference beat
of the minutes around it (:mod:`beatscope.segment.context`), so an inserted beat is
classified on an excerpt of the record around it with every other beat of that
excerpt given: ``analyze`` with ``options.beats`` skips detection and classifies
exactly those. The excerpt reaches further than the context windows and the
filters' edge effects, so the beat is seen as it would be in the whole record.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from beatscope.analysis.pipeline import AnalysisOptions
from beatscope.io import Record

#: Seconds of record taken on each side of the beat: the local context's two 90-s
#: half-windows plus a margin for the filters.
EXCERPT_HALF_S = 200.0


def beat_excerpt(record: Record, beats: np.ndarray, sample: int,
                 options: AnalysisOptions,
                 half_s: float = EXCERPT_HALF_S) -> tuple[Record, AnalysisOptions, int]:
    """(excerpt, options to analyse it with, the excerpt's first sample in the record).

    ``beats``: the record's beats (the inserted one included or not); the excerpt's
    analysis classifies those inside it, plus ``sample``, and no rhythm model runs.
    """
    fs = float(record.fs)
    lo = max(0, int(sample - half_s * fs))
    hi = min(record.n_samples, int(sample + half_s * fs) + 1)
    beats = np.asarray(beats, np.int64)
    inside = beats[(beats >= lo) & (beats < hi)]
    local = np.union1d(inside, [int(sample)]) - lo
    mask = None if record.invalid_mask is None else np.array(record.invalid_mask[lo:hi])
    excerpt = Record(name=f"{record.name} around sample {int(sample)}",
                     signals=np.array(record.signals[lo:hi], dtype=np.float32), fs=fs,
                     lead_names=list(record.lead_names), units=list(record.units),
                     invalid_mask=mask)
    return excerpt, replace(options, beats=local, rhythm_model=None, keep_windows=False,
                            templates=False), lo


def call_of(result, sample_in_excerpt: int) -> tuple[str, np.ndarray | None]:
    """The label and 5-class probabilities the analysis of an excerpt gave the beat."""
    beats = result.beats
    i = int(np.searchsorted(beats.sample, sample_in_excerpt))
    if i >= len(beats) or int(beats.sample[i]) != int(sample_in_excerpt):
        raise ValueError(f"the excerpt's analysis has no beat at {sample_in_excerpt}")
    probability = None if beats.probability is None else np.array(beats.probability[i])
    return str(beats.label[i]), probability
