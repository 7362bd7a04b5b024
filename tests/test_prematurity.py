"""The N/S split by prematurity (``beatscope.analysis.prematurity``)."""

from __future__ import annotations

import numpy as np
import pytest

from beatscope.analysis.prematurity import (
    PrematurityRule,
    apply_prematurity,
    new_rhythms,
    prematurity,
    rule_gate,
)

FS = 360.0
CLASSES = ("N", "S", "V", "F", "Q")


def peaks_from_rr(rr_s) -> np.ndarray:
    return np.round(np.concatenate([[1.0], 1.0 + np.cumsum(rr_s)]) * FS).astype(np.int64)


def test_an_early_beat_in_a_regular_rhythm_is_premature() -> None:
    rr = np.full(200, 0.8)
    rr[150] = 0.55  # beat 151 comes early (a PAC) ...
    rr[151] = 1.05  # ... and is followed by a pause
    gate, applies = prematurity(peaks_from_rr(rr), FS)
    assert applies[1:].all()
    assert gate[151] > 0.99
    others = np.delete(gate[1:], 150)
    assert others.max() < 0.01  # the pause after it is not premature either
    assert gate[0] == 0 and not applies[0]  # the first beat has no interval before it


def test_gradual_rate_change_is_not_prematurity() -> None:
    # sinus rhythm speeding up from 60 to 100 bpm over 5 minutes
    rr = np.linspace(1.0, 0.6, 400)
    gate, applies = prematurity(peaks_from_rr(rr), FS)
    assert applies[1:].all() and gate.max() < 0.05


def test_sinus_arrhythmia_is_not_a_run_of_premature_beats() -> None:
    # breathing: the rate rises and falls by +-17 % over 8 beats, no beat abruptly early
    phase = np.arange(400) * 2 * np.pi / 8
    rr = 0.9 + 0.15 * np.sin(phase)
    rule = PrematurityRule()
    gate, applies = prematurity(peaks_from_rr(rr), FS, rule)
    without_step = prematurity(peaks_from_rr(rr), FS, PrematurityRule(max_step=None))[0]
    judged = applies & (np.arange(len(gate)) > rule.local_beats)
    assert judged.sum() > 100
    assert (without_step[judged] > 0.5).mean() > 0.2  # the ratio alone calls many S
    assert gate[judged].max() < 0.5


def test_a_run_of_early_beats_is_premature_from_its_abrupt_start() -> None:
    rr = np.full(200, 0.8)
    rr[150:156] = 0.5  # six beats of SVT: only the first is early against its neighbour
    rr[156] = 1.0
    gate, _ = prematurity(peaks_from_rr(rr), FS)
    assert (gate[151:157] > 0.99).all()
    assert np.delete(gate[1:], np.arange(150, 156)).max() < 0.01


def test_a_lasting_rate_rise_is_not_a_run_of_premature_beats() -> None:
    # 51 bpm, then at once 76 bpm for good (a joined record's junction; a patient
    # getting up): the two-minute mean lags behind the new rate for dozens of beats
    rr = np.concatenate([np.full(200, 1.18), np.full(300, 0.79)])
    gate, _ = prematurity(peaks_from_rr(rr), FS)
    without = prematurity(peaks_from_rr(rr), FS, PrematurityRule(sustained_max_rr=None))[0]
    assert (without[201:] > 0.5).sum() > 20  # what the test on the run's end removes
    assert gate[201] > 0.99  # the abrupt step itself stays early
    assert (gate[202:] > 0.5).sum() == 0


def test_a_slow_ectopic_run_that_ends_is_premature_throughout() -> None:
    # an atrial run at 83 bpm in a sinus bradycardia at 50 bpm, ending in sinus
    rr = np.full(300, 1.2)
    rr[150:160] = 0.72
    gate, _ = prematurity(peaks_from_rr(rr), FS)
    assert (gate[151:161] > 0.99).all()
    assert np.delete(gate[1:], np.arange(150, 160)).max() < 0.01


def test_a_run_still_going_at_the_end_is_left_alone() -> None:
    rr = np.concatenate([np.full(200, 1.18), np.full(10, 0.79)])  # how it ends: unknown
    gate, _ = prematurity(peaks_from_rr(rr), FS)
    assert (gate[201:] > 0.99).all()


