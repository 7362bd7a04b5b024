"""Rules on the classified beat sequence: ectopic runs, bigeminy/trigeminy, pauses.

All are vectorised over the whole sequence (a 24-h Holter has about 100,000
beats) and none reaches across an invalid RR interval (unreadable signal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .episodes import true_runs
from .sequence import BeatSequence


@dataclass(frozen=True)
class BeatSpans:
    """Stretches of the beat sequence: beats ``first[i]`` to ``last[i]`` inclusive."""

    first: np.ndarray
    last: np.ndarray

    def __len__(self) -> int:
        return len(self.first)

    @property
    def beats(self) -> np.ndarray:
        return self.last - self.first + 1

    def subset(self, keep: np.ndarray) -> BeatSpans:
        return BeatSpans(self.first[keep], self.last[keep])

    def mean_of(self, per_beat: np.ndarray) -> np.ndarray:
        """Mean of a per-beat quantity over each span."""
        total = np.concatenate([[0.0], np.cumsum(per_beat, dtype=np.float64)])
        return (total[self.last + 1] - total[self.first]) / np.maximum(self.beats, 1)


def break_before_beat(seq: BeatSequence) -> np.ndarray:
    """True for each beat whose preceding RR interval is invalid (or missing)."""
    return np.concatenate([[True], ~seq.rr_valid]) if len(seq) else np.zeros(0, dtype=bool)


def class_runs(seq: BeatSequence, beat_class: str) -> BeatSpans:
    """Every run of consecutive ``beat_class`` beats, isolated beats included."""
    first, stop = true_runs(seq.label == beat_class, break_before_beat(seq))
    return BeatSpans(first, stop - 1)


def pattern_runs(seq: BeatSequence, period: int, min_cycles: int) -> BeatSpans:
    """Bigeminy (``period`` 2: N-E) or trigeminy (3: N-N-E) lasting ``min_cycles`` cycles.

    E is an ectopic beat, S or V: the PTB-XL codes BIGU and TRIGU leave the origin
    open. A cycle ends on its ectopic beat at index ``i`` and needs N beats at
    ``i - period + 1 .. i - 1`` with no break inside; cycles chain when the next
    one ends ``period`` beats later with no break between them. Each span runs
    from the first N of its first cycle to the ectopic beat of its last.
    """
    n = len(seq)
    if n < period * min_cycles:
        return BeatSpans(np.zeros(0, np.int64), np.zeros(0, np.int64))
    ectopic = (seq.label == "V") | (seq.label == "S")
    normal = seq.label == "N"
    broken = break_before_beat(seq)
    breaks_so_far = np.concatenate([[0], np.cumsum(broken)])
    cycle_end = ectopic.copy()
    cycle_end[: period - 1] = False
    for back in range(1, period):
        cycle_end[period - 1:] &= normal[period - 1 - back: n - back]
    # No break between the cycle's first beat and its ectopic beat.
    inside = np.arange(period - 1, n)
    cycle_end[period - 1:] &= (breaks_so_far[inside + 1]
                               - breaks_so_far[inside - period + 2]) == 0
    firsts, lasts = [], []
    for phase in range(period):
        ends = np.arange(phase, n, period)
        # The link to the previous cycle: the beat before this cycle's first beat.
        link = broken[np.maximum(ends - period + 1, 0)]
        run_first, run_stop = true_runs(cycle_end[ends], link)
        long_enough = (run_stop - run_first) >= min_cycles
        firsts.append(ends[run_first[long_enough]] - period + 1)
        lasts.append(ends[run_stop[long_enough] - 1])
    first = np.concatenate(firsts)
    order = np.argsort(first, kind="stable")
    return BeatSpans(first[order], np.concatenate(lasts)[order])


def pause_intervals(seq: BeatSequence, pause_s: float) -> np.ndarray:
    """Indices of the valid RR intervals longer than ``pause_s`` (interval k: beat k to k+1)."""
    return np.flatnonzero(seq.rr_valid & (seq.rr_s > pause_s))

