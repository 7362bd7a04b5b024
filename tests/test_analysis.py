"""The headless analysis engine ``analyze()``: beats, heart rate, timings, the progress
and cancel hooks, records it must refuse or survive, and sampling rates other than
360 Hz. Inputs are the shipped excerpts (tests/data) or Records built from them."""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from beatscope.aami import is_beat
from beatscope.analysis import MIN_DURATION_S, AnalysisOptions, AnalysisResult, analyze
from beatscope.analysis.pipeline import STAGES as PIPELINE_STAGES
from beatscope.errors import CancelledError, RecordError
from beatscope.evaluate import score_detection
from beatscope.io import Record, load_record
from beatscope.io.validate import finalise

DATA = Path(__file__).parent / "data"
STAGES = list(PIPELINE_STAGES)  # pipeline order


@cache
def excerpt(name: str) -> Record:
    return load_record(DATA / f"{name}.hea")


@cache
def analysed(name: str) -> AnalysisResult:
    return analyze(excerpt(name))


def reference_beats(record: Record) -> np.ndarray:
    ann = record.annotations
    assert ann is not None
    return ann.sample[[is_beat(s) for s in ann.symbol]]


def make_record(signals: np.ndarray, fs: float = 360.0, name: str = "synthetic",
                **kw: object) -> Record:
    return Record(name=name, signals=np.ascontiguousarray(signals, dtype=np.float32), fs=fs,
                  lead_names=["MLII", "V5"][: signals.shape[1]],
                  units=["mV"] * signals.shape[1], **kw)


def score(name: str, reference: Record, detected: np.ndarray, fs: float | None = None,
          n_samples: int | None = None):
    """Se/+P of ``detected`` against ``reference``'s .atr, mapped to ``fs`` if given."""
    ann = reference.annotations
    assert ann is not None
    ratio = 1.0 if fs is None else fs / reference.fs
    ref = np.round(ann.sample * ratio).astype(np.int64)
    return score_detection(name, ref, ann.symbol, detected, fs or reference.fs,
                           n_samples or reference.n_samples)


# --------------------------------------------------------------------------- excerpts


@pytest.mark.parametrize("name", ["mitdb_100", "mitdb_119"])
def test_beat_count_matches_reference(name: str) -> None:
    rec, res = excerpt(name), analysed(name)
    n_ref = len(reference_beats(rec))
    assert abs(len(res.beats) - n_ref) <= 2, (len(res.beats), n_ref)
    sample = res.beats.sample
    assert sample.dtype == np.int64
    assert np.all(np.diff(sample) > 0)
    assert sample[0] >= 0 and sample[-1] < rec.n_samples
    assert len(res.beats.label) == len(sample)
    assert set(res.beats.label.tolist()) <= {"N", "S", "V", "F", "Q"}
    assert res.rr_features.shape[0] == len(sample)
    assert res.windows is None  # only kept on request


def test_stage_timings_present() -> None:
    res = analysed("mitdb_100")
    assert set(res.timings_s) == {"quality", "detect", "denoise", "segment", "classify",
                                  "templates", "rhythm"}
    assert all(isinstance(v, float) and 0.0 <= v < 60.0 for v in res.timings_s.values())


@pytest.mark.parametrize(("name", "lo", "hi"), [
    ("mitdb_100", 70.0, 78.0),  # measured 74.0 bpm (147 RR in 119 s)
    ("mitdb_119", 60.0, 70.0),  # measured 65.4 bpm
])
def test_heart_rate_stats(name: str, lo: float, hi: float) -> None:
    hr = analysed(name).heart_rate
    assert lo <= hr["mean_bpm"] <= hi
    assert lo <= hr["median_bpm"] <= hi
    assert hr["min_bpm"] <= hr["median_bpm"] <= hr["max_bpm"]
    assert 40.0 <= hr["min_bpm"] and hr["max_bpm"] <= 120.0
    assert hr["n_rr"] == len(analysed(name).beats) - 1
    assert hr["pauses_over_2s"] == 0
    assert 0.6 < hr["longest_rr_s"] < 1.5


def test_progress_is_monotonic_and_ends_at_one() -> None:
    calls: list[tuple[str, float]] = []
    analyze(excerpt("mitdb_100"), progress=lambda stage, f: calls.append((stage, f)))
    assert calls, "progress was never called"
    stages = [s for s, _ in calls]
    fractions = [f for _, f in calls]
    assert set(stages) <= set(STAGES)
    assert stages[0] == "quality" and stages[-1] == "rhythm"
    # Stages come in pipeline order.
    order = [STAGES.index(s) for s in stages]
    assert order == sorted(order)
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert all(b >= a for a, b in zip(fractions, fractions[1:], strict=False)), fractions
    assert fractions[-1] == pytest.approx(1.0, abs=1e-9)


def test_cancel_before_start() -> None:
    polled = []

    def cancel() -> bool:
        polled.append(True)
        return True

    with pytest.raises(CancelledError):
        analyze(excerpt("mitdb_100"), should_cancel=cancel)
    assert len(polled) == 1  # stopped at the first poll, not after running everything


def test_cancel_midway() -> None:
    polls = 0

    def cancel_after_three() -> bool:
        nonlocal polls
        polls += 1
        return polls > 3

    with pytest.raises(CancelledError):
        analyze(excerpt("mitdb_100"), should_cancel=cancel_after_three)
    assert polls == 4


