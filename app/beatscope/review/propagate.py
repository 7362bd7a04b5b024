"""Corrections that spread: the beats most like those a reviewer corrected.

Both features work on the analysis's beat embedding (``segment.templates``: shape
principal components and prematurity, fitted on this record), and both only
*propose*: the caller shows the beats and the reviewer applies them as one
undoable command, marked ``propagated``.

* :func:`similar_beats`, after one relabel: untouched beats still carrying the label
  the reviewer just corrected away from, whose nearest labelled neighbours in the
  embedding are mostly the beats just corrected.
* :func:`learn_from_corrections`, on demand, over the whole record, two learners
  whose proposals are joined (the vote's label wins where both propose):

  - a patient-specific nearest-neighbour vote in which every reviewer-labelled beat
    counts :data:`REVIEWER_WEIGHT` times a machine-labelled one: a beat changes only
    where the reviewer's beats outvote the machine's around it;
  - a patient-specific head (``review.patient_head``): a logistic regression
    trained, for this request only, on this record's beats, the reviewer's labels
    weighted far above the machine's, proposing where it is confident.

  Chosen on MIT-BIH DS1 (``bench/review_effort.py``, ``templates + learn``, actions
  in all to 99.5 % agreement): joined 326, vote alone 334, head alone 363 (with
  spans 226 against 229). On DS2, once: joined 380, vote alone 383 (with spans 327
  against 326): a small gain, not a large one. The shipped weights are never
  touched.

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
#: Threads the neighbour search uses (the engine process runs on 2 cores).
NN_JOBS = 2
#: Candidate beats from which the search is worth the threads.
PARALLEL_FROM = 20_000


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
    # a k-d tree: exact, and on 100k beats in 19 dimensions ~3x faster than the
    # brute force "auto" picks there; threads only where the search is long
    jobs = NN_JOBS if len(candidates) >= PARALLEL_FROM else None
    finder = NearestNeighbors(n_neighbors=k, algorithm="kd_tree", n_jobs=jobs).fit(
        embedding.vector[pos[pool]])
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
    would relabel: by the neighbour vote, and where the vote proposes nothing, by the
    patient-specific head. Empty when the reviewer relabelled nothing."""
    teachers = (rows.source == SOURCES.index("reviewer")) & (rows.reviewer_label != "") \
        & ~rows.deleted
    if not teachers.any():
        return Proposal({})
    # Only beats carrying a label the reviewer has corrected away from can be wrong
    # in a way the corrections tell about.
    corrected_from = set(rows.model_label[teachers & rows.relabelled].tolist())
    candidates = np.flatnonzero(_untouched(rows) & np.isin(rows.label, list(corrected_from)))
    voted = _vote(embedding, rows, teachers, candidates)
    return _add_head(embedding, rows, teachers, candidates, voted)


def _add_head(embedding: BeatEmbedding, rows: BeatRows, teachers: np.ndarray,
              candidates: np.ndarray, voted: Proposal) -> Proposal:
    """``voted`` plus what the patient-specific head proposes for the candidates the
    vote left alone."""
    from beatscope.review.patient_head import propose

    pos = embedding.rows_of(rows.sample)
    usable = (pos >= 0) & ~rows.deleted
    taken = np.zeros(len(rows), bool)
    for samples in voted.by_label.values():
        taken |= np.isin(rows.sample, samples)
    candidates = candidates[usable[candidates] & ~taken[candidates]]
    if len(candidates) == 0 or not (usable & teachers).any():
        return voted
    pool = np.flatnonzero(usable)  # beats the head is trained on
    at = np.full(len(rows), -1)
    at[pool] = np.arange(len(pool))
    labels = rows.label
    proposed = propose(embedding.vector[pos[pool]], labels[pool], teachers[pool],
                       (rows.source == SOURCES.index("propagated"))[pool], at[candidates],
                       np.unique(labels[teachers & usable]))
    by_label = dict(voted.by_label)
    for label in np.unique(proposed[proposed != ""]):
        extra = rows.sample[candidates[proposed == label]]
        by_label[str(label)] = np.sort(np.concatenate(
            [by_label.get(str(label), np.zeros(0, np.int64)), extra]))
    return Proposal(by_label)
