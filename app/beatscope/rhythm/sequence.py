"""The beat sequence the rules read: readable beats, their classes and RR intervals.

Beats inside unreadable signal are dropped (an R peak found in noise is as likely
an artefact as a beat), and an RR interval that spans unreadable signal is marked
invalid: it measures the gap, not the heart, so it must not become a pause, a
rate or an irregularity. Every rule treats an invalid interval as a break in the
sequence: no run, pattern or window reaches across it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from beatscope.aami import AAMI_CLASSES

from .episodes import Track
from .intervals import Intervals, merged_intervals, overlap_count


@dataclass(frozen=True)
class BeatSequence:
    time_s: np.ndarray  # float64 (n,), readable beats only, increasing
    label: np.ndarray  # '<U1' (n,), AAMI class
    #: (n,) the classifier's probability of each beat's own label; None: labels as given
    label_probability: np.ndarray | None
    rr_s: np.ndarray  # float64 (n - 1,), interval k runs from beat k to beat k + 1
    rr_valid: np.ndarray  # bool (n - 1,), False where the interval spans unreadable signal
    #: False when every beat is 'Q' (no classifier ran): ectopy rules are skipped
    classified: bool

    def __len__(self) -> int:
        return len(self.time_s)

    @classmethod
    def from_beats(cls, samples: np.ndarray, labels: np.ndarray | Sequence[str], fs: float,
                   unreadable_s: Intervals = (),
                   probabilities: np.ndarray | None = None) -> BeatSequence:
        """Build from R-peak sample indices at ``fs``, one AAMI label per beat, and
        optionally the classifier's ``(n, 5)`` class probabilities (AAMI order)."""
        samples = np.asarray(samples, dtype=np.int64)
        label = np.asarray(labels, dtype="<U1")
        if label.shape != samples.shape:
            raise ValueError(f"{len(label)} labels for {len(samples)} beats")
        order = np.argsort(samples, kind="stable")
        time_s = samples[order] / float(fs)
        label = label[order]
        own_probability = None
        if probabilities is not None:
            probabilities = np.asarray(probabilities, dtype=np.float64)[order]
            column = np.zeros(len(label), dtype=np.int64)
            for index, name in enumerate(AAMI_CLASSES):
                column[label == name] = index
            own_probability = probabilities[np.arange(len(label)), column]
        unreadable = merged_intervals(unreadable_s)
        readable = overlap_count(unreadable, time_s, time_s) == 0
        time_s, label = time_s[readable], label[readable]
        if own_probability is not None:
            own_probability = own_probability[readable]
        rr_valid = overlap_count(unreadable, time_s[:-1], time_s[1:]) == 0
        return cls(time_s=time_s, label=label, label_probability=own_probability,
                   rr_s=np.diff(time_s), rr_valid=rr_valid,
                   classified=bool(len(label)) and not bool(np.all(label == "Q")))

    def with_labels(self, label: np.ndarray) -> BeatSequence:
        return replace(self, label=np.asarray(label, dtype="<U1"))

    def interval_track(self, score: np.ndarray) -> Track:
        """A Track with one segment per valid RR interval (invalid ones are gaps)."""
        valid = self.rr_valid
        return Track(self.time_s[:-1][valid], self.time_s[1:][valid],
                     np.asarray(score, dtype=np.float64)[valid])

    def probability_of_label(self) -> np.ndarray:
        """Each beat's probability of its own label; 1 where no probabilities were given."""
        if self.label_probability is None:
            return np.ones(len(self))
        return self.label_probability

