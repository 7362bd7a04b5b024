"""Tests of beatscope.segment (beat windows and RR features) on synthetic input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from beatscope.segment import (
    BEAT_LENGTH,
    DEFAULT_RR_S,
    R_INDEX,
    RR_FEATURE_NAMES,
    beat_extents,
    iter_segment_beats,
    rr_features,
    segment_beats,
)


def spiky_signal(n: int, peaks: np.ndarray, n_leads: int = 2, seed: int = 0) -> np.ndarray:
    """Low-amplitude noise with a tall, unique maximum at every R peak."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.05, (n, n_leads)).astype(np.float32)
    for lead in range(n_leads):
        x[peaks, lead] = 3.0 + lead
    return x


def irregular_peaks(n_beats: int = 50, start: int = 500, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rr = rng.integers(200, 500, n_beats - 1)
    return start + np.concatenate([[0], np.cumsum(rr)])


def test_shape_dtype_and_r_alignment():
    peaks = irregular_peaks()
    x = spiky_signal(int(peaks[-1]) + 600, peaks)
    beats = segment_beats(x, peaks)
    assert beats.shape == (len(peaks), 2, BEAT_LENGTH)
    assert beats.dtype == np.float32
    assert np.all(np.isfinite(beats))
    # the R peak (the unique maximum) sits at R_INDEX in every beat and lead
    assert np.all(beats.argmax(axis=2) == R_INDEX)


def test_window_extent_zero_padding_and_zscore():
    peaks = irregular_peaks()
    x = spiky_signal(int(peaks[-1]) + 600, peaks)
    beats = segment_beats(x, peaks)
    pre, post = beat_extents(peaks)
    rr = np.diff(peaks)
    np.testing.assert_array_equal(pre[1:], np.minimum(3 * rr // 8, R_INDEX))
    np.testing.assert_array_equal(post[:-1], np.minimum(3 * rr // 8, BEAT_LENGTH - R_INDEX))
    j = np.arange(BEAT_LENGTH) - R_INDEX
    for i in range(len(peaks)):
        real = (j >= -pre[i]) & (j < post[i])
        for lead in range(2):
            b = beats[i, lead]
            assert np.all(b[~real] == 0.0)  # padding stays exactly zero
            assert b[real].mean() == pytest.approx(0.0, abs=1e-5)
            assert b[real].std() == pytest.approx(1.0, abs=1e-4)
            # content = z-scored samples [R - pre, R + post)
            seg = x[peaks[i] - pre[i]:peaks[i] + post[i], lead].astype(np.float64)
            np.testing.assert_allclose(b[real], (seg - seg.mean()) / seg.std(), atol=1e-4)


def test_long_rr_is_cropped_to_the_window():
    peaks = np.array([1000, 2000, 3000])  # RR = 1000 samples: 3/8 RR = 375
    x = spiky_signal(4000, peaks)
    pre, post = beat_extents(peaks)
    assert np.all(pre == R_INDEX) and np.all(post == BEAT_LENGTH - R_INDEX)
    beats = segment_beats(x, peaks)
    assert np.all(beats != 0.0)  # no padding at all


def test_edge_beats_use_neighbour_rr_and_pad_outside_record():
    peaks = np.array([30, 330, 630, 930, 1190])
    n = 1250
    x = spiky_signal(n, peaks)
    pre, post = beat_extents(peaks)
    assert pre[0] == 3 * 300 // 8 and post[-1] == 3 * 260 // 8
    beats = segment_beats(x, peaks)
    j = np.arange(BEAT_LENGTH) - R_INDEX
    # first beat: only 30 samples exist before R
    assert np.all(beats[0, :, j < -30] == 0) and np.any(beats[0, :, (j >= -30) & (j < 0)] != 0)
    # last beat: only n - 1190 = 60 samples from R on
    assert np.all(beats[-1, :, j >= 60] == 0)
    assert np.all(beats.argmax(axis=2) == R_INDEX)
    assert np.all(np.isfinite(beats))


def test_one_lead_is_duplicated_and_1d_input_accepted():
    peaks = irregular_peaks(20)
    x = spiky_signal(int(peaks[-1]) + 600, peaks, n_leads=1)
    beats = segment_beats(x, peaks)
    assert beats.shape == (20, 2, BEAT_LENGTH)
    np.testing.assert_array_equal(beats[:, 0], beats[:, 1])
    np.testing.assert_array_equal(segment_beats(x[:, 0], peaks), beats)
    with pytest.raises(ValueError):
        segment_beats(spiky_signal(5000, peaks[:5], n_leads=2), peaks[:5], leads=(0, 2))


def test_flat_beats_are_zero_not_nan():
    peaks = np.array([400, 700, 1000])
    x = np.zeros((1500, 2), dtype=np.float32)
    x[:, 1] = 2.5  # constant offset: std 0 as well
    beats = segment_beats(x, peaks)
    assert np.all(beats == 0.0)


def test_chunked_generator_matches_and_handles_empty_and_bad_input():
    peaks = irregular_peaks(300)
    x = spiky_signal(int(peaks[-1]) + 600, peaks)
    whole = segment_beats(x, peaks)
    blocks = list(iter_segment_beats(x, peaks, chunk=64))
    assert [len(b) for b in blocks] == [64] * 4 + [44]
    np.testing.assert_array_equal(np.concatenate(blocks), whole)
    empty = segment_beats(x, np.array([], dtype=np.int64))
    assert empty.shape == (0, 2, BEAT_LENGTH)
    single = segment_beats(x, peaks[:1])
    assert single.shape == (1, 2, BEAT_LENGTH)
    d = int(DEFAULT_RR_S * 360)
    assert beat_extents(peaks[:1])[0][0] == min(3 * d // 8, R_INDEX)
    with pytest.raises(ValueError):
        segment_beats(x, peaks[::-1])
    alt = segment_beats(x, peaks, length=256, r_index=100, leads=(1,))
    assert alt.shape == (300, 1, 256) and np.all(alt.argmax(axis=2) == 100)


# ----------------------------------------------------------------- RR features

def test_rr_features_on_known_sequence():
    fs = 360.0
    rr = np.full(30, 360)
    rr[15] = 216  # premature beat (0.6 s) ...
    rr[16] = 504  # ... and its compensatory pause (1.4 s)
    peaks = 100 + np.concatenate([[0], np.cumsum(rr)])
    f = rr_features(peaks, fs)
    assert f.shape == (31, len(RR_FEATURE_NAMES)) and f.dtype == np.float32
    col = {name: f[:, i] for i, name in enumerate(RR_FEATURE_NAMES)}
    premature = 16  # beat 16 follows rr[15]
    assert col["pre_rr_s"][premature] == pytest.approx(0.6)
    assert col["post_rr_s"][premature] == pytest.approx(1.4)
    assert col["local_rr_s"][premature] == pytest.approx(1.0)  # own intervals excluded
    assert col["pre_over_local"][premature] == pytest.approx(0.6)
    assert col["post_over_local"][premature] == pytest.approx(1.4)
    assert col["pre_over_post"][premature] == pytest.approx(0.6 / 1.4)
    assert np.all(col["context_median_rr_s"] == pytest.approx(1.0))
    # local RR of a later beat: mean of the 10 intervals before its pre-RR
    i = 25
    assert col["local_rr_s"][i] == pytest.approx(rr[i - 11:i - 1].mean() / fs)
    assert col["local_over_context"][i] == pytest.approx(col["local_rr_s"][i])
    # edges borrow the neighbouring interval
    assert col["pre_rr_s"][0] == col["post_rr_s"][0] == pytest.approx(1.0)
    assert col["post_rr_s"][-1] == col["pre_rr_s"][-1] == pytest.approx(1.0)
    assert np.all(np.isfinite(f))


def test_rr_features_degenerate_inputs_never_nan():
    assert rr_features(np.array([], dtype=int), 360).shape == (0, len(RR_FEATURE_NAMES))
    one = rr_features(np.array([1000]), 360)
    assert one[0, 0] == pytest.approx(DEFAULT_RR_S) and np.all(np.isfinite(one))
    two = rr_features(np.array([0, 300]), 360)
    assert np.all(np.isfinite(two)) and two[0, 0] == pytest.approx(300 / 360)
    dup = rr_features(np.array([0, 300, 300, 600]), 360)  # duplicated peak
    assert np.all(np.isfinite(dup)) and np.all(dup > 0)
    with pytest.raises(ValueError):
        rr_features(np.array([300, 0]), 360)


def test_real_excerpt_beats_are_r_aligned():
    wfdb = pytest.importorskip("wfdb")
    from pathlib import Path

    from beatscope.dsp import denoise

    path = Path(__file__).parent / "data" / "mitdb_100"
    if not path.with_suffix(".hea").exists():
        pytest.skip("tests/data/mitdb_100 not present")
    x = wfdb.rdrecord(str(path)).p_signal.astype(np.float32)
    with warnings.catch_warnings():  # wfdb's own pandas deprecation noise
        warnings.simplefilter("ignore")
        ann = wfdb.rdann(str(path), "atr")
    peaks = ann.sample[np.isin(ann.symbol, list("NLRAaJSVFejE/fQ"))]
    beats = segment_beats(denoise(x, 360.0), peaks)
    assert beats.shape == (len(peaks), 2, BEAT_LENGTH)
    # MLII R waves: the largest sample is within 3 samples (8 ms) of R_INDEX
    offset = np.abs(beats[:, 0].argmax(axis=1) - R_INDEX)
    assert np.mean(offset <= 3) > 0.95
    feats = rr_features(peaks, 360.0)
    assert 0.7 < np.median(feats[:, 0]) < 0.9 and np.all(np.isfinite(feats))
