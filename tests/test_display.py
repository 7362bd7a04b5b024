"""The viewer's Qt-free arithmetic: decimation, paper scale, navigation, calipers."""

from __future__ import annotations

import numpy as np
import pytest

from beatscope.display import (
    Baseline,
    BeatStore,
    MinMaxPyramid,
    PaperScale,
    Phase,
    ViewerSession,
    adjacent_beat,
    adjacent_beat_of_class,
    adjacent_episode,
    format_clock,
    format_duration,
    heart_rate_at,
    heart_rate_trend,
    marks_in_view,
    measure,
    min_max_envelope,
    parse_clock,
)


def test_min_max_envelope_keeps_every_peak():
    y = np.zeros(1000, np.float32)
    y[123], y[777] = 5.0, -4.0
    lo, hi = min_max_envelope(y, 100)
    assert len(lo) == 10
    assert hi.max() == 5.0 and lo.min() == -4.0
    assert hi[1] == 5.0 and lo[7] == -4.0


def test_pyramid_window_matches_brute_force_envelope():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200_000, 2)).astype(np.float32)
    x[150_001, 1] = 40.0  # one spike must survive any zoom level
    p = MinMaxPyramid(x, 360.0)
    assert p.n_levels >= 2
    for start, stop in [(0, 200_000), (12_345, 190_000), (100_000, 160_000)]:
        t, y = p.window(1, start, stop, 1000)
        assert len(t) <= 1000 + 4
        assert np.all(np.diff(t) >= 0)
        seg = x[start:stop, 1]
        assert y.max() == seg.max() and y.min() == seg.min()
    t, y = p.window(0, 10, 500, 1000)  # fits: raw samples, exact times
    np.testing.assert_array_equal(y, x[10:500, 0])
    np.testing.assert_allclose(t, np.arange(10, 500) / 360.0)
    assert t.dtype == np.float64


def test_pyramid_raw_limit_and_baseline_levelling():
    fs = 250.0
    n = 60 * 250
    t = np.arange(n) / fs
    drift = 2.0 + 0.8 * np.sin(2 * np.pi * 0.1 * t)  # DC offset and slow wander
    x = (drift + 0.1 * np.sin(2 * np.pi * 8 * t)).astype(np.float32)[:, None]
    base = Baseline(x, fs)
    p = MinMaxPyramid(x, fs, base)
    tt, y = p.window(0, 0, n, 200, raw_limit=n)  # raw allowed though over max_points
    assert len(y) == n
    assert abs(float(np.median(y))) < 0.05  # levelled around zero
    _, env = p.window(0, 0, n, 200)
    assert env.max() < 0.3 and env.min() > -0.3


def test_paper_scale_millimetres():
    s = PaperScale(speed_mm_s=25, gain_mm_mv=10, pixels_per_mm=4.0)
    assert s.seconds_for_width(1000) == pytest.approx(10.0)  # 250 mm at 25 mm/s
    assert s.millivolts_for_height(400) == pytest.approx(10.0)
    assert s.small_box_s == pytest.approx(0.04) and s.large_box_s == pytest.approx(0.2)
    assert s.small_box_mv == pytest.approx(0.1) and s.large_box_mv == pytest.approx(0.5)
    assert s.effective_speed(1000, 5.0) == pytest.approx(50.0)
    spacing = s.lead_spacing_mv(400, 2)
    assert spacing == pytest.approx(5.0)
    assert (spacing / s.large_box_mv) == pytest.approx(round(spacing / s.large_box_mv))
    assert s.with_speed(50).seconds_for_width(1000) == pytest.approx(5.0)


def test_clock_round_trip():
    assert format_clock(3725.5) == "01:02:06"
    assert format_clock(3725.5, 3) == "01:02:05.500"
    assert format_clock(90_000) == "25:00:00"
    assert parse_clock("1:02:05") == 3725
    assert parse_clock("62:05") == 3725
    assert parse_clock("12.5") == 12.5
    for bad in ("", "1:60", "a:b", "1:2:3:4"):
        with pytest.raises(ValueError):
            parse_clock(bad)
    assert format_duration(378.4) == "6 min 18 s"
    assert format_duration(7500) == "2 h 05 min"


def test_calipers():
    m = measure(1.0, 0.2, 1.8, 1.4)
    assert m.dt_ms == pytest.approx(800)
    assert m.rate_bpm == pytest.approx(75)
    assert m.dv_mv == pytest.approx(1.2)
    back = measure(1.8, 1.4, 1.0, 0.2)  # dragged right to left
    assert back.dt_ms == pytest.approx(800) and back.dv_mv == pytest.approx(-1.2)
    assert measure(1.0, 0.0, 1.0, 0.0).rate_bpm is None


def _store(labels: str, fs: float = 100.0, rr: int = 80) -> BeatStore:
    store = BeatStore(fs)
    samples = np.arange(len(labels), dtype=np.int64) * rr + 50
    store.extend(0, samples, np.array(list(labels)), None)
    return store


