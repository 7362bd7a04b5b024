"""The review as the viewer holds it (Qt-free): pairing an analysis with its review,
re-analysis, disagreements, rhythm on the reviewed beats, the session's events, and
the pieces an inserted beat needs (R-peak snap, the model's call on an excerpt)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from beatscope.analysis import AnalysisOptions, analyze
from beatscope.analysis.classifier_cache import ClassifierSpec, load_classifier
from beatscope.analysis.result import BeatTable
from beatscope.analysis.single_beat import beat_excerpt, call_of
from beatscope.detect.locate import snap_to_r_peak
from beatscope.display import ViewerSession
from beatscope.io import load_record
from beatscope.review.rhythm import reviewed_rhythm
from beatscope.review.session import ReviewSession, group_counts
from beatscope.review.store import BeatRows

FS = 360.0


def fake_record(n_beats: int = 120, rr: int = 300):
    n = 400 + n_beats * rr
    return SimpleNamespace(name="synthetic", fs=FS, n_samples=n, lead_names=["MLII", "V1"],
                           signals=np.sin(np.arange(n)[:, None] * [0.01, 0.02]).astype(
                               np.float32), source_path=None, duration_s=n / FS, notes=[])


def fake_result(sample, label, rhythm=None):
    prob = np.zeros((len(sample), 5), np.float32)
    prob[np.arange(len(sample)), ["NSVFQ".index(c) for c in label]] = 1.0
    return SimpleNamespace(beats=BeatTable(np.asarray(sample, np.int64), np.asarray(label),
                                           prob), rhythm=rhythm or {"episodes": []},
                           warnings=[])


def model_beats(n: int = 120, rr: int = 300):
    sample = 200 + np.arange(n) * rr
    label = np.full(n, "N")
    label[10::15] = "V"
    return sample, label


def test_reopening_the_same_analysis_keeps_the_review_and_its_history(tmp_path):
    record = fake_record()
    sample, label = model_beats()
    review = ReviewSession.open(record, tmp_path / "r.sqlite", fake_result(sample, label), "dr. a")
    review.relabel(sample[[10, 25]], "N")
    review.delete(sample[[3]])
    review.text_note("record", "Holter day 1")
    assert review.summary() == "reviewed: 3 of 120 beats changed"
    review.close()
    again = ReviewSession.open(record, tmp_path / "r.sqlite", fake_result(sample, label), "dr. b")
    assert again.summary() == "reviewed: 3 of 120 beats changed"
    assert again.stack.history()[0].startswith("relabel 2 beats V \u2192 N")
    assert again.store.notes["record"] == "Holter day 1"
    assert again.notice == "" and len(again.unmatched) == 0
    again.undo()  # the history survived: the note goes, then the delete
    again.undo()
    assert again.summary() == "reviewed: 2 of 120 beats changed"
    pairs = group_counts(again.disagreements())
    assert pairs == {"V \u2192 N": 2}
    d = again.disagreements()[0]
    assert (d.sample, d.reviewer, d.kind) == (int(sample[10]), "dr. a", "relabelled")
    again.close()


def test_a_new_analysis_gets_the_review_moved_onto_its_beats(tmp_path):
    record = fake_record()
    sample, label = model_beats()
    review = ReviewSession.open(record, tmp_path / "r.sqlite", fake_result(sample, label))
    review.relabel(sample[[10]], "N")
    review.relabel(sample[[40]], "S")
    review.delete(sample[[50]])
    review.insert(int(sample[60]) + 150, "V")
    review.close()
    # new weights: peaks 3 samples later, the beat the reviewer called S is not found
    keep = np.ones(len(sample), bool)
    keep[40] = False
    new = fake_result(sample[keep] + 3, label[keep])
    again = ReviewSession.open(record, tmp_path / "r.sqlite", new)
    rows = again.store.rows
    assert again.store.snapshot([sample[10] + 3]).reviewer_label[0] == "N"
    assert again.store.snapshot([sample[50] + 3]).deleted[0]
    assert again.store.snapshot([sample[60] + 150]).inserted[0]
    kept = again.store.snapshot([sample[40]])  # kept as the reviewer's own beat, and listed
    assert kept.inserted[0] and kept.reviewer_label[0] == "S"
    assert again.unmatched.sample.tolist() == [int(sample[40])]
    assert "1 reviewed beats were not found" in again.notice
    assert not again.stack.can_undo  # its commands named the old analysis's beats
    assert len(rows) == len(sample) + 1
    again.close()
    third = ReviewSession.open(record, tmp_path / "r.sqlite", new)  # stored as merged
    assert third.summary() == again.summary() and third.notice == ""
    third.close()


def test_rhythm_on_the_reviewed_beats_follows_relabels_and_deletions():
    n = 400
    sample = 200 + np.arange(n) * 300  # 72 bpm, regular
    rows = BeatRows.from_model(sample, np.full(n, "N"), np.tile([1, 0, 0, 0, 0], (n, 1)))
    base = reviewed_rhythm(rows, FS, (sample[-1] + 400) / FS)
    assert not [e for e in base["episodes"] if e["label"] == "VT"]
    rows.reviewer_label[100:104] = "V"  # the reviewer calls a 4-beat run ventricular
    vt = [e for e in reviewed_rhythm(rows, FS, (sample[-1] + 400) / FS)["episodes"]
          if e["label"] == "VT"]
    assert len(vt) == 1 and vt[0]["start_s"] == pytest.approx(sample[100] / FS, abs=0.01)
    rows.deleted[200:208] = True  # 8 false beats removed: a 2.7-s gap is now a pause
    pauses = [e for e in reviewed_rhythm(rows, FS, (sample[-1] + 400) / FS)["episodes"]
              if e["label"] == "PAUSE"]
    assert len(pauses) == 1


def test_the_session_shows_the_reviewed_beats_and_announces_each_edit(tmp_path):
    record = fake_record()
    sample, label = model_beats()
    session = ViewerSession()
    heard = []
    for name in ("beats_reset", "labels_changed", "review_changed", "rhythm_changed",
                 "selection_changed"):
        getattr(session.events, name).connect(lambda *a, n=name: heard.append((n, a)))
    session.loaded(record, None)
    session.add_beats(0, sample, label, None)
    result = fake_result(sample, label)
    result.record = record
    review = ReviewSession.open(record, tmp_path / "r.sqlite", result)
    session.finish(result, review)
    heard.clear()
    session.select_between(sample[10] / FS - 0.01, sample[12] / FS + 0.01)
    assert session.selected_samples().tolist() == sample[10:13].tolist()
    review.relabel(session.selected_samples(), "S")
    index = [a[0] for n, a in heard if n == "labels_changed"][0]
    assert sorted(index.tolist()) == [10, 11, 12]
    assert session.beats.label[10:13].tolist() == ["S"] * 3
    assert session.beats.edited[10:13].all() and not session.beats.edited[13]
    heard.clear()
    review.delete(sample[[11]])
    assert ("beats_reset", ()) in heard and len(session.beats) == len(sample) - 1
    # the selection follows its beats by sample; the deleted one drops out
    assert session.selected_samples().tolist() == [sample[10], sample[12]]
    review.undo()
    assert len(session.beats) == len(sample) and session.beats.label[11] == "S"
    session.set_reviewed_rhythm(review, {"episodes": [{"label": "VT"}]})
    assert session.rhythm == {"episodes": [{"label": "VT"}]}
    session.set_reviewed_rhythm(object(), {"episodes": []})  # a stale answer: ignored
    assert session.rhythm == {"episodes": [{"label": "VT"}]}
    review.close()


@pytest.mark.parametrize("with_review", [False, True])
def test_the_final_labels_replace_streamed_ones_the_engine_corrected(tmp_path, with_review):
    # the engine re-splits N/S for a new rhythm once every block is classified
    # (analysis.pipeline._RuleOnBlocks.finish): same beats, a few labels changed
    record = fake_record()
    sample, label = model_beats()
    session = ViewerSession()
    resets = []
    session.events.beats_reset.connect(lambda: resets.append(True))
    session.loaded(record, None)
    session.add_beats(0, sample, label, None)
    final = label.copy()
    final[40:45] = "S"
    result = fake_result(sample, final)
    result.record = record
    review = ReviewSession.open(record, tmp_path / "r.sqlite", result) if with_review else None
    resets.clear()
    assert session.finish(result, review)
    assert resets and session.beats.label.tolist() == final.tolist()
    if review is not None:
        review.close()


def test_an_inserted_beat_snaps_to_its_r_peak_and_gets_the_models_call(data_dir):
    record = load_record(data_dir / "mitdb_119.hea")
    classifier = load_classifier(ClassifierSpec())
    whole = analyze(record, AnalysisOptions(classifier=classifier, rhythm_model=None))
    beats = whole.beats
    v = np.flatnonzero(beats.label == "V")[5]
    target = int(beats.sample[v])
    # a click up to 60 ms off the R peak lands on the detector's own mark for it
    off = [snap_to_r_peak(record.signals, record.fs, int(s + dt * record.fs)) - s
           for s in beats.sample[2:-2] for dt in (-0.06, 0.0, 0.06)]
    assert np.mean(np.abs(off) <= 2) >= 0.98
    others = np.delete(beats.sample, v)  # as if the detector had missed it
    excerpt, options, first = beat_excerpt(record, others, target,
                                           AnalysisOptions(classifier=classifier))
    assert options.rhythm_model is None and excerpt.duration_s <= 401
    label, probability = call_of(analyze(excerpt, options), target - first)
    assert label == "V" and probability.argmax() == 2
