"""The bxb-like scorer: one-to-one matching of detections to reference beats, and
Se/+P with EC57's exclusions (VF episodes, non-beat annotations)."""

from __future__ import annotations

import numpy as np
import pytest

from beatscope.evaluate import DetectionScore, excluded_intervals, match_beats, score_detection
from beatscope.evaluate.detection import MATCH_WINDOW_S


def arr(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


# --------------------------------------------------------------------------- match_beats


def test_match_exact_and_unsorted_detections_index_the_input() -> None:
    out = match_beats(arr(100, 200, 300), arr(301, 99, 205), tolerance=10)
    assert out.dtype == np.int64
    assert out.tolist() == [1, 2, 0]  # indices into ``detected`` as given, not sorted


def test_match_is_one_to_one() -> None:
    # Three references, one detection: exactly one reference gets it.
    out = match_beats(arr(100, 101, 102), arr(101), tolerance=10)
    assert out.tolist() == [-1, 0, -1]
    # One reference, three detections: one match, the others stay unmatched.
    out = match_beats(arr(100), arr(95, 99, 104), tolerance=10)
    assert out.tolist() == [1]


def test_nearest_detection_wins() -> None:
    out = match_beats(arr(100), arr(92, 103, 108), tolerance=10)
    assert out.tolist() == [1]


def test_detection_between_two_references_goes_to_the_closer() -> None:
    # 112 is 12 from 100 and 8 from 120: a first-come matcher would give it to 100.
    out = match_beats(arr(100, 120), arr(112), tolerance=15)
    assert out.tolist() == [-1, 0]
    out = match_beats(arr(100, 120), arr(107), tolerance=15)
    assert out.tolist() == [0, -1]


def test_closer_pair_does_not_steal_when_both_can_match() -> None:
    # 104 is closest to 100; 109 then goes to 112 (both within tolerance).
    out = match_beats(arr(100, 112), arr(104, 109), tolerance=10)
    assert out.tolist() == [0, 1]


@pytest.mark.parametrize(("det", "matched"), [
    (110, True), (90, True),  # exactly at the tolerance: inclusive
    (111, False), (89, False),  # one sample beyond
])
def test_tolerance_edge_is_inclusive(det: int, matched: bool) -> None:
    out = match_beats(arr(100), arr(det), tolerance=10)
    assert out.tolist() == ([0] if matched else [-1])


def test_empty_inputs() -> None:
    out = match_beats(arr(), arr(1, 2, 3), tolerance=5)
    assert out.shape == (0,) and out.dtype == np.int64
    out = match_beats(arr(10, 20), arr(), tolerance=5)
    assert out.tolist() == [-1, -1]
    assert match_beats(arr(), arr(), tolerance=5).shape == (0,)
    # Nothing within tolerance at all.
    assert match_beats(arr(10, 20), arr(100, 200), tolerance=5).tolist() == [-1, -1]


# --------------------------------------------------------------------------- score_detection


def test_score_arithmetic() -> None:
    fs = 100.0  # 150 ms -> 15 samples
    ref = arr(100, 200, 300, 400, 500)
    det = arr(105, 210, 290, 450, 500, 600)
    s = score_detection("x", ref, ["N", "V", "N", "N", "A"], det, fs, 1000)
    # 105, 210, 290, 500 match; 400 is missed; 450 (50 away) and 600 are false.
    assert (s.tp, s.fn, s.fp) == (4, 1, 2)
    assert s.sensitivity == pytest.approx(80.0)
    assert s.ppv == pytest.approx(100.0 * 4 / 6)
    assert s.as_dict() == {"record": "x", "tp": 4, "fn": 1, "fp": 2, "se": 80.0, "ppv": 66.667}


def test_score_uses_150_ms_window_at_record_rate() -> None:
    fs = 360.0
    window = int(round(MATCH_WINDOW_S * fs))
    assert window == 54
    on_edge = score_detection("x", arr(1000), ["N"], arr(1000 + window), fs, 5000)
    beyond = score_detection("x", arr(1000), ["N"], arr(1000 + window + 1), fs, 5000)
    assert (on_edge.tp, on_edge.fn, on_edge.fp) == (1, 0, 0)
    assert (beyond.tp, beyond.fn, beyond.fp) == (0, 1, 1)


def test_vf_episode_excluded_for_references_and_detections() -> None:
    ref = arr(100, 150, 200, 250, 300, 400)
    sym = ["N", "[", "!", "N", "]", "N"]  # a beat labelled inside VF is excluded too
    det = arr(100, 160, 200, 260, 290, 400, 700)
    s = score_detection("vf", ref, sym, det, 100.0, 1000)
    # Inside [150, 300]: 160, 200, 260, 290 are not counted; 700 is a false positive.
    assert (s.tp, s.fn, s.fp) == (2, 0, 1)
    assert excluded_intervals(ref, sym, 1000).tolist() == [[150, 300]]


def test_unterminated_vf_episode_runs_to_the_end() -> None:
    ref = arr(100, 500, 600)
    sym = ["N", "[", "!"]
    s = score_detection("vf", ref, sym, arr(100, 550, 900), 100.0, 1000)
    assert (s.tp, s.fn, s.fp) == (1, 0, 0)
    assert excluded_intervals(ref, sym, 1000).tolist() == [[500, 1000]]


def test_non_beat_annotations_are_not_reference_beats() -> None:
    ref = arr(100, 200, 300, 400, 500, 600, 700)
    sym = ["N", "+", "~", "|", "!", "x", "V"]
    s = score_detection("nb", ref, sym, arr(100, 700), 100.0, 1000)
    assert (s.tp, s.fn, s.fp) == (2, 0, 0)
    # ... and a detection on a non-beat mark is a false positive, not a match.
    s = score_detection("nb", ref, sym, arr(100, 300, 700), 100.0, 1000)
    assert (s.tp, s.fn, s.fp) == (2, 0, 1)


@pytest.mark.parametrize("symbol", ["N", "L", "R", "e", "j", "A", "a", "J", "S", "V", "E", "F",
                                    "/", "f", "Q"])
def test_every_mitbih_beat_symbol_is_a_reference_beat(symbol: str) -> None:
    s = score_detection("b", arr(100), [symbol], arr(), 100.0, 1000)
    assert (s.tp, s.fn, s.fp) == (0, 1, 0)


def test_no_references_no_detections() -> None:
    s = score_detection("empty", arr(), [], arr(), 360.0, 1000)
    assert (s.tp, s.fn, s.fp) == (0, 0, 0)


# --------------------------------------------------------------------------- pooling


def test_scores_pool_by_adding_counts() -> None:
    a = DetectionScore("a", tp=90, fn=10, fp=0)
    b = DetectionScore("b", tp=10, fn=0, fp=10)
    pooled = a + b
    assert pooled == DetectionScore("pooled", tp=100, fn=10, fp=10)
    # Gross statistics: from pooled counts, not the mean of per-record percentages.
    assert pooled.sensitivity == pytest.approx(100.0 * 100 / 110)
    assert pooled.ppv == pytest.approx(100.0 * 100 / 110)
    assert (a.sensitivity + b.sensitivity) / 2 == pytest.approx(95.0)  # which would differ
    assert (a + b + DetectionScore("c", 1, 2, 3)).as_dict()["tp"] == 101