def test_beat_store_streams_in_blocks_and_reports_probabilities():
    store = BeatStore(360.0)
    probs = np.full((3, 5), 0.05, np.float32)
    probs[[0, 1, 2], [0, 2, 0]] = 0.8
    store.extend(0, np.array([100, 400, 700]), np.array(["N", "V", "N"]), probs)
    store.extend(3, np.array([1000]), np.array(["S"]), None)
    assert len(store) == 4
    np.testing.assert_allclose(store.probability[:3], 0.8)
    assert np.isnan(store.probability[3])
    assert store.counts() == {"N": 2, "S": 1, "V": 1, "F": 0, "Q": 0}
    with pytest.raises(ValueError):
        store.extend(2, np.array([5]), np.array(["N"]), None)  # out of order
    assert store.in_range(400 / 360, 1000 / 360) == slice(1, 4)
    assert store.nearest(1.05) == 1  # 378 samples: closer to 400 than 100


def test_marks_thin_zoomed_out_but_keep_ectopy():
    labels = np.array(["N"] * 10_000)
    labels[5_000] = "V"
    samples = np.arange(10_000, dtype=np.int64) * 100
    all_marks = marks_in_view(samples, labels, 100.0, 0, 100, 1000)
    assert sum(len(v) for v in all_marks.values()) == 101  # 0..100 s, all shown
    thin = marks_in_view(samples, labels, 100.0, 0, 10_000, 200)
    assert sum(len(v) for v in thin.values()) <= 201
    assert list(thin["V"]) == [5_000]  # a lone PVC survives thinning


def test_navigation():
    store = _store("NNVNNSNNV")
    s, lab = store.sample, store.label
    assert adjacent_beat(s, None, 1) == 0
    assert adjacent_beat(s, 8, 1) == 8  # clamped
    t_first_v = s[2] / store.fs
    assert adjacent_beat_of_class(s, lab, store.fs, 0.0, "V", True) == 2
    assert adjacent_beat_of_class(s, lab, store.fs, t_first_v, "V", True) == 8  # strictly after
    assert adjacent_beat_of_class(s, lab, store.fs, t_first_v, "V", False) is None
    assert adjacent_beat_of_class(s, lab, store.fs, 100.0, "S", False) == 5
    assert adjacent_beat_of_class(s, lab, store.fs, 0.0, "F", True) is None
    episodes = [{"start_s": 30.0}, {"start_s": 5.0}, {"start_s": 12.0}]
    assert adjacent_episode(episodes, 0.0, True) == 1
    assert adjacent_episode(episodes, 5.0, True) == 2
    assert adjacent_episode(episodes, 12.0, False) == 1
    assert adjacent_episode(episodes, 30.0, True) is None


def test_heart_rate_trend_and_cursor_rate():
    fs = 100.0
    samples = np.cumsum(np.r_[[0], np.full(299, 100)])  # 1 s RR: 60 bpm
    samples = np.r_[samples, samples[-1] + 1000 + np.cumsum(np.full(100, 50))]  # gap, 120 bpm
    t, hr = heart_rate_trend(samples, fs, samples[-1] / fs, 50)
    assert np.nanmin(hr) == pytest.approx(60) and np.nanmax(hr) == pytest.approx(120)
    assert np.isnan(hr).any()  # the 10-s gap is not a heart period
    assert heart_rate_at(samples, fs, 100.0) == pytest.approx(60)
    assert heart_rate_at(samples[:1], fs, 0.0) is None


def test_session_lifecycle_and_jumps():
    class Rec:
        fs = 100.0
        duration_s = 10.0
        notes = ["a loader note"]

    session = ViewerSession()
    assert session.phase is Phase.EMPTY
    session.loaded(Rec(), pyramid=None)
    assert session.phase is Phase.ANALYSING and session.warnings == ["a loader note"]
    store = _store("NVNNV")
    session.add_beats(0, store.sample, store.label, None)
    assert session.jump_to_class("V", 0.0, True) == 1
    assert session.selected_beat == 1
    assert session.step_beat(1) == 2
    session.cancel()
    assert session.phase is Phase.CANCELLED


def test_thinned_marks_never_overlap_and_ectopy_wins():
    # beats 0.13 buckets apart with an F and a V falling either side of a bucket edge:
    # both once survived, a letter's width apart at most ("FV")
    rng = np.random.default_rng(3)
    samples = np.cumsum(rng.integers(60, 90, 5_000)).astype(np.int64)
    labels = rng.choice(np.array(list("NNNNNNSVF")), len(samples))
    t0, t1, max_marks = 0.0, samples[-1] / 100.0, 150
    chosen = marks_in_view(samples, labels, 100.0, t0, t1, max_marks)
    t = np.sort(np.concatenate([samples[i] / 100.0 for i in chosen.values()]))
    assert np.diff(t).min() >= (t1 - t0) / max_marks - 1e-9
    shown = sum(len(v) for v in chosen.values())
    assert shown >= 0.45 * max_marks  # thinned, not emptied
    assert len(chosen["N"]) < shown / 2  # ectopic marks are preferred
