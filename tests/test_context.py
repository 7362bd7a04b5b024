"""The patient context (segment.context): each beat's reference is its neighbourhood's
dominant beat, follows a sudden change of morphology, ignores premature ectopy and
beats far away, and is the same whether the record is streamed or whole."""

from __future__ import annotations

import numpy as np
import pytest

from beatscope.segment import (
    context_plan,
    iter_with_local_template,
    qrs_similarity,
    reference_change,
    reference_similarity,
    with_local_template,
)
from beatscope.segment.context import ANCHOR_STEP_S, HALF_WINDOW_S, context_median_rr

FS = 360.0
L = 400


def shape(kind: str) -> np.ndarray:
    """A z-scored (2, L) beat: 'a' narrow upright, 'b' wide inverted, 'v' wide upright."""
    x = np.arange(L) - 160.0
    width, sign = {"a": (6.0, 1.0), "b": (20.0, -1.0), "v": (30.0, 1.0)}[kind]
    lead = sign * np.exp(-0.5 * (x / width) ** 2) + 0.2 * np.exp(-0.5 * ((x - 120) / 25) ** 2)
    lead = (lead - lead.mean()) / lead.std()
    return np.stack([lead, 0.5 * lead + 0.5 * np.roll(lead, 7)]).astype(np.float32)


