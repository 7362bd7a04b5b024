"""R-peak detection on any number of leads at any sampling rate (100-1000 Hz).

``detect_r_peaks`` returns beat positions (R peaks) in the record's own sample
index. See ``feature`` (multi-lead QRS feature), ``decision`` (adaptive
thresholds) and ``locate`` (placing the mark on the R peak).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from beatscope.detect.config import DetectorConfig
from beatscope.detect.decision import decide
from beatscope.detect.feature import QrsFeature, compute_feature
from beatscope.detect.locate import locate_r_peaks

__all__ = ["DetectorConfig", "QrsFeature", "compute_feature", "detect_r_peaks",
           "lead_weights_from_quality"]


def lead_weights_from_quality(flat: np.ndarray, saturated: np.ndarray,
                              noisy: np.ndarray) -> np.ndarray:
    """Per-second lead weights (n_seconds, n_leads) from a quality index's flags.

    Flat or clipped seconds carry no beat information (0). Noisy seconds keep
    half weight: the detector's own noise weighting decides how far to trust them.
    """
    w = np.ones(np.shape(flat), dtype=np.float32)
    w[noisy] = 0.5
    w[flat | saturated] = 0.0
    return w


def detect_r_peaks(x: np.ndarray, fs: float, config: DetectorConfig | None = None,
                   lead_quality: np.ndarray | None = None, *,
                   progress: Callable[[float], None] | None = None,
                   should_cancel: Callable[[], bool] | None = None) -> np.ndarray:
    """R-peak sample indices (int64, sorted, unique) of an ECG in mV.

    ``x`` is (n_samples, n_leads) or 1-D. ``lead_quality`` (n_seconds, n_leads),
    0..1, down-weights leads where a quality index found them unreadable; where
    every lead is unusable no beat is reported rather than a guessed one.
    ``progress(fraction)`` and ``should_cancel()`` are called between chunks.
    """
    config = config or DetectorConfig()
    x = np.asarray(x)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[0] < int(0.5 * fs):
        return np.zeros(0, dtype=np.int64)
    def sub_progress(lo: float, hi: float):
        return None if progress is None else (lambda f: progress(lo + (hi - lo) * f))

    feature = compute_feature(x, fs, config, lead_quality, sub_progress(0.0, 0.8), should_cancel)
    qrs = decide(feature.values, fs, config)
    if progress is not None:
        progress(0.9)
    return locate_r_peaks(x, fs, qrs, feature)
