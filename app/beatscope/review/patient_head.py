"""A patient-specific head, trained on demand on one record's reviewed beats.

A multinomial logistic regression over the record's standardised beat embedding
(``segment.templates.embed``: shape principal components, prematurity and
compensation, the classifier's square-rooted class probabilities), trained on every
analysed beat of the record: the beats the reviewer labelled weigh
:data:`REVIEWER_WEIGHT`, beats whose proposed label the reviewer accepted
:data:`PROPAGATED_WEIGHT`, and the machine-labelled beats 1 (the classifier's labels
as a weak prior, so that the head departs from them only where the reviewer's
labels say so). It is fitted afresh for each request, seeded, and kept nowhere: the
shipped weights are never touched.

It proposes, for a candidate beat, the label it finds most probable when that
probability reaches :data:`THRESHOLD`, the label differs from the beat's own, and it
is a label the reviewer has given. ``review.propagate.learn_from_corrections`` adds
these to the nearest-neighbour vote's proposal (a vote the head cannot overrule).
Chosen on MIT-BIH DS1 with ``bench/review_effort.py`` (logistic regression, a
one-layer MLP and gradient-boosted trees tried: every head alone did worse than the
vote alone, and only the logistic one did better beside it).
"""

from __future__ import annotations

import warnings

import numpy as np

#: Weight of one reviewer-labelled beat (a machine-labelled one weighs 1).
REVIEWER_WEIGHT = 25.0
#: Weight of a beat relabelled by an accepted proposal.
PROPAGATED_WEIGHT = 3.0
#: Most beats of each kind (reviewer, propagated, machine) trained on: a seeded
#: random subsample beyond it, reweighted so the kind keeps its total weight (bounds
#: the time on a 24-h record).
TRAIN_CAP = 20_000
#: Probability the head needs before it proposes a label.
THRESHOLD = 0.8
#: Inverse L2 strength of the logistic regression.
C = 1.0
MAX_ITER = 300
SEED = 0


def propose(vector: np.ndarray, labels: np.ndarray, teachers: np.ndarray,
            propagated: np.ndarray, candidates: np.ndarray,
            taught: np.ndarray) -> np.ndarray:
    """The label the head proposes for each of ``candidates`` (indices into the
    ``vector`` rows), "" where it proposes none.

    ``vector`` (n, d) is the embedding of the beats that may be trained on,
    ``labels`` (n,) their current labels, ``teachers`` / ``propagated`` (n,) bool
    which of them the reviewer labelled / accepted a proposal for, ``taught`` the
    labels the head may propose."""
    from sklearn.linear_model import LogisticRegression

    out = np.full(len(candidates), "", dtype=labels.dtype if len(labels) else "<U1")
    if len(candidates) == 0 or not teachers.any():
        return out
    rng = np.random.default_rng(SEED)
    weight = np.zeros(len(labels))
    propagated = propagated & ~teachers
    for kind, w in ((teachers, REVIEWER_WEIGHT), (propagated, PROPAGATED_WEIGHT),
                    (~teachers & ~propagated, 1.0)):
        members = np.flatnonzero(kind)
        if len(members) > TRAIN_CAP:
            keep = rng.choice(members, TRAIN_CAP, replace=False)
            weight[keep] = w * len(members) / TRAIN_CAP
        else:
            weight[members] = w
    train = np.flatnonzero(weight > 0)
    classes, y = np.unique(labels[train], return_inverse=True)
    if len(classes) < 2:
        return out
    x = np.asarray(vector, np.float64)
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0)
    std[std < 1e-9] = 1.0
    head = LogisticRegression(C=C, max_iter=MAX_ITER, random_state=SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an unconverged fit still ranks the labels
        head.fit((x[train] - mean) / std, y, sample_weight=weight[train] / weight[train].mean())
    p = head.predict_proba((x[candidates] - mean) / std)
    best = p.argmax(axis=1)
    label = classes[best]
    sure = (p[np.arange(len(candidates)), best] >= THRESHOLD) \
        & (label != labels[candidates]) & np.isin(label, taught)
    out[sure] = label[sure]
    return out
