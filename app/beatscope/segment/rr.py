"""RR-interval features of every beat (rhythm context for the classifier)."""

from __future__ import annotations

import numpy as np

from beatscope.segment.beats import DEFAULT_RR_S, _as_peaks
from beatscope.segment.context import ContextPlan, context_plan

#: Number of RR intervals averaged into the local RR.
LOCAL_WINDOW = 10

RR_FEATURE_NAMES: tuple[str, ...] = (
    "pre_rr_s",  # R_i - R_{i-1}, seconds
    "post_rr_s",  # R_{i+1} - R_i, seconds
    "local_rr_s",  # mean of the 10 intervals before pre-RR (see rr_features)
    "context_median_rr_s",  # median RR of the beats within 90 s (segment.context)
    "pre_over_local",
    "post_over_local",
    "pre_over_post",
    "local_over_context",
)


def rr_features(r_peaks: np.ndarray, fs: float, window: int = LOCAL_WINDOW,
                plan: ContextPlan | None = None) -> np.ndarray:
    """``(n_beats, len(RR_FEATURE_NAMES))`` float32 RR features; never NaN or inf.

    * pre/post RR: intervals to the previous/next R peak, in seconds. The first
      beat's pre-RR is its post-RR and the last beat's post-RR its pre-RR (the same
      convention as :func:`~beatscope.segment.segment_beats`); a lone beat gets
      :data:`~beatscope.segment.beats.DEFAULT_RR_S`.
    * local RR: mean of the ``window`` intervals immediately *preceding* the beat's
      pre-RR, so the beat's own (possibly premature or compensatory) intervals never
      enter it. Near the record's start the window slides forward, still leaving out
      the beat's own two intervals; with too few intervals it falls back to the
      context RR.
    * context RR: the median RR of the beats within about 90 s of the beat (its
      anchor's window, :func:`~beatscope.segment.context.context_median_rr`). Not the
      whole record's: on a 24-h record that mixes hours of other rates into a beat's
      features.
    * ratios pre/local, post/local, pre/post, local/context.

    Intervals are floored at one sample, so duplicated peaks cannot divide by zero.
    """
    r = _as_peaks(r_peaks)
    n = r.size
    k = len(RR_FEATURE_NAMES)
    if n == 0:
        return np.zeros((0, k), dtype=np.float32)
    fs = float(fs)
    if n == 1:
        rr = np.zeros(0)
        pre = post = np.array([DEFAULT_RR_S])
        context = np.array([DEFAULT_RR_S])
    else:
        rr = np.maximum(np.diff(r), 1).astype(np.float64) / fs
        pre = np.concatenate([rr[:1], rr])
        post = np.concatenate([rr, rr[-1:]])
        # the caller's plan when it has one (the engine needs it for the templates too)
        plan = plan if plan is not None else context_plan(r, fs)
        context = plan.median_rr_s[plan.anchor_of_beat]

    m = rr.size  # number of intervals; beat i owns rr[i-1] (pre) and rr[i] (post)
    w = max(1, int(window))
    i = np.arange(n)
    start = np.clip(i - 1 - w, 0, max(0, m - w - 2))
    stop = np.minimum(m, start + w + 2)
    csum = np.concatenate([[0.0], np.cumsum(rr)])
    total = csum[stop] - csum[start]
    count = (stop - start).astype(np.float64)
    own_pre = (i >= 1) & (i - 1 >= start) & (i - 1 < stop)
    own_post = (i < m) & (i >= start) & (i < stop)
    rr_pad = np.concatenate([rr, [0.0]])  # rr_pad[i] valid when i < m
    total -= np.where(own_pre, rr_pad[np.maximum(i - 1, 0)], 0.0)
    total -= np.where(own_post, rr_pad[np.minimum(i, m)], 0.0)
    count -= own_pre.astype(np.float64) + own_post.astype(np.float64)
    local = np.where(count > 0, total / np.maximum(count, 1.0), context)
    local = np.maximum(local, 1.0 / fs)  # guards rounding; intervals are >= 1 sample

    feats = np.empty((n, k), dtype=np.float64)
    feats[:, 0] = pre
    feats[:, 1] = post
    feats[:, 2] = local
    feats[:, 3] = context
    feats[:, 4] = pre / local
    feats[:, 5] = post / local
    feats[:, 6] = pre / post
    feats[:, 7] = local / context
    return feats.astype(np.float32)
