"""The patient-specific head of "learn from my corrections" (review/patient_head.py,
joined to the neighbour vote in review/propagate.py)."""

from __future__ import annotations

import numpy as np
import pytest

from beatscope.review import propagate
from beatscope.review.patient_head import propose
from beatscope.review.propagate import BeatEmbedding, Proposal, learn_from_corrections
from beatscope.review.store import SOURCES, BeatRows

A, B1, B2, C = slice(0, 300), slice(300, 340), slice(340, 400), slice(400, 500)


def _blobs(seed: int = 0) -> np.ndarray:
    """Blob A (300 beats); B1 (40) and, one unit beside it, B2 (60); C (100) far
    from both; in 6 dimensions, spread 0.3."""
    rng = np.random.default_rng(seed)
    out = np.zeros((500, 6), np.float32)
    away = np.array([1, -1, 1, 0, 0, 0])
    for part, centre in ((A, 0.0), (B1, 4.0), (B2, 5.0), (C, -4.0)):
        out[part] = rng.normal(0.0, 0.3, (part.stop - part.start, 6)) + centre * away
    return out


def _case() -> tuple[BeatEmbedding, BeatRows, np.ndarray]:
    """The machine called blob A N and B1, B2 and C S; B1 and B2 are really V, and the
    reviewer relabelled B1 (a template) V."""
    labels = np.array(["N"] * 300 + ["S"] * 200)
    rows = BeatRows.from_model(np.arange(500, dtype=np.int64) * 300, labels)
    taught = np.arange(B1.start, B1.stop)
    rows.reviewer_label[taught] = "V"
    rows.source[taught] = SOURCES.index("reviewer")
    return BeatEmbedding(rows.sample, _blobs()), rows, taught


@pytest.fixture
def head_only(monkeypatch):
    """learn_from_corrections with the neighbour vote switched off."""
    monkeypatch.setattr(propagate, "_vote", lambda *args, **kwargs: Proposal({}))


def test_head_relabels_the_blob_beside_the_corrected_one_and_nothing_else(head_only):
    embedding, rows, _ = _case()
    proposal = learn_from_corrections(embedding, rows)
    assert set(proposal.by_label) == {"V"}
    assert np.array_equal(proposal.by_label["V"], rows.sample[B2])  # all 60, sorted
    # deterministic: the same request, the same proposal
    again = learn_from_corrections(embedding, rows)
    assert np.array_equal(again.by_label["V"], proposal.by_label["V"])


def test_head_never_proposes_reviewed_deleted_or_inserted_beats(head_only):
    embedding, rows, taught = _case()
    rows.deleted[[341, 342]] = True
    rows.inserted[343] = True
    rows.reviewer_label[344] = "S"  # the reviewer confirmed one S beat of blob B2
    rows.source[344] = SOURCES.index("reviewer")
    proposed = learn_from_corrections(embedding, rows).by_label["V"]
    assert not np.isin(proposed, rows.sample[[341, 342, 343, 344]]).any()
    assert not np.isin(proposed, rows.sample[taught]).any()
    assert len(proposed) == 60 - 4


def test_head_needs_the_reviewer():
    embedding, rows, _ = _case()
    untouched = BeatRows.from_model(rows.sample, rows.model_label)
    assert learn_from_corrections(embedding, untouched).count == 0
    labels = rows.label
    nobody = np.zeros(len(rows), bool)
    assert (propose(embedding.vector, labels, nobody, nobody, np.arange(len(rows)),
                    np.array(["V"])) == "").all()


def test_vote_and_head_together_reach_b2_and_leave_a_and_c():
    embedding, rows, _ = _case()
    proposal = learn_from_corrections(embedding, rows)
    assert set(proposal.by_label) == {"V"}
    assert np.array_equal(proposal.by_label["V"], rows.sample[B2])
