"""The beats of the open record, filled block by block while the analysis streams.

The engine hands over classified beats in blocks (``on_beats``); the viewer
paints each block as it arrives. The store keeps them in preallocated arrays
that grow geometrically, so 100k beats arrive in ~15 cheap appends rather than
one big copy per block.
"""

from __future__ import annotations

import numpy as np

from beatscope.aami import AAMI_CLASSES


class BeatStore:
    """Beat positions (samples), AAMI labels and ensemble probabilities, in time order."""

    def __init__(self, fs: float):
        self.fs = float(fs)
        self._sample = np.zeros(0, np.int64)
        self._label = np.zeros(0, "<U1")
        self._prob = np.zeros(0, np.float32)  # probability of the label given
        self._edited = np.zeros(0, bool)  # the reviewer changed or inserted it
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def sample(self) -> np.ndarray:
        return self._sample[: self._n]

    @property
    def label(self) -> np.ndarray:
        return self._label[: self._n]

    @property
    def probability(self) -> np.ndarray:
        """Probability of each beat's label (NaN when no classifier ran)."""
        return self._prob[: self._n]

    @property
    def edited(self) -> np.ndarray:
        """True where the reviewer relabelled or inserted the beat."""
        return self._edited[: self._n]

    @classmethod
    def from_review(cls, rows, fs: float) -> BeatStore:
        """The beats as reviewed (a :class:`~beatscope.review.store.BeatRows`): deleted
        beats left out, the reviewer's labels, the model's probability of its own call."""
        live = rows.take(~rows.deleted)
        store = cls(fs)
        store._sample = live.sample.copy()
        store._label = live.label.astype("<U1")
        store._prob = _probability_of(live.model_label, live.probability)
        store._edited = live.edited
        store._n = len(live)
        return store

    def set_labels(self, index: np.ndarray, labels: np.ndarray, edited: np.ndarray) -> None:
        """Relabel beats in place (a review edit that neither adds nor removes beats)."""
        self._label[index] = labels
        self._edited[index] = edited

    def counts(self) -> dict[str, int]:
        labels = self.label
        return {c: int(np.count_nonzero(labels == c)) for c in AAMI_CLASSES}

    def extend(self, first: int, samples: np.ndarray, labels: np.ndarray,
               probabilities: np.ndarray | None) -> None:
        """Store beats ``first .. first+len(samples)``; blocks must arrive in order."""
        if first != self._n:
            raise ValueError(f"beat block starts at {first}, expected {self._n}")
        m = len(samples)
        self._reserve(self._n + m)
        end = self._n + m
        self._sample[self._n:end] = samples
        self._label[self._n:end] = labels
        self._edited[self._n:end] = False
        if probabilities is None:
            self._prob[self._n:end] = np.nan
        else:
            self._prob[self._n:end] = _probability_of(labels, probabilities)
        self._n = end

    def in_range(self, t0: float, t1: float) -> slice:
        """Index slice of the beats whose R peak lies in ``[t0, t1]`` seconds."""
        s = self.sample
        i0 = int(np.searchsorted(s, t0 * self.fs, side="left"))
        i1 = int(np.searchsorted(s, t1 * self.fs, side="right"))
        return slice(i0, i1)

    def nearest(self, t: float) -> int | None:
        """Index of the beat closest to time ``t`` (None when there are no beats)."""
        if self._n == 0:
            return None
        s = self.sample
        i = int(np.searchsorted(s, t * self.fs))
        if i == 0:
            return 0
        if i >= self._n:
            return self._n - 1
        return i if s[i] - t * self.fs < t * self.fs - s[i - 1] else i - 1

    def _reserve(self, size: int) -> None:
        if size <= len(self._sample):
            return
        capacity = max(size, 2 * len(self._sample), 1024)
        for name in ("_sample", "_label", "_prob", "_edited"):
            old = getattr(self, name)
            new = np.empty(capacity, old.dtype)
            new[: self._n] = old[: self._n]
            setattr(self, name, new)


def _probability_of(labels, probabilities) -> np.ndarray:
    """Each beat's probability of its own label, from its (n, 5) class vector."""
    labels = np.asarray(labels)
    index = np.zeros(len(labels), np.int64)
    for k, cls in enumerate(AAMI_CLASSES):  # vectorised: 100k beats in ~1 ms
        index[labels == cls] = k
    return np.asarray(probabilities)[np.arange(len(labels)), index].astype(np.float32)