def _changed_at(n: int, *beats: int) -> np.ndarray:
    """A reference_change series: the dominant beat changes at ``beats``."""
    change = np.full(n, 0.99, np.float32)
    change[list(beats)] = 0.1
    return change


def test_a_new_fast_rhythm_at_a_change_of_morphology_starts_the_rule_afresh() -> None:
    # 75 bpm, then at once 120 bpm for good with another dominant beat (in a joined
    # record: the next patient): too fast for the run-end test, which leaves SVTs alone
    rr = np.concatenate([np.full(200, 0.8), np.full(400, 0.5)])
    rr[[260, 300]] = 0.3, 0.7  # the new rhythm's own premature beat (and its pause)
    r = peaks_from_rr(rr)
    plain, _ = prematurity(r, FS)
    assert (plain[201:] > 0.5).sum() > 20  # called a run of S beats without the test
    for at in (199, 201, 206):  # the change shows a few beats either side of the step
        assert new_rhythms(r, FS, _changed_at(len(r), at), PrematurityRule()).tolist() == [at]
        gate, applies = rule_gate(r, FS, PrematurityRule(), _changed_at(len(r), at))
        alone, alone_applies = prematurity(r[at:], FS)  # as if the record began there
        assert np.array_equal(gate[at:], alone) and np.array_equal(applies[at:], alone_applies)
        assert np.array_equal(gate[:at], plain[:at])
        assert np.flatnonzero(gate[at:] > 0.5).tolist() == [261 - at]  # only its PAC


def test_an_svt_that_ends_keeps_its_early_beats_despite_a_change_of_morphology() -> None:
    # 51 s at 120 bpm in a 75 bpm rhythm, with a reference that follows it (as 207's):
    # a minute after its start the rate is back, so it was ectopy
    rr = np.concatenate([np.full(200, 0.8), np.full(102, 0.5), np.full(300, 0.8)])
    r = peaks_from_rr(rr)
    change = _changed_at(len(r), 195, 201, 303)
    assert len(new_rhythms(r, FS, change, PrematurityRule())) == 0
    gate, _ = rule_gate(r, FS, PrematurityRule(), change)
    assert np.array_equal(gate, prematurity(r, FS)[0]) and (gate[201:240] > 0.99).all()


def test_an_episode_of_its_own_shape_before_another_change_is_not_a_new_rhythm() -> None:
    # 207's end in a joined record: an SVT of its own shape (the reference changes
    # at its onset), then at once the next patient's rhythm, faster than 207's sinus:
    # the second sharp change of the reference tells the SVT was an episode
    rr = np.concatenate([np.full(200, 0.8), np.full(100, 0.5), np.full(400, 0.57)])
    r = peaks_from_rr(rr)
    change = _changed_at(len(r), 201)
    assert new_rhythms(r, FS, change, PrematurityRule()).tolist() == [201]
    change[301] = 0.0  # the junction: anticorrelated with the SVT's reference
    assert len(new_rhythms(r, FS, change, PrematurityRule())) == 0
    change[301] = 0.5  # a milder change is still the same rhythm going on
    assert new_rhythms(r, FS, change, PrematurityRule()).tolist() == [201]


def test_a_lasting_fast_rhythm_without_a_change_of_morphology_stays_early() -> None:
    rr = np.concatenate([np.full(200, 0.8), np.full(400, 0.5)])  # a long SVT
    r = peaks_from_rr(rr)
    gate, _ = rule_gate(r, FS, PrematurityRule(), np.ones(len(r), np.float32))
    assert np.array_equal(gate, prematurity(r, FS)[0])
    off = rule_gate(r, FS, PrematurityRule(lasting_s=None), _changed_at(len(r), 201))[0]
    assert np.array_equal(off, gate)  # lasting_s None: no such test


def test_a_change_too_close_to_the_end_is_not_judged() -> None:
    rr = np.concatenate([np.full(200, 0.8), np.full(200, 0.5)])  # 100 s to the end
    r = peaks_from_rr(rr)
    assert len(new_rhythms(r, FS, _changed_at(len(r), 201), PrematurityRule())) == 0