def test_never_cancelled_runs_through() -> None:
    res = analyze(excerpt("mitdb_100"), should_cancel=lambda: False)
    assert len(res.beats) == len(analysed("mitdb_100").beats)


# --------------------------------------------------------------------------- odd records


def test_record_shorter_than_minimum_is_refused() -> None:
    short = make_record(excerpt("mitdb_100").signals[:1000], name="short")  # 2.8 s
    with pytest.raises(RecordError) as err:
        analyze(short)
    msg = str(err.value)
    assert "short" in msg and "2.8 s" in msg and f"{MIN_DURATION_S:.0f} s" in msg
    assert "\n" not in msg
    # Exactly the minimum is accepted.
    ok = make_record(excerpt("mitdb_100").signals[: int(MIN_DURATION_S * 360)], name="ok")
    assert len(analyze(ok).beats) >= 2


def test_all_zero_record_gives_no_beats_and_a_warning() -> None:
    flat = make_record(np.zeros((360 * 20, 2)), name="flat")
    res = analyze(flat, AnalysisOptions(keep_windows=True))
    assert len(res.beats) == 0
    assert any("no readable ECG" in w for w in res.warnings), res.warnings
    assert res.heart_rate["mean_bpm"] is None and res.heart_rate["n_rr"] == 0
    assert res.windows is not None and res.windows.shape == (0, 2, 400)
    assert res.rr_features.shape[0] == 0


@pytest.mark.parametrize("both_leads", [False, True])
def test_record_with_nan_stretch_still_analyses(both_leads: bool) -> None:
    rec100 = excerpt("mitdb_100")
    x = np.array(rec100.signals, dtype=np.float32)
    gap = slice(10_000, 12_000)  # 5.6 s
    x[gap, : 2 if both_leads else 1] = np.nan
    rec = finalise(make_record(x, name="gappy"))  # NaN -> 0 + invalid_mask, as readers do
    assert rec.invalid_mask is not None and int(rec.invalid_mask.sum()) > 0
    assert np.isfinite(rec.signals).all()
    res = analyze(rec)
    assert any("NaN" in w for w in res.warnings)
    s = score("gappy", rec100, res.beats.sample)
    if not both_leads:
        # The other lead carries every beat.
        assert s.sensitivity >= 99.0 and s.ppv >= 99.0, s
    else:
        # Beats outside the gap are all found; nothing is invented inside it.
        ref = reference_beats(rec100)
        outside = ref[(ref < gap.start - 200) | (ref > gap.stop + 200)]
        found = np.abs(res.beats.sample[None, :] - outside[:, None]).min(axis=1) <= 54
        assert found.mean() >= 0.99
        inside = res.beats.sample[(res.beats.sample > gap.start + 100)
                                  & (res.beats.sample < gap.stop - 100)]
        assert len(inside) == 0, inside


def test_invalid_mask_given_directly() -> None:
    rec100 = excerpt("mitdb_100")
    x = np.array(rec100.signals, dtype=np.float32)
    mask = np.zeros(x.shape, dtype=bool)
    mask[20_000:21_000, 1] = True
    x[mask] = 0.0
    res = analyze(make_record(x, name="masked", invalid_mask=mask))
    s = score("masked", rec100, res.beats.sample)
    assert s.sensitivity >= 99.0 and s.ppv >= 99.0, s


# --------------------------------------------------------------------------- sampling rates


@pytest.mark.parametrize("fs", [128, 250, 500, 1000])
@pytest.mark.parametrize("name", ["mitdb_100", "mitdb_119"])
def test_resampled_record_matches_reference(name: str, fs: int) -> None:
    rec = excerpt(name)
    ratio = Fraction(fs) / Fraction(rec.fs)
    x = resample_poly(np.asarray(rec.signals, dtype=np.float64), ratio.numerator,
                      ratio.denominator, axis=0)
    res = analyze(make_record(x, fs=float(fs), name=f"{name}_{fs}"))
    assert res.record.fs == fs
    assert res.beats.sample.max() < x.shape[0]
    s = score(name, rec, res.beats.sample, fs=float(fs), n_samples=x.shape[0])
    assert s.sensitivity >= 99.0 and s.ppv >= 99.0, s.as_dict()
    # Heart rate does not depend on the sampling rate.
    assert res.heart_rate["mean_bpm"] == pytest.approx(analysed(name).heart_rate["mean_bpm"],
                                                       abs=1.0)


# --------------------------------------------------------------------------- beat windows


@pytest.mark.parametrize("fs", [360, 250])
def test_keep_windows(fs: int) -> None:
    rec = excerpt("mitdb_119")
    if fs != 360:
        ratio = Fraction(fs, 360)
        x = resample_poly(np.asarray(rec.signals, dtype=np.float64), ratio.numerator,
                          ratio.denominator, axis=0)
        rec = make_record(x, fs=float(fs), name="mitdb_119_250")
    res = analyze(rec, AnalysisOptions(keep_windows=True))
    w = res.windows
    assert w is not None
    assert w.shape == (len(res.beats), 2, 400)
    assert w.dtype == np.float32
    assert np.isfinite(w).all()
    assert float(np.abs(w).max()) > 0  # not all padding

