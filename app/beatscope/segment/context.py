"""Patient context for the beat classifier: each beat beside the patient's usual beat.

Morphology alone does not transfer between patients: a right bundle branch block
patient's normal beats look nothing like another patient's normal beats, and
are easily taken for ventricular ones. What does transfer is how a beat differs
from the same patient's dominant beat. ``with_template`` appends, for every
beat, its difference from the median beat of its block (the beats are
streamed in blocks of ``TEMPLATE_BLOCK``, about two hours of Holter, so the
template follows slow changes and a 24-h record never needs all beats at once).
Training and inference both use this one function.
"""

from __future__ import annotations

import numpy as np

#: Beats per template block; equals ``iter_segment_beats``' default chunk so
#: that a streamed record and a whole one get the same templates.
TEMPLATE_BLOCK = 8192


def with_template(windows: np.ndarray) -> np.ndarray:
    """(m, leads, L) beat windows -> (m, 2 * leads, L): the beats, then beat - median beat."""
    w = np.asarray(windows, dtype=np.float32)
    if len(w) == 0:
        return np.zeros((0, 2 * w.shape[1], w.shape[2]), np.float32)
    return np.concatenate([w, w - median_beat(w)], axis=1)


#: Window samples per median call: numpy's partition holds the GIL, and one call
#: over a whole 8192-beat block froze the viewer's GUI thread for ~50 ms.
_MEDIAN_SLICE = 50


def median_beat(w: np.ndarray) -> np.ndarray:
    """(1, leads, L) median over the beats, computed in slices of the window.

    Identical to ``np.median(w, axis=0, keepdims=True)``: each sample's median
    is independent of the others.
    """
    out = np.empty((1, *w.shape[1:]), np.float32)
    for j in range(0, w.shape[2], _MEDIAN_SLICE):
        out[..., j:j + _MEDIAN_SLICE] = np.median(w[..., j:j + _MEDIAN_SLICE], axis=0,
                                                  keepdims=True)
    return out


def with_template_blocks(windows: np.ndarray, block: int = TEMPLATE_BLOCK) -> np.ndarray:
    """``with_template`` over consecutive blocks of ``block`` beats, as the engine streams them."""
    parts = [with_template(windows[i:i + block]) for i in range(0, len(windows), block)]
    if not parts:
        return with_template(windows)
    return np.concatenate(parts)