def test_rule_stands_aside_in_an_irregular_rhythm() -> None:
    rng = np.random.default_rng(0)
    rr = rng.uniform(0.4, 1.1, 300)  # AF-like: irregularly irregular
    _, applies = prematurity(peaks_from_rr(rr), FS)
    assert applies[130:].mean() < 0.05


def test_apply_resplits_only_n_and_s() -> None:
    probs = np.array([[0.7, 0.1, 0.2, 0.0, 0.0],
                      [0.7, 0.1, 0.2, 0.0, 0.0],
                      [0.1, 0.6, 0.1, 0.1, 0.1]], np.float32)
    gate = np.array([1.0, 0.0, 0.0])
    applies = np.array([True, True, False])
    out = apply_prematurity(probs, CLASSES, gate, applies)
    np.testing.assert_allclose(out.sum(axis=1), probs.sum(axis=1), rtol=1e-6)
    np.testing.assert_allclose(out[:, 2:], probs[:, 2:])  # V, F, Q untouched
    assert out[0, 1] == pytest.approx(0.8) and out[0, 0] == pytest.approx(0.0)
    assert out[1, 0] == pytest.approx(0.8) and out[1, 1] == pytest.approx(0.0)
    np.testing.assert_allclose(out[2], probs[2])  # where the rule stands aside


def test_apply_never_overturns_a_ventricular_call() -> None:
    """A premature PVC the ensemble calls V (0.4) with N and S sharing the rest: pooled
    into S (0.6) it would turn into an SVEB; it stays V. An N call beside it is split."""
    probs = np.array([[0.3, 0.3, 0.4, 0.0, 0.0],
                      [0.45, 0.1, 0.4, 0.05, 0.0]], np.float32)
    out = apply_prematurity(probs, CLASSES, np.ones(2), np.ones(2, bool))
    np.testing.assert_allclose(out[0], probs[0])
    assert out[0].argmax() == 2
    assert out[1, 1] == pytest.approx(0.55) and out[1].argmax() == 1


def test_an_s_call_needs_the_dominant_beats_shape() -> None:
    """A premature beat the rule would call S, but shaped nothing like the patient's
    dominant beat (correlation 0.3 with its reference): S is ruled out and the
    networks' next choice stands (V here). One that looks like it stays S; N and V
    calls are not touched by the test."""
    probs = np.array([[0.6, 0.1, 0.25, 0.05, 0.0],   # premature, unlike: S -> V
                      [0.6, 0.1, 0.25, 0.05, 0.0],   # premature, alike: S
                      [0.7, 0.1, 0.2, 0.0, 0.0],     # not premature, unlike: N stays
                      [0.2, 0.2, 0.6, 0.0, 0.0]], np.float32)
    gate = np.array([1.0, 1.0, 0.0, 1.0])
    similarity = np.array([0.3, 0.95, 0.3, 0.3])
    rule = PrematurityRule()
    out = apply_prematurity(probs, CLASSES, gate, np.ones(4, bool), similarity, rule)
    assert list(np.array(CLASSES)[out.argmax(axis=1)]) == ["V", "S", "N", "V"]
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)
    assert out[0, 1] == 0.0
    without = apply_prematurity(probs, CLASSES, gate, np.ones(4, bool), similarity,
                                PrematurityRule(min_similarity=None))
    assert np.array(CLASSES)[without[0].argmax()] == "S"


def test_a_v_call_on_the_dominant_beats_shape_and_time_is_not_v() -> None:
    """Beats called V: on time at 75/min and shaped like the dominant beat (0.9): the
    patient's own beat, N. Premature, or at 150/min (a sustained VT's beats become
    the window's dominant ones), or unlike the reference, or a call the ensemble is
    sure of (an escape rhythm is slow, on time and its own reference): V stays."""
    probs = np.tile(np.array([[0.3, 0.05, 0.6, 0.05, 0.0]], np.float32), (5, 1))
    probs[4] = [0.02, 0.0, 0.97, 0.01, 0.0]
    gate = np.array([0.0, 1.0, 0.0, 0.0, 0.0])       # the second is premature
    similarity = np.array([0.9, 0.9, 0.9, 0.5, 0.95])
    pre = np.array([0.8, 0.5, 0.4, 0.8, 1.4])        # the third at 150/min
    out = apply_prematurity(probs, CLASSES, gate, np.ones(5, bool), similarity,
                            PrematurityRule(), pre)
    assert list(np.array(CLASSES)[out.argmax(axis=1)]) == ["N", "V", "V", "V", "V"]
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)
    off = apply_prematurity(probs, CLASSES, gate, np.ones(5, bool), similarity,
                            PrematurityRule(v_max_similarity=None), pre)
    assert (off.argmax(axis=1) == 2).all()