def rhythm(kinds: list[str], premature: np.ndarray, rr_s: float = 0.8,
           seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """R peaks (samples) and noisy windows for a sequence of beat kinds; premature
    beats come at 60 % of the RR and are followed by a compensatory pause."""
    rng = np.random.default_rng(seed)
    rr = np.full(len(kinds), rr_s)
    rr[premature] *= 0.6
    after = np.flatnonzero(premature) + 1
    rr[after[after < len(rr)]] *= 1.4
    peaks = np.round(np.cumsum(rr) * FS).astype(np.int64)
    windows = np.stack([shape(k) for k in kinds])
    windows += 0.05 * rng.standard_normal(windows.shape).astype(np.float32)
    return peaks, windows


def reference_of(inputs: np.ndarray) -> np.ndarray:
    """The reference beat each input was compared with: beat - (beat - reference)."""
    return inputs[:, :2] - inputs[:, 2:]


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_reference_follows_a_sudden_change_of_morphology():
    # 10 min of morphology a, then 10 min of b (electrodes moved), 20 % premature V
    n = 1500
    kinds = ["a"] * (n // 2) + ["b"] * (n - n // 2)
    premature = np.zeros(n, bool)
    premature[5::5] = True
    for i in np.flatnonzero(premature):
        kinds[i] = "v"
    peaks, windows = rhythm(kinds, premature)
    refs = reference_of(with_local_template(windows, context_plan(peaks, FS)))
    change_s = peaks[n // 2] / FS
    t = peaks / FS
    settled = np.abs(t - change_s) > ANCHOR_STEP_S  # half a step is the quantisation
    for i in np.flatnonzero(settled):
        expected = shape("a") if t[i] < change_s else shape("b")
        assert corr(refs[i], expected) > 0.99, (i, t[i])
    # ... and the premature V beats never pulled it towards theirs
    assert max(corr(refs[i], shape("v")) for i in np.flatnonzero(settled & premature)) < 0.9


@pytest.mark.parametrize("rates", [(1.0, 0.7), (0.7, 1.0)])
def test_reference_follows_a_change_of_morphology_and_rate_together(rates):
    """Another patient, or electrodes moved during exercise: morphology and rate change
    at once. Against the whole window's RR, the faster side's beats all look
    premature, and the beats nearest an anchor (which pick the side of the change)
    came from the slower side alone; judged against the rhythm around the anchor,
    each side keeps its own reference (the 24-h join: 57 normal beats of record 122
    called V within 20 s of its junctions, 8 after)."""
    rr = np.concatenate([np.full(600, rates[0]), np.full(900, rates[1])])
    peaks = np.round(np.cumsum(rr) * FS).astype(np.int64)
    kinds = ["a"] * 600 + ["b"] * 900
    windows = np.stack([shape(k) for k in kinds])
    windows += 0.05 * np.random.default_rng(1).standard_normal(windows.shape).astype(np.float32)
    refs = reference_of(with_local_template(windows, context_plan(peaks, FS)))
    t = peaks / FS
    change_s = t[600]
    settled = np.abs(t - change_s) > ANCHOR_STEP_S
    wrong = [round(t[i] - change_s, 1) for i in np.flatnonzero(settled)
             if corr(refs[i], shape("a") if t[i] < change_s else shape("b")) < 0.99]
    assert wrong == []


@pytest.mark.parametrize("offset_s", [0.0, 2.5, 4.9, 5.1, 7.5])
def test_beats_beside_a_change_take_their_own_sides_reference(offset_s):
    """A beat takes its nearest anchor's reference; where the change falls among the
    anchor's own beats, those past it take the new morphology's (the 24-h join:
    the first seconds of each record were compared with the previous patient's
    beat). Wherever the change falls against the anchor grid."""
    rr_s = 0.8
    n_before = int(round((300.0 + offset_s) / rr_s))
    kinds = ["a"] * n_before + ["b"] * 600
    premature = np.zeros(len(kinds), bool)
    premature[7::7] = True
    for i in np.flatnonzero(premature):
        kinds[i] = "v"
    peaks, windows = rhythm(kinds, premature, rr_s=rr_s, seed=2)
    refs = reference_of(with_local_template(windows, context_plan(peaks, FS)))
    t = peaks / FS
    change_s = t[n_before]
    wrong = [round(t[i] - change_s, 1) for i in np.flatnonzero(~premature)
             if corr(refs[i], shape("a") if t[i] < change_s else shape("b")) < 0.99]
    assert wrong == []


def test_reference_similarity_tells_the_dominant_shape_from_another():
    kinds = ["a"] * 300
    premature = np.zeros(300, bool)
    premature[100::10] = True
    for i in np.flatnonzero(premature):
        kinds[i] = "v"
    peaks, windows = rhythm(kinds, premature)
    similarity = reference_similarity(with_local_template(windows, context_plan(peaks, FS)))
    assert similarity.shape == (300,)
    assert similarity[~premature].min() > 0.95
    assert similarity[premature].max() < 0.75  # below the S call's minimum


def test_qrs_similarity_sees_the_dominant_beat_through_a_jumping_mark():
    # one beat in four of a biphasic QRS marked on its S wave, 30 ms late (11 samples):
    # whole windows at the marks disagree, the QRS at its best shift does not; a wide
    # ventricular beat stays unlike the reference at any shift
    rng = np.random.default_rng(3)
    x = np.arange(L) - 160.0

    def biphasic(shift: float, width: float = 5.0) -> np.ndarray:
        t = x + shift
        lead = np.exp(-0.5 * (t / width) ** 2) - np.exp(-0.5 * ((t - 11) / width) ** 2)
        lead = lead + 0.3 * np.exp(-0.5 * ((t - 120) / 25) ** 2)
        return np.stack([lead, lead]).astype(np.float32)

    kinds = np.array([0, 0, 0, 1] * 75)
    kinds[102::24] = 2
    beats = np.stack([biphasic(11.0 * k) if k < 2 else shape("v") for k in kinds])
    beats += 0.02 * rng.standard_normal(beats.shape).astype(np.float32)
    peaks = np.round(np.arange(1, 301) * 0.8 * FS).astype(np.int64)
    inputs = with_local_template(beats, context_plan(peaks, FS))
    whole, qrs = reference_similarity(inputs), qrs_similarity(inputs)
    assert qrs.shape == (300,) and qrs.dtype == np.float32
    assert whole[kinds < 2].min() < 0.5  # one of the two marks reads as another beat
    assert qrs[kinds < 2].min() > 0.95
    assert qrs[kinds == 2].max() < 0.8
    # the best shift's Pearson correlation, as a plain loop over shifts computes it
    ref = (inputs[:, :2] - inputs[:, 2:])[:, :, 124:196].reshape(300, -1)
    loop = np.max([[corr(inputs[i, :2, 124 + s:196 + s], ref[i]) for s in range(-14, 15)]
                   for i in range(0, 300, 37)], axis=1)
    np.testing.assert_allclose(qrs[::37], loop, atol=1e-5)
    assert qrs_similarity(inputs[:0]).shape == (0,)


@pytest.mark.parametrize("stretch", [60, 75, 90])
def test_a_short_stretch_of_a_third_morphology_gets_its_own_reference(stretch):
    # 48-72 s of morphology v between a and b (an SVT of its own shape just before the
    # next patient, as at 207's end in a joined record): shorter than a half-window,
    # so each anchor's halves mixed two morphologies, and v's beats took a blend of
    # their neighbours (50 of 60 beats at 48 s) until a half holding a change of its
    # own gave way to its part nearer the anchor
    kinds = ["a"] * 400 + ["v"] * stretch + ["b"] * 400
    peaks, windows = rhythm(kinds, np.zeros(len(kinds), bool))
    refs = reference_of(with_local_template(windows, context_plan(peaks, FS)))
    assert min(corr(refs[i], shape("v")) for i in range(400, 400 + stretch)) > 0.95
    assert min(corr(refs[i], shape("a")) for i in range(300, 400)) > 0.95
    assert min(corr(refs[i], shape("b")) for i in range(400 + stretch, 500 + stretch)) > 0.95


def test_reference_change_marks_a_change_of_morphology_block_by_block_as_whole():
    kinds = ["a"] * 250 + ["b"] * 250  # the electrodes moved (or the next patient)
    peaks, windows = rhythm(kinds, np.zeros(500, bool))
    inputs = with_local_template(windows, context_plan(peaks, FS))
    change, last = reference_change(inputs)
    assert change.shape == (500,) and change[0] == 1.0
    assert np.flatnonzero(change < 0.7).tolist() == [250]  # its reference follows at once
    assert change[np.arange(500) != 250].min() > 0.95
    head, previous = reference_change(inputs[:251])
    tail, last_of_blocks = reference_change(inputs[251:], previous)
    assert np.allclose(np.concatenate([head, tail]), change)
    assert np.array_equal(last_of_blocks, last)


def test_bigeminy_reference_is_the_dominant_beat():
    n = 600
    premature = np.zeros(n, bool)
    premature[1::2] = True  # every other beat is an early V
    kinds = ["v" if p else "a" for p in premature]
    peaks, windows = rhythm(kinds, premature)
    refs = reference_of(with_local_template(windows, context_plan(peaks, FS)))
    assert min(corr(r, shape("a")) for r in refs) > 0.99


def test_reference_ignores_beats_further_than_its_window():
    n = 2000  # about 27 min
    peaks, windows = rhythm(["a"] * n, np.zeros(n, bool))
    plan = context_plan(peaks, FS)
    before = with_local_template(windows, plan)
    changed = windows.copy()
    late = peaks / FS > 20 * 60
    changed[late] = shape("b")  # the last minutes become another patient
    after = with_local_template(changed, plan)
    far = peaks / FS < 20 * 60 - HALF_WINDOW_S - ANCHOR_STEP_S
    assert np.array_equal(before[far], after[far])


@pytest.mark.parametrize("block", [1, 97, 1000, 5000])
def test_streamed_blocks_give_the_whole_record_inputs(block):
    rng = np.random.default_rng(3)
    n = 3000
    rr = rng.uniform(0.4, 1.6, n)  # irregular, with gaps and bursts
    rr[1000:1040] = 3.0  # long pauses
    peaks = np.round(np.cumsum(rr) * FS).astype(np.int64)
    windows = rng.standard_normal((n, 2, L)).astype(np.float32)
    plan = context_plan(peaks, FS)
    whole = with_local_template(windows, plan)
    parts = list(iter_with_local_template(
        (windows[i:i + block] for i in range(0, n, block)), plan))
    assert [p[0] for p in parts] == list(range(0, n, block))
    assert all(np.array_equal(p[1], windows[p[0]:p[0] + len(p[1])]) for p in parts)
    assert np.array_equal(np.concatenate([p[2] for p in parts]), whole)


def test_edge_cases():
    plan = context_plan(np.zeros(0, np.int64), FS)
    assert with_local_template(np.zeros((0, 2, L), np.float32), plan).shape == (0, 4, L)
    assert list(iter_with_local_template(iter([]), plan)) == []
    one = context_plan(np.array([500]), FS)
    w = np.ones((1, 2, L), np.float32)
    out = with_local_template(w, one)
    assert out.shape == (1, 4, L) and np.all(out[:, 2:] == 0)  # its own reference


def test_context_rr_is_local():
    # 20 min at 60 bpm then 20 min at 120 bpm: the whole record's median would be one
    # of the two for every beat; the context RR is each beat's own rate
    rr = np.concatenate([np.full(1200, 1.0), np.full(2400, 0.5)])
    peaks = np.round(np.cumsum(rr) * FS).astype(np.int64)
    ctx = context_median_rr(peaks, FS)
    t = peaks / FS
    assert np.allclose(ctx[t < 1200 - HALF_WINDOW_S - ANCHOR_STEP_S], 1.0, atol=0.01)
    assert np.allclose(ctx[t > 1200 + HALF_WINDOW_S + ANCHOR_STEP_S], 0.5, atol=0.01)
