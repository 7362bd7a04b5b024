"""Morphology templates (segment/templates.py), corrections that spread
(review/propagate.py), the template relabel as one command, and the review-effort
oracle (evaluate/review_oracle.py)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from beatscope.aami import AAMI_CLASSES
from beatscope.analysis import AnalysisOptions, analyze
from beatscope.analysis.output import summary_dict
from beatscope.evaluate.labelled import label_detected
from beatscope.evaluate.review_oracle import (
    ReviewCase,
    beat_by_beat_actions,
    pooled_summary,
    simulate,
)
from beatscope.io import load_record
from beatscope.review.commands import CommandStack
from beatscope.review.propagate import BeatEmbedding, learn_from_corrections, similar_beats
from beatscope.review.store import SOURCES, BeatRows, ReviewStore
from beatscope.segment import context_plan
from beatscope.segment.templates import assign_groups, beat_shapes, embed, rhythm_coordinates

DATA = Path(__file__).parent / "data"
V = AAMI_CLASSES.index("V")
N = AAMI_CLASSES.index("N")


@cache
def excerpt_208():
    """The 208 excerpt (116 N, 67 V, 24 F), its denoised 360-Hz model leads and R peaks."""
    from beatscope.dsp import denoise

    record = load_record(DATA / "mitdb_208.hea")
    result = analyze(record, AnalysisOptions(classifier=None, rhythm_model=None))
    clean = denoise(record.signals, record.fs)
    reference, _ = label_detected(record, result.beats.sample)
    return record, result, clean, reference


def test_shapes_alone_group_the_v_beats_apart_from_the_n_beats():
    """The clustering itself, with every beat given one class (so the class split does
    nothing): reference V and N beats end up in different templates."""
    record, result, clean, reference = excerpt_208()
    r = result.beats.sample
    plan = context_plan(r, record.fs)
    shapes = beat_shapes(clean, r)
    rhythm = rhythm_coordinates(r, plan.median_rr_s[plan.anchor_of_beat], record.fs)
    group = assign_groups(shapes, rhythm, embed(shapes, rhythm), np.full(len(r), "N"))
    v_groups = set(group[reference == V].tolist())
    n_groups = set(group[reference == N].tolist())
    mixed = [g for g in v_groups & n_groups
             if min((group[reference == V] == g).sum(), (group[reference == N] == g).sum()) > 2]
    assert len(v_groups) >= 1 and len(n_groups) >= 1
    assert not mixed, f"templates holding both V and N beats: {mixed}"
    # and templates are mostly one reference class each (fusion beats, between N and
    # V, may share one with either)
    matched = reference >= 0
    majority = sum(np.bincount(reference[matched & (group == g)]).max()
                   for g in np.unique(group[matched]))
    assert majority / matched.sum() >= 0.95


def test_analysis_output_carries_the_templates():
    _, result, _, _ = excerpt_208()
    ts = result.templates
    assert ts is not None and len(ts.templates) >= 1
    assert ts.beat_template.shape == result.beats.sample.shape
    assert sorted(np.unique(ts.beat_template)) == [t.id for t in ts.templates]
    assert sum(t.count for t in ts.templates) == len(result.beats.sample)
    for t in ts.templates:
        assert ts.beat_template[t.typical_beat] == t.id
        assert t.waveform.shape[0] == 2 and np.isfinite(t.waveform).all()
    payload = summary_dict(result)
    json.dumps(payload, allow_nan=False)
    assert payload["beats"]["template"] == ts.beat_template.tolist()
    first = payload["templates"]["templates"][0]
    assert {"id", "class", "count", "median", "purity"} <= set(first)
    assert len(first["median"]) == 2


def _rows(labels: str, reviewer: str = "") -> BeatRows:
    n = len(labels)
    rows = BeatRows.from_model(np.arange(n, dtype=np.int64) * 300, np.array(list(labels)))
    for i, label in enumerate(reviewer):
        if label != ".":
            rows.reviewer_label[i] = label
            rows.source[i] = SOURCES.index("reviewer")
    return rows


def _two_blobs(n: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 0.1, (n // 2, 4))
    b = rng.normal(5, 0.1, (n // 2, 4))
    return np.concatenate([a, b]).astype(np.float32)


def test_learning_spreads_a_correction_to_look_alikes_and_never_touches_reviewed_beats():
    vectors = _two_blobs()
    # blob B (beats 20..39) was called V; the reviewer corrected 4 of them to N and
    # called beat 25 S on purpose; blob A stays N
    rows = _rows("N" * 20 + "V" * 20, "." * 20 + "NNNN.S")
    embedding = BeatEmbedding(rows.sample, vectors)
    proposal = learn_from_corrections(embedding, rows)
    proposed = np.concatenate(list(proposal.by_label.values()))
    assert set(proposal.by_label) == {"N"}
    assert len(proposed) == 20 - 5
    reviewed = rows.sample[rows.source == SOURCES.index("reviewer")]
    assert not np.isin(proposed, reviewed).any()
    assert not np.isin(proposed, rows.sample[:20]).any()  # blob A untouched


def test_no_correction_no_proposal_and_one_stray_click_does_not_spread():
    vectors = _two_blobs()
    embedding = BeatEmbedding(np.arange(40, dtype=np.int64) * 300, vectors)
    assert learn_from_corrections(embedding, _rows("N" * 20 + "V" * 20)).count == 0
    lone = _rows("N" * 20 + "V" * 20, "." * 20 + "N")
    assert learn_from_corrections(embedding, lone).count == 0


def test_similar_beats_proposes_the_corrected_beats_twins_only():
    vectors = _two_blobs()
    rows = _rows("N" * 20 + "V" * 20, "." * 20 + "NNN")
    embedding = BeatEmbedding(rows.sample, vectors)
    proposal = similar_beats(embedding, rows, rows.sample[20:23], {"V"})
    assert proposal.count == 17 and set(proposal.by_label) == {"N"}
    assert "17 similar beats" in proposal.describe()


def test_a_template_relabel_is_one_command_named_after_the_template():
    rows = _rows("NNVVVVN")
    store = ReviewStore(360.0, rows)
    stack = CommandStack(store)
    from beatscope.review.commands import Relabel

    stack.push(Relabel(rows.sample[2:6], "N", subject="template 7"))
    assert stack.undo_text.lower().endswith("relabel template 7 (4 beats) v \u2192 n")
    assert list(store.label) == list("NNNNNNN")
    stack.undo()
    assert list(store.label) == list("NNVVVVN")
    assert not stack.can_undo


def test_beat_by_beat_actions_count_errors_above_the_allowed_share():
    assert beat_by_beat_actions(10, 1000, 99.5) == 5
    assert beat_by_beat_actions(3, 1000, 99.5) == 0


def _round_robin(*lengths: int) -> np.ndarray:
    """An order of the beats of consecutive blocks of these lengths that deals them
    out in turn, so that a block's beats are spread through time: one time span
    cannot take a block in one action."""
    starts = np.cumsum((0, *lengths[:-1]))
    order = []
    for k in range(max(lengths)):
        order += [start + k for start, n in zip(starts, lengths, strict=True) if k < n]
    return np.array(order)


def test_the_oracle_takes_the_optimal_actions_on_a_tiny_case():
    """Template 1 holds 30 N beats called V plus 2 real V (relabel it N: +30 -2 = +28);
    template 0 is 60 right N; one beat of template 2 (V, right) is a missed-S case:
    beat 95 is N called S alone in its template; one reference beat is missed and one
    detection is false. Optimal: the template first, then the four single fixes."""
    ref = np.array([N] * 60 + [N] * 30 + [V] * 2 + [V] * 3 + [N] + [-1])
    labels = np.array(["N"] * 60 + ["V"] * 32 + ["V"] * 3 + ["S"] + ["N"])
    template = np.array([0] * 60 + [1] * 32 + [2] * 3 + [3] + [4])
    order = _round_robin(60, 30, 2, 3, 1, 1)
    ref, labels, template = ref[order], labels[order], template[order]
    case = ReviewCase(np.arange(len(ref), dtype=np.int64) * 400, labels, ref.astype(np.int8),
                      missed=1, template=template)
    outcome = simulate(case)
    assert outcome.errors == 30 + 1 + 1 + 1
    assert outcome.actions[0].startswith("relabel template 1 \u2192 N (+28)")
    # then 2 V beats of template 1, beat 95, the missed beat and the false one: singles
    assert len(outcome.actions) == 1 + 2 + 1 + 1 + 1
    assert outcome.actions_to["99.9"] == len(outcome.actions)
    assert outcome.beat_by_beat_to["99.9"] == outcome.errors


@pytest.mark.parametrize("propagation", [False, True])
def test_the_oracle_never_does_worse_than_beat_by_beat(propagation):
    rng = np.random.default_rng(3)
    n = 400
    ref = rng.choice([N, V], n, p=[0.8, 0.2]).astype(np.int8)
    labels = np.where(rng.random(n) < 0.1, "V", np.array(AAMI_CLASSES)[ref])
    template = rng.integers(0, 8, n)
    emb = rng.normal(size=(n, 3)).astype(np.float32)
    case = ReviewCase(np.arange(n, dtype=np.int64) * 400, labels, ref, 0, template, emb)
    outcome = simulate(case, propagation=propagation)
    assert outcome.actions_to["99.5"] <= outcome.beat_by_beat_to["99.5"]


def test_the_oracle_deletes_a_template_of_artefacts_in_one_action():
    """Template 1: 40 false detections (flutter waves) and 1 real N beat called V:
    deleting it fixes 40 (the N beat stays an error, now missed), and one restore
    with its class brings it back."""
    ref = np.array([N] * 50 + [-1] * 40 + [N])
    labels = np.array(["N"] * 50 + ["V"] * 41)
    template = np.array([0] * 50 + [1] * 41)
    order = _round_robin(50, 40, 1)
    ref, labels, template = ref[order], labels[order], template[order]
    case = ReviewCase(np.arange(len(ref), dtype=np.int64) * 400, labels, ref.astype(np.int8),
                      missed=0, template=template)
    outcome = simulate(case)
    assert outcome.actions[0] == "delete template 1 (+40)"
    assert outcome.actions[1].startswith("restore beat")
    assert len(outcome.actions) == 2


def test_the_oracle_splits_a_mixed_template_when_a_part_is_worth_two_actions():
    """Template 0: 15 real V beats and 15 N beats called V, apart in the embedding.
    Relabelling it whole fixes nothing (15 against 15); split, then its N part
    relabelled: 2 actions for 15 errors."""
    ref = np.array([V] * 15 + [N] * 15, np.int8)
    labels = np.array(["V"] * 30)
    order = _round_robin(15, 15)
    ref, embedding = ref[order], _two_blobs(30)[order]
    case = ReviewCase(np.arange(30, dtype=np.int64) * 400, labels, ref, 0,
                      np.zeros(30, np.int64), embedding)
    outcome = simulate(case)
    assert outcome.actions[0].startswith("split template 0 into")
    assert outcome.actions[1].endswith("\u2192 N (+15)")
    assert len(outcome.actions) == 2


def test_the_oracle_relabels_and_deletes_time_spans_in_one_action_each():
    """An episode of 40 N beats called S, spread over many templates (each template
    holds one), then 20 noise detections: one span relabel, one span delete."""
    ref = np.array([N] * 30 + [N] * 40 + [N] * 30 + [-1] * 20 + [N] * 10, np.int8)
    labels = np.array(["N"] * 30 + ["S"] * 40 + ["N"] * 30 + ["V"] * 20 + ["N"] * 10)
    template = np.arange(len(ref)) % 50  # every template mixed: no template action pays
    case = ReviewCase(np.arange(len(ref), dtype=np.int64) * 400, labels, ref, 0, template)
    assert len(simulate(case).actions) == 60  # without spans: one by one
    outcome = simulate(case, spans=True)
    assert outcome.actions == ["relabel beats 30-69 \u2192 N (+40)", "delete beats 100-119 (+20)"]


def test_a_proposal_of_several_labels_is_one_command_saved_with_its_subject():
    from beatscope.review.serialise import command_from_payload, command_payload

    rows = _rows("NNVVSSN")
    store = ReviewStore(360.0, rows)
    stack = CommandStack(store)
    from beatscope.review.commands import Relabel

    samples = rows.sample[[5, 2, 3]]  # any order: one label each
    command = stack.push(Relabel(samples, ["N", "F", "F"], source="propagated",
                                 subject="learned from corrections"))
    assert list(store.label) == list("NNFFSNN")
    assert stack.undo_text.lower().endswith(
        "relabel learned from corrections (3 beats) s/v \u2192 f/n")
    back = command_from_payload(command_payload(command))
    assert back.text == command.text and back.subject == command.subject
    assert back.label.tolist() == ["F", "F", "N"] and back.samples.tolist() == sorted(samples)
    stack.undo()
    assert list(store.label) == list("NNVVSSN")
    with pytest.raises(ValueError, match="one label per beat"):
        Relabel(samples, ["N", "F"])


def test_the_pooled_review_effort_has_the_shape_other_tools_read():
    """bench/review_effort.py --json: levels keyed "99", "99.5", "99.9" (not "99.0"),
    checkpoints "5".."50", None where a record never reaches a level, accuracies
    weighted by beats."""
    rng = np.random.default_rng(5)
    outcomes = {}
    for name, n in (("a", 300), ("b", 500)):
        ref = rng.choice([N, V], n, p=[0.7, 0.3]).astype(np.int8)
        labels = np.where(rng.random(n) < 0.05, "S", np.array(AAMI_CLASSES)[ref])
        case = ReviewCase(np.arange(n, dtype=np.int64) * 400, labels, ref, 0,
                          rng.integers(0, 5, n))
        outcome = simulate(case)
        outcomes[name] = outcome.figures()
    outcomes["b"]["actions_to"] = {**outcomes["b"]["actions_to"], "99.9": None}
    pooled = pooled_summary(outcomes)
    assert set(pooled["acc_after"]) == {"5", "10", "20", "50"}
    for key in ("median_actions_to", "total_actions_to"):
        assert set(pooled[key]) == {"99", "99.5", "99.9"}
        assert pooled[key]["99.9"] is None
    assert pooled["total_actions_to"]["99"] == sum(o["actions_to"]["99"]
                                                   for o in outcomes.values())
    expected = (outcomes["a"]["accuracy_before"] * outcomes["a"]["beats"]
                + outcomes["b"]["accuracy_before"] * outcomes["b"]["beats"]) / (
        outcomes["a"]["beats"] + outcomes["b"]["beats"])
    assert pooled["acc_before"] == pytest.approx(expected, abs=1e-3)
    assert 0 <= pooled["acc_before"] <= 100
    assert pooled["total_beat_by_beat_actions"] == sum(o["beat_by_beat_to"]["99.5"]
                                                       for o in outcomes.values())