def test_a_v_call_whose_qrs_matches_the_dominant_beat_is_not_v() -> None:
    """The V test also reads the QRS at its best shift: a beat whose whole window is
    unlike its reference (a mark on the S wave) but whose QRS matches it (0.95) is the
    patient's own; the same timing and sureness bounds hold, and a QRS unlike the
    reference (0.7) keeps V."""
    probs = np.tile(np.array([[0.3, 0.05, 0.6, 0.05, 0.0]], np.float32), (4, 1))
    probs[3] = [0.02, 0.0, 0.97, 0.01, 0.0]
    gate = np.array([0.0, 1.0, 0.0, 0.0])       # the second is premature
    similarity = np.full(4, 0.1)
    qrs = np.array([0.95, 0.95, 0.7, 0.99])
    pre = np.full(4, 0.8)
    out = apply_prematurity(probs, CLASSES, gate, np.ones(4, bool), similarity,
                            PrematurityRule(), pre, qrs)
    assert list(np.array(CLASSES)[out.argmax(axis=1)]) == ["N", "V", "V", "V"]
    off = apply_prematurity(probs, CLASSES, gate, np.ones(4, bool), similarity,
                            PrematurityRule(v_max_qrs_similarity=None), pre, qrs)
    assert (off.argmax(axis=1) == 2).all()


def test_a_beat_taken_off_v_is_split_into_n_and_s_by_its_timing() -> None:
    """On time and the patient's own shape, a beat the networks called V with S as
    their next choice is N (the rule's gate decides N from S for it, as for any beat),
    unless the rule stands aside (an irregular rhythm): then the networks' split."""
    probs = np.tile(np.array([[0.1, 0.3, 0.6, 0.0, 0.0]], np.float32), (2, 1))
    gate, similarity, pre = np.zeros(2), np.full(2, 0.9), np.full(2, 0.8)
    applies = np.array([True, False])
    out = apply_prematurity(probs, CLASSES, gate, applies, similarity, PrematurityRule(), pre)
    assert list(np.array(CLASSES)[out.argmax(axis=1)]) == ["N", "S"]
    np.testing.assert_allclose(out[0, :2], [1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)


def test_short_and_degenerate_inputs() -> None:
    for n in (0, 1, 2):
        gate, applies = prematurity(np.arange(n) * 300, FS)
        assert len(gate) == n and not applies.any()
    # a 10-s strip has far fewer beats than the local window: still judged
    rr = np.array([0.8, 0.8, 0.8, 0.8, 0.5, 1.1, 0.8, 0.8, 0.8, 0.8, 0.8])
    gate, applies = prematurity(peaks_from_rr(rr), FS, PrematurityRule())
    assert gate[5] > 0.99 and np.delete(gate, 5).max() < 0.01


def test_analyze_labels_the_excerpts_atrial_premature_beat(data_dir) -> None:
    from beatscope.analysis import AnalysisOptions, analyze
    from beatscope.analysis.classifier_cache import ClassifierSpec, load_classifier
    from beatscope.io import load_record

    record = load_record(data_dir / "mitdb_100.hea")
    model = load_classifier(ClassifierSpec())
    result = analyze(record, AnalysisOptions(classifier=model))
    ann = record.annotations
    pac = ann.sample[[s == "A" for s in ann.symbol]]
    nearest = np.abs(result.beats.sample[:, None] - pac[None, :]).argmin(axis=0)
    assert (result.beats.label[nearest] == "S").all()
    assert (result.beats.label == "S").sum() <= len(pac) + 1
    assert result.classifier["prematurity_rule"]["local_beats"] == PrematurityRule().local_beats
    assert result.classifier["prematurity_rule"]["max_step"] == PrematurityRule().max_step
    without = analyze(record, AnalysisOptions(classifier=model, prematurity=None))
    assert without.classifier["prematurity_rule"] is None
