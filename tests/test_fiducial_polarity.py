"""Polarity-consistent fiducials (``detect.locate``, ``consistent_polarity``): a
biphasic QRS must not be marked on its R wave in one beat and its S wave in the next."""

from __future__ import annotations

import numpy as np

from beatscope.detect import DetectorConfig, compute_feature
from beatscope.detect.decision import decide
from beatscope.detect.locate import locate_r_peaks

FS = 300.0


def _gauss(t: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((t - centre) / width) ** 2)


def _strip(n_beats: int = 40, rr: float = 0.8, pvc_at: int | None = None, seed: int = 0):
    """One lead of biphasic beats: an R wave at the beat time, an S wave 40 ms later
    and on average a little deeper, their sizes jittering so that in about a quarter
    of the beats the R wave is the larger."""
    rng = np.random.default_rng(seed)
    t = np.arange(int((n_beats + 1) * rr * FS)) / FS
    x = np.zeros_like(t)
    beats = (np.arange(n_beats) + 0.5) * rr
    for k, b in enumerate(beats):
        if k == pvc_at:  # wide, one-sided: a deep wave, barely any upstroke
            x += -1.6 * _gauss(t, b + 0.02, 0.025) + 0.2 * _gauss(t, b - 0.05, 0.015)
            continue
        r, s = 1.0 + 0.06 * rng.standard_normal(), 1.05 + 0.06 * rng.standard_normal()
        x += r * _gauss(t, b, 0.008) - s * _gauss(t, b + 0.04, 0.008)
        x += 0.25 * _gauss(t, b + 0.3, 0.05)  # T wave
    return x[:, None].astype(np.float32), beats


def _marks(x: np.ndarray, consistent: bool) -> np.ndarray:
    cfg = DetectorConfig()
    feature = compute_feature(x, FS, cfg, None)
    return locate_r_peaks(x, FS, decide(feature.values, FS, cfg), feature,
                          consistent_polarity=consistent)


def _offset_ms(marks: np.ndarray, beats: np.ndarray) -> np.ndarray:
    nearest = beats[np.abs(marks[:, None] / FS - beats[None, :]).argmin(axis=1)]
    return np.round(1000 * (marks / FS - nearest))


def test_without_it_the_marks_alternate_between_r_and_s() -> None:
    x, beats = _strip()
    offsets = _offset_ms(_marks(x, False), beats)
    assert (np.abs(offsets) <= 4).sum() >= 5 and (np.abs(offsets - 40) <= 4).sum() >= 5


def test_with_it_every_normal_beat_is_marked_on_the_same_wave() -> None:
    x, beats = _strip()
    offsets = _offset_ms(_marks(x, True), beats)
    assert (np.abs(offsets - 40) <= 4).all()  # the S wave, the larger on most beats


def test_a_one_sided_ectopic_beat_keeps_its_own_largest_deflection() -> None:
    x, beats = _strip(pvc_at=20)
    marks = _marks(x, True)
    pvc = marks[np.abs(marks / FS - beats[20]).argmin()]
    assert abs(pvc / FS - (beats[20] + 0.02)) < 0.006  # its deep wave, not the small rise


def test_off_by_default_and_same_beats_either_way() -> None:
    x, beats = _strip(seed=3)
    assert len(_marks(x, True)) == len(_marks(x, False)) == len(beats)
    import inspect

    assert inspect.signature(locate_r_peaks).parameters["consistent_polarity"].default is False
