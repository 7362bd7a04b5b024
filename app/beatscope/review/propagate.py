"""Corrections that spread: the beats most like those a reviewer corrected.

Both features work on the analysis's beat embedding (``segment.templates``: shape
principal components and prematurity, fitted on this record), and both only
*propose*: the caller shows the beats and the reviewer applies them as one
undoable command, marked ``propagated``.

* :func:`similar_beats`, after one relabel: untouched beats still carrying the label
  the reviewer just corrected away from, whose nearest labelled neighbours in the
  embedding are mostly the beats just corrected.
* :func:`learn_from_corrections`, on demand: a patient-specific nearest-neighbour
  vote over the whole record in which every reviewer-labelled beat counts
  :data:`REVIEWER_WEIGHT` times a machine-labelled one. A beat changes only where
  the reviewer's beats outvote the machine's around it. It is a recalibration of
  the classifier to this patient; the shipped weights are never touched.

Beats the reviewer labelled, inserted or deleted are never proposed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from beatscope.review.store import SOURCES, BeatRows

#: Neighbours each beat is compared with.
NEIGHBOURS = 15
#: How many machine-labelled beats one reviewer-labelled beat outweighs.
REVIEWER_WEIGHT = 25.0
#: Weight of a beat the vote itself has relabelled: enough to carry a cluster the
#: reviewer's beats started, too little to carry the edge of another cluster.
PROPAGATED_WEIGHT = 3.0
#: Rounds of voting (each one reaches one neighbourhood further).
MAX_PASSES = 8
#: Share of the weighted vote the new label needs.
MAJORITY = 0.6
#: Reviewer-labelled neighbours that must agree, so that one stray click spreads to
#: no more than its immediate twins.
MIN_VOTES = 2


@dataclass(frozen=True)
class BeatEmbedding:
    """The embedding of the analysed beats, found by sample (not row): inserted beats
    have none, deleted ones keep theirs."""

    sample: np.ndarray  # (n,) int64, sorted
    vector: np.ndarray  # (n, d) float32

    @classmethod
    def of(cls, result) -> BeatEmbedding | None:
        templates = getattr(result, "templates", None)
        if templates is None:
            return None
        return cls(np.asarray(result.beats.sample, np.int64), templates.embedding)

    def rows_of(self, samples: np.ndarray) -> np.ndarray:
        """Row of each sample, -1 where the sample has no embedding."""
        at = np.clip(np.searchsorted(self.sample, samples), 0, max(len(self.sample) - 1, 0))
        found = (len(self.sample) > 0) & (self.sample[at] == samples)
        return np.where(found, at, -1)


@dataclass(frozen=True)
class Proposal:
    """Beats to relabel, grouped by the label proposed."""

    by_label: dict[str, np.ndarray]  # label -> samples

    @property
    def count(self) -> int:
        return int(sum(len(s) for s in self.by_label.values()))

    def describe(self, noun: str = "similar beat") -> str:
        parts = [f"{len(s)} \u2192 {label}" for label, s in sorted(self.by_label.items())]
        plural = "s" if self.count != 1 else ""
        return f"{self.count} {noun}{plural} ({', '.join(parts)})"


def _vote(embedding: BeatEmbedding, rows: BeatRows, teachers: np.ndarray,
          candidates: np.ndarray, neighbours: int = NEIGHBOURS) -> Proposal:
    """For each candidate row of ``rows``, the weighted label vote of its nearest
    beats: reviewer-taught rows (``teachers``) weigh REVIEWER_WEIGHT, beats this vote
    has already relabelled PROPAGATED_WEIGHT, the others 1. Repeated while it
    relabels more, so a correction floods its own cluster but stops at the border
    of another one, whose own beats outvote the few relabelled ones at its edge."""
    from sklearn.neighbors import NearestNeighbors

    labels = rows.label.copy()
    pos = embedding.rows_of(rows.sample)
    usable = (pos >= 0) & ~rows.deleted
    candidates = candidates[usable[candidates]]
    if len(candidates) == 0 or not (usable & teachers).any():
        return Proposal({})
    pool = np.flatnonzero(usable)  # beats that vote
    k = min(neighbours + 1, len(pool))
    finder = NearestNeighbors(n_neighbors=k).fit(embedding.vector[pos[pool]])
    _, near = finder.kneighbors(embedding.vector[pos[candidates]])
    voters = pool[near]  # (m, k) row indices into rows
    voters_self = voters == candidates[:, None]
    taught_labels = np.unique(rows.label[teachers & usable])
    weight_of = np.where(teachers, REVIEWER_WEIGHT, 1.0)
    sure = teachers.copy()  # voters that count towards MIN_VOTES
    changed = np.zeros(len(rows), bool)
    for _ in range(MAX_PASSES):
        weight = weight_of[voters]
        weight[voters_self] = 0.0  # a beat does not vote for itself
        voter_labels = labels[voters]
        total = weight.sum(axis=1)
        flipped = False
        for label in taught_labels:
            agree = voter_labels == label
            share = (weight * agree).sum(axis=1) / np.maximum(total, 1e-9)
            votes = (agree & sure[voters] & ~voters_self).sum(axis=1)
            wins = (share >= MAJORITY) & (votes >= MIN_VOTES) & (labels[candidates] != label)
            if wins.any():
                rows_won = candidates[wins]
                labels[rows_won] = label
                changed[rows_won] = True
                weight_of[rows_won] = PROPAGATED_WEIGHT
                sure[rows_won] = True
                flipped = True
        if not flipped:
            break
    changed &= labels != rows.label
    return Proposal({str(label): rows.sample[changed & (labels == label)]
                     for label in taught_labels if (changed & (labels == label)).any()})


def _untouched(rows: BeatRows) -> np.ndarray:
    return (rows.source == SOURCES.index("model")) & ~rows.inserted & ~rows.deleted


def similar_beats(embedding: BeatEmbedding, rows: BeatRows, corrected: np.ndarray,
                  old_labels: set[str]) -> Proposal:
    """Untouched beats labelled one of ``old_labels`` that look like the beats just
    ``corrected`` (samples), by the vote of the corrected beats alone."""
    teachers = np.isin(rows.sample, corrected)
    candidates = np.flatnonzero(_untouched(rows) & np.isin(rows.label, list(old_labels)))
    return _vote(embedding, rows, teachers, candidates)


def learn_from_corrections(embedding: BeatEmbedding, rows: BeatRows) -> Proposal:
    """Every untouched beat the reviewer's labels, weighted against the machine's,
    would relabel. Empty when the reviewer relabelled nothing."""
    teachers = (rows.source == SOURCES.index("reviewer")) & (rows.reviewer_label != "") \
        & ~rows.deleted
    if not teachers.any():
        return Proposal({})
    # Only beats carrying a label the reviewer has corrected away from can be wrong
    # in a way the corrections tell about.
    corrected_from = set(rows.model_label[teachers & rows.relabelled].tolist())
    candidates = np.flatnonzero(_untouched(rows) & np.isin(rows.label, list(corrected_from)))
    return _vote(embedding, rows, teachers, candidates)
