"""A slow baseline estimate per lead, so the viewer can draw traces level.

Raw recordings drift (respiration, electrode motion) and carry DC offsets of
several millivolts; drawn as they are, stacked leads wander out of their bands.
The analysis removes baseline with full-rate filters, but keeping a filtered
copy of a 24-h record just for display would cost hundreds of megabytes.
Instead the baseline is kept at 10 Hz (a few MB for 24 h) and subtracted from
whatever slice is drawn: exact enough for reading, since baseline wander lives
below 0.5 Hz.

Estimate: the median of each 100-ms block (robust to the QRS, which fills at
most about a third of a block), then a running median over 1.1 s that skips
over whole complexes, as the classic two-stage median baseline filters do.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

BLOCK_S = 0.1
SMOOTH_BLOCKS = 11


class Baseline:
    """Per-lead baseline sampled every ``BLOCK_S`` seconds (block centres)."""

    def __init__(self, signals: np.ndarray, fs: float):
        self.fs = float(fs)
        n, n_leads = signals.shape
        block = max(1, int(round(BLOCK_S * fs)))
        n_blocks = max(1, n // block)
        self.block_s = block / self.fs
        self.t = (np.arange(n_blocks) + 0.5) * self.block_s
        self.values = np.zeros((n_leads, n_blocks), np.float32)
        if n < block:  # shorter than one block: the lead's median is its baseline
            self.values[:, 0] = np.median(signals, axis=0) if n else 0.0
            return
        for j in range(n_leads):  # one lead at a time: 2-D median filters are far slower
            blocks = np.asarray(signals[: n_blocks * block, j]).reshape(n_blocks, block)
            medians = np.median(blocks, axis=1)
            self.values[j] = median_filter(medians, size=SMOOTH_BLOCKS, mode="nearest")

    def at(self, lead: int, t_seconds: np.ndarray) -> np.ndarray:
        """Baseline of ``lead`` at the given times (linear between block centres)."""
        return np.interp(t_seconds, self.t, self.values[lead]).astype(np.float32)
