"""Beat segmentation: R-aligned beat windows and RR-interval features.

Inputs are the denoised signal at 360 Hz (``(n_samples, n_leads)``) and the R-peak
sample indices on that grid; see :mod:`beatscope.segment.beats` for the window
layout (R peak at index 160 of 400, zero padding, per-beat z-score).
"""

from beatscope.segment.beats import (
    BEAT_LENGTH,
    DEFAULT_RR_S,
    R_INDEX,
    beat_extents,
    iter_segment_beats,
    segment_beats,
)
from beatscope.segment.context import (
    CONTEXT_COMPATIBLE,
    CONTEXT_VERSION,
    ContextPlan,
    context_description,
    context_plan,
    iter_with_local_template,
    qrs_similarity,
    reference_change,
    reference_similarity,
    with_local_template,
)
from beatscope.segment.rr import LOCAL_WINDOW, RR_FEATURE_NAMES, rr_features

__all__ = [
    "CONTEXT_COMPATIBLE",
    "CONTEXT_VERSION",
    "ContextPlan",
    "BEAT_LENGTH",
    "DEFAULT_RR_S",
    "LOCAL_WINDOW",
    "RR_FEATURE_NAMES",
    "R_INDEX",
    "beat_extents",
    "context_description",
    "context_plan",
    "iter_with_local_template",
    "iter_segment_beats",
    "qrs_similarity",
    "reference_change",
    "reference_similarity",
    "rr_features",
    "segment_beats",
    "with_local_template",
]
