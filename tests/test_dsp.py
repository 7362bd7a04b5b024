"""Tests of beatscope.dsp on synthetic signals (no external data)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import signal

from beatscope.dsp import (
    BAND_PAPER,
    DenoiseConfig,
    bandpass,
    bandpass_sos,
    denoise,
    detect_powerline_frequency,
    estimate_noise_sigma,
    map_samples,
    notch_powerline,
    notch_sos,
    remove_baseline,
    resample,
    resampled_length,
    signal_quality,
    wavelet_denoise,
)
from beatscope.dsp.chunked import chunk_plan
from beatscope.errors import CancelledError

FS = 360.0


def synthetic_ecg(duration_s: float = 30.0, fs: float = FS, hr_bpm: float = 72.0,
                  amplitude: float = 1.2) -> tuple[np.ndarray, np.ndarray]:
    """ECG-like trace (Gaussian P, QRS, T) with a zero isoelectric line, and its R
    peak indices."""
    n = int(round(duration_s * fs))
    t = np.arange(n) / fs
    rr = 60.0 / hr_bpm
    beats = np.arange(0.4, duration_s - 0.4, rr)
    x = np.zeros(n)
    for b in beats:
        for offset, width, amp in ((-0.17, 0.025, 0.12), (-0.025, 0.008, -0.1),
                                   (0.0, 0.010, 1.0), (0.025, 0.008, -0.2),
                                   (0.28, 0.05, 0.3)):
            lo, hi = int((b + offset - 5 * width) * fs), int((b + offset + 5 * width) * fs) + 1
            sl = slice(max(lo, 0), min(hi, n))
            x[sl] += amp * amplitude * np.exp(-0.5 * ((t[sl] - b - offset) / width) ** 2)
    return x.astype(np.float32), np.round(beats * fs).astype(np.int64)


def two_lead(duration_s: float = 30.0, fs: float = FS) -> np.ndarray:
    a, _ = synthetic_ecg(duration_s, fs)
    return np.stack([a, 0.6 * a], axis=1)


def tone_amplitude(x: np.ndarray, fs: float, f: float) -> float:
    """Amplitude of the ``f`` Hz component (least squares on sin/cos)."""
    t = np.arange(len(x)) / fs
    basis = np.stack([np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, np.asarray(x, dtype=np.float64), rcond=None)
    return float(np.hypot(*coef))


# ----------------------------------------------------------------- chunk plan

def test_chunk_plan_covers_and_aligns():
    plan = chunk_plan(100_003, chunk_size=10_000, overlap=1000, align=256)
    assert plan[0].start == 0 and plan[-1].stop == 100_003
    for a, b in zip(plan, plan[1:], strict=False):
        assert a.stop == b.start
        assert b.start % 256 == 0 and b.ext_start % 256 == 0
        assert b.start - b.ext_start >= 1000
    assert chunk_plan(0) == []


# ----------------------------------------------------------------- baseline

def spike_train(duration_s: float = 40.0, fs: float = FS) -> tuple[np.ndarray, np.ndarray]:
    """Narrow QRS-like spikes (1 mV, 10 ms) every 0.8 s."""
    n = int(duration_s * fs)
    peaks = np.arange(int(0.4 * fs), n - int(0.4 * fs), int(0.8 * fs))
    x = np.zeros(n, dtype=np.float32)
    k = np.arange(-10, 11)
    x[peaks[:, None] + k] = np.exp(-0.5 * (k / 3.6) ** 2)
    return x, peaks


def test_remove_baseline_removes_slow_sine_from_spike_train():
    spikes, peaks = spike_train()
    t = np.arange(len(spikes)) / FS
    wander = (0.8 * np.sin(2 * np.pi * 0.3 * t) + 0.3).astype(np.float32)
    y = remove_baseline(spikes + wander, FS)
    assert y.dtype == np.float32 and y.shape == spikes.shape
    core = slice(int(2 * FS), int(-2 * FS))
    assert tone_amplitude(y[core], FS, 0.3) < 0.02  # from 0.8 mV
    assert np.sqrt(np.mean((y[core] - spikes[core]) ** 2)) < 0.03
    np.testing.assert_allclose(y[peaks[2:-2]], 1.0, atol=0.1)  # spikes kept


def test_remove_baseline_on_pqrst_keeps_waves():
    ecg, peaks = synthetic_ecg(40.0)
    t = np.arange(len(ecg)) / FS
    wander = (0.8 * np.sin(2 * np.pi * 0.3 * t) + 0.3).astype(np.float32)
    y = remove_baseline(ecg + wander, FS)
    core = slice(int(2 * FS), int(-2 * FS))
    # The median follows a steep baseline with a bias from the broad T waves, but
    # removes > 94 % of the wander and keeps the R waves.
    assert tone_amplitude(y[core], FS, 0.3) < 0.05
    assert np.sqrt(np.mean((y[core] - ecg[core]) ** 2)) < 0.1
    inner = peaks[(peaks > 2 * FS) & (peaks < len(ecg) - 2 * FS)]
    np.testing.assert_allclose(y[inner], ecg[inner], atol=0.1 * ecg.max())
    # without wander the isoelectric line stays put (the ST segment is not distorted)
    flat = remove_baseline(ecg, FS)
    assert np.abs(flat[core] - ecg[core]).max() < 0.03


def test_remove_baseline_two_leads_and_chunking_is_exact():
    x = two_lead(60.0) + np.linspace(-1, 1, int(60 * FS))[:, None].astype(np.float32)
    a = remove_baseline(x, FS)
    b = remove_baseline(x, FS, chunk_size=3000)
    assert a.shape == x.shape
    np.testing.assert_allclose(a, b, atol=1e-6)


# ----------------------------------------------------------------- notch

@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_notch_removes_mains_and_harmonic(mains):
    ecg, _ = synthetic_ecg(20.0)
    t = np.arange(len(ecg)) / FS
    hum = 0.2 * np.sin(2 * np.pi * mains * t) + 0.05 * np.sin(2 * np.pi * 2 * mains * t)
    y = notch_powerline(ecg + hum.astype(np.float32), FS, freq=mains)
    core = slice(int(2 * FS), int(-2 * FS))
    assert tone_amplitude(y[core], FS, mains) < 0.2 * 10 ** (-30 / 20)  # > 30 dB down
    assert tone_amplitude(y[core], FS, 2 * mains) < 0.005
    assert np.sqrt(np.mean((y[core] - ecg[core]) ** 2)) < 0.03  # ECG itself kept


def test_notch_skips_harmonics_above_nyquist():
    assert len(notch_sos(360.0, 60.0)) == 2  # 60, 120 (180 is Nyquist)
    assert len(notch_sos(360.0, 50.0)) == 3  # 50, 100, 150
    assert len(notch_sos(360.0, 60.0, harmonics=False)) == 1
    assert len(notch_sos(100.0, 50.0)) == 0
    x = np.ones(500, dtype=np.float32)
    np.testing.assert_allclose(notch_powerline(x, 100.0, 50.0), x)


@pytest.mark.parametrize("mains", [50, 60])
def test_detect_powerline_frequency(mains):
    rng = np.random.default_rng(1)
    x = two_lead(60.0) + rng.normal(0, 0.02, (int(60 * FS), 2)).astype(np.float32)
    assert detect_powerline_frequency(x, FS) is None
    t = np.arange(len(x)) / FS
    hummed = x + 0.05 * np.sin(2 * np.pi * mains * t)[:, None]
    assert detect_powerline_frequency(hummed, FS) == mains
    assert detect_powerline_frequency(hummed[:, 0], FS) == mains
    assert detect_powerline_frequency(x[:, 0], 100.0) is None  # 60 Hz above Nyquist


# ----------------------------------------------------------------- band-pass

def test_bandpass_frequency_response():
    sos = bandpass_sos(FS, 0.5, 40.0)
    freqs = np.array([0.05, 0.5, 5.0, 10.0, 20.0, 40.0, 100.0])
    _, h = signal.sosfreqz(sos, worN=freqs, fs=FS)
    gain = np.abs(h) ** 2  # forward-backward squares the magnitude
    assert gain[2] == pytest.approx(1.0, abs=0.02) and gain[3] == pytest.approx(1.0, abs=0.02)
    assert gain[1] == pytest.approx(0.5, abs=0.02) and gain[5] == pytest.approx(0.5, abs=0.02)
    assert gain[0] < 1e-3 and gain[6] < 0.01


def test_bandpass_applied_to_tones():
    t = np.arange(int(30 * FS)) / FS
    for f, lo_gain, hi_gain in ((10.0, 0.97, 1.03), (0.05, 0.0, 0.02), (100.0, 0.0, 0.01)):
        x = np.sin(2 * np.pi * f * t).astype(np.float32)
        y = bandpass(x, FS)
        core = slice(int(5 * FS), int(-5 * FS))
        assert lo_gain <= tone_amplitude(y[core], FS, f) <= hi_gain, f


def test_bandpass_presets_and_low_fs_clamp():
    assert BAND_PAPER == (0.6, 35.0)
    sos = bandpass_sos(80.0, 0.5, 40.0)  # 40 Hz is Nyquist at 80 Hz: clamped
    assert np.all(np.isfinite(sos))
    x = two_lead(10.0, fs=100.0)
    y = bandpass(x, 100.0, *BAND_PAPER)
    assert y.shape == x.shape and np.all(np.isfinite(y))
    with pytest.raises(ValueError):
        bandpass_sos(FS, 30.0, 10.0)


# ----------------------------------------------------------------- wavelet

def test_wavelet_chunked_matches_unchunked():
    rng = np.random.default_rng(2)
    x = two_lead(600.0) + rng.normal(0, 0.05, (int(600 * FS), 2)).astype(np.float32)
    whole = wavelet_denoise(x)
    chunked = wavelet_denoise(x, chunk_size=40_000)
    assert whole.dtype == np.float32 and whole.shape == x.shape
    np.testing.assert_allclose(chunked, whole, atol=1e-5)
    np.testing.assert_allclose(estimate_noise_sigma(x, chunk_size=30_000),
                               estimate_noise_sigma(x), rtol=1e-6)
    inplace = x.copy()
    wavelet_denoise(inplace, chunk_size=40_000, out=inplace)
    np.testing.assert_allclose(inplace, whole, atol=1e-5)
    deep = wavelet_denoise(x[:, 0], level=8, mode="hard")
    np.testing.assert_allclose(wavelet_denoise(x[:, 0], level=8, mode="hard", chunk_size=20_000),
                               deep, atol=1e-5)


def test_wavelet_reduces_white_noise():
    rng = np.random.default_rng(3)
    ecg, peaks = synthetic_ecg(60.0)
    noisy = ecg + rng.normal(0, 0.05, ecg.shape).astype(np.float32)
    sigma = estimate_noise_sigma(noisy)
    assert sigma[0] == pytest.approx(0.05, rel=0.15)
    y = wavelet_denoise(noisy, fs=FS)
    assert y.shape == ecg.shape and y.dtype == np.float32
    assert np.sqrt(np.mean((y - ecg) ** 2)) < 0.9 * np.sqrt(np.mean((noisy - ecg) ** 2))
    away = np.ones(len(ecg), dtype=bool)
    for p in peaks:
        away[max(p - 40, 0):p + 40] = False
    assert np.sqrt(np.mean((y - ecg)[away] ** 2)) < 0.5 * 0.05  # between QRS complexes
    assert np.mean(y[peaks] / ecg[peaks]) > 0.8  # soft threshold bias on R stays small
    hard = wavelet_denoise(noisy, fs=FS, mode="hard")
    assert np.sqrt(np.mean((hard - ecg) ** 2)) < 0.6 * 0.05
    assert wavelet_denoise(noisy[:10]).shape == (10,)  # too short: returned as is
    with pytest.raises(ValueError):
        wavelet_denoise(noisy, mode="garrote")


# ----------------------------------------------------------------- resample

def test_resample_round_trip_and_exact_rate():
    fs_in = 250.0
    t = np.arange(int(20 * fs_in)) / fs_in
    x = (np.sin(2 * np.pi * 3 * t) + 0.5 * np.sin(2 * np.pi * 17 * t)).astype(np.float32)
    x2 = np.stack([x, -x], axis=1)
    y, fs_out = resample(x2, fs_in, 360.0)
    assert fs_out == 360.0 and y.dtype == np.float32
    assert len(y) == resampled_length(len(x), fs_in, 360.0) == 7200
    t_out = np.arange(len(y)) / fs_out
    ref = np.sin(2 * np.pi * 3 * t_out) + 0.5 * np.sin(2 * np.pi * 17 * t_out)
    core = slice(200, -200)
    np.testing.assert_allclose(y[core, 0], ref[core], atol=0.01)
    back, fs_back = resample(y, fs_out, fs_in)
    assert fs_back == fs_in and back.shape == x2.shape
    np.testing.assert_allclose(back[core], x2[core], atol=0.01)
    chunked, _ = resample(x2, fs_in, 360.0, chunk_size=1000)
    np.testing.assert_allclose(chunked, y, atol=1e-5)


def test_resample_identity_and_odd_rates():
    x = np.arange(10, dtype=np.float64)
    y, f = resample(x, 360.0, 360.0)
    assert f == 360.0 and y.dtype == np.float32
    np.testing.assert_array_equal(y, x)
    y, f = resample(np.zeros(1000), 257.3, 360.0)
    assert abs(f - 360.0) < 0.5 and len(y) == resampled_length(1000, 257.3, 360.0)


def test_map_samples():
    idx = np.array([0, 100, 359, 360, 1000])
    np.testing.assert_array_equal(map_samples(idx, 360, 250), [0, 69, 249, 250, 694])
    np.testing.assert_array_equal(map_samples(idx, 360, 250, n_to=500), [0, 69, 249, 250, 499])
    np.testing.assert_array_equal(map_samples(map_samples(idx, 360, 720), 720, 360), idx)
    assert map_samples(-5, 360, 250) == 0
    assert map_samples(np.array([], dtype=int), 360, 250).shape == (0,)


# ----------------------------------------------------------------- quality

def test_quality_clean_signal_is_good():
    rng = np.random.default_rng(4)
    x = two_lead(120.0) + rng.normal(0, 0.01, (int(120 * FS), 2)).astype(np.float32)
    rep = signal_quality(x, FS)
    assert rep.good.shape == (120, 2)
    assert rep.good.mean() > 0.97
    assert np.all((rep.score >= 0) & (rep.score <= 1))
    s = rep.summary()
    assert s["seconds_analysed"] == 120 and s["unreadable"] == []
    assert s["leads"][0]["good_pct"] > 97


def test_quality_flags_flat_saturated_noisy_invalid():
    rng = np.random.default_rng(5)
    n_s = 90
    x = two_lead(n_s) + rng.normal(0, 0.01, (int(n_s * FS), 2)).astype(np.float32)
    sec = int(FS)
    # 10-15 s: both leads disconnected (flat)
    x[10 * sec:15 * sec] = 0.0
    # 20-25 s, lead 0: large artefact clipped by the amplifier at +-1.5 mV
    t = np.arange(5 * sec) / FS
    x[20 * sec:25 * sec, 0] += (4.0 * np.sin(2 * np.pi * 0.7 * t)).astype(np.float32)
    x[:, 0] = np.clip(x[:, 0], -1.5, 1.5)
    # 30-35 s, lead 1: strong muscle noise
    x[30 * sec:35 * sec, 1] += rng.normal(0, 0.4, 5 * sec).astype(np.float32)
    # 40-41 s, lead 0: samples the reader could not decode
    invalid = np.zeros(x.shape, dtype=bool)
    invalid[40 * sec + 10:40 * sec + 20, 0] = True
    rep = signal_quality(x, FS, invalid_mask=invalid, lead_names=["MLII", "V1"])

    assert rep.flat[10:15].all() and not rep.flat[:9].any() and not rep.flat[16:].any()
    assert rep.saturated[20:25, 0].sum() >= 3 and not rep.saturated[:, 1].any()
    assert not rep.saturated[:19, 0].any() and not rep.saturated[26:, 0].any()
    assert rep.noisy[31:34, 1].all() and not rep.noisy[31:34, 0].any()
    assert rep.noisy[40, 0] and not rep.noisy[40, 1]
    good = rep.good
    clean = np.ones(n_s, dtype=bool)
    for a, b in ((9, 16), (19, 26), (29, 36), (40, 41)):
        clean[a:b] = False
    assert good[clean].all()
    # score is 0 for flat/saturated/invalid and good <=> score > 0.5
    assert np.all(rep.score[rep.flat | rep.saturated] == 0)
    np.testing.assert_array_equal(good, rep.score > 0.5)

    s = rep.summary()
    assert json.loads(json.dumps(s)) == s
    assert [lead["lead"] for lead in s["leads"]] == ["MLII", "V1"]
    assert s["unreadable"] == [[10.0, 15.0]]
    assert s["unreadable_s"] == 5.0
    assert s["leads"][0]["flat_pct"] == pytest.approx(100 * 5 / n_s, abs=0.01)


def test_quality_nan_samples_and_short_input():
    x = two_lead(20.0)
    x[5 * 360 + 3, 1] = np.nan
    rep = signal_quality(x, FS)
    assert rep.noisy[5, 1] and not rep.noisy[5, 0] and rep.score[5, 1] == 0
    one = signal_quality(x[:500, 0], FS)  # 1-D, 1.4 s: the partial second counts
    assert one.good.shape == (2, 1)
    assert signal_quality(np.zeros((0, 2), dtype=np.float32), FS).n_seconds == 0


def test_quality_motion_artefact():
    rng = np.random.default_rng(6)
    x = two_lead(120.0)
    sec = int(FS)
    # electrode-motion-like artefact: smoothed random steps of several mV
    steps = np.repeat(rng.normal(0, 2.0, 40), sec // 4)[: 10 * sec]
    steps = np.convolve(steps, np.ones(20) / 20, mode="same")
    x[60 * sec:70 * sec, 0] += steps.astype(np.float32)
    rep = signal_quality(x, FS)
    assert rep.noisy[60:70, 0].mean() >= 0.6
    assert not rep.noisy[:58].any() and not rep.noisy[72:].any()
    assert not rep.noisy[:, 1].any()


DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("name", ["mitdb_100", "mitdb_203"])
def test_quality_on_real_excerpts(name):
    wfdb = pytest.importorskip("wfdb")
    if not (DATA / f"{name}.hea").exists():
        pytest.skip(f"tests/data/{name} not present")
    x = wfdb.rdrecord(str(DATA / name)).p_signal.astype(np.float32)
    rep = signal_quality(x, FS)
    assert rep.n_seconds == 120
    assert rep.good.mean(axis=0).min() >= 0.97  # clean (100) and AF + VT runs (203)
    assert rep.summary()["unreadable"] == []


# ----------------------------------------------------------------- pipeline

def test_denoise_basic_shapes_and_order():
    rng = np.random.default_rng(7)
    ecg, peaks = synthetic_ecg(60.0)
    t = np.arange(len(ecg)) / FS
    dirty = (ecg + 0.5 * np.sin(2 * np.pi * 0.25 * t) + 0.1 * np.sin(2 * np.pi * 60 * t)
             + rng.normal(0, 0.02, len(ecg))).astype(np.float32)
    y = denoise(dirty, FS)
    assert y.dtype == np.float32 and y.shape == ecg.shape
    core = slice(int(3 * FS), int(-3 * FS))
    assert tone_amplitude(y[core], FS, 60.0) < 0.005
    assert tone_amplitude(y[core], FS, 0.25) < 0.03
    inner = peaks[(peaks > 3 * FS) & (peaks < len(ecg) - 3 * FS)]
    assert np.all(np.abs(y[inner] - ecg[inner]) < 0.25 * ecg.max())
    x2 = np.stack([dirty, dirty], axis=1)
    y2 = denoise(x2, FS, DenoiseConfig(powerline=60))
    np.testing.assert_allclose(y2[:, 0], y, atol=1e-5)


def test_denoise_chunked_matches_whole_and_handles_nan():
    rng = np.random.default_rng(8)
    x = two_lead(300.0) + rng.normal(0, 0.03, (int(300 * FS), 2)).astype(np.float32)
    x[1000, 0] = np.nan
    whole = denoise(x, FS)
    chunked = denoise(x, FS, chunk_size=30_000)
    assert np.all(np.isfinite(whole))
    np.testing.assert_allclose(chunked, whole, atol=1e-4)


def test_denoise_config_switches():
    x = two_lead(20.0)
    off = DenoiseConfig(powerline=None, band=None, wavelet_enabled=False,
                        baseline_enabled=False)
    np.testing.assert_array_equal(denoise(x, FS, off), x)
    with pytest.raises(ValueError):
        DenoiseConfig(powerline=55)
    with pytest.raises(ValueError):
        DenoiseConfig(band=(40.0, 0.5))
    with pytest.raises(dataclasses.FrozenInstanceError):
        DenoiseConfig().powerline = 50  # type: ignore[misc]
    paper = denoise(x, FS, DenoiseConfig(band=BAND_PAPER, powerline=50))
    assert paper.shape == x.shape and np.all(np.isfinite(paper))


def test_denoise_progress_and_cancel():
    x = two_lead(120.0)
    seen: list[float] = []
    denoise(x, FS, progress=seen.append, chunk_size=10_000)
    assert seen and seen[-1] == pytest.approx(1.0)
    assert all(b >= a for a, b in zip(seen, seen[1:], strict=False))

    calls = {"n": 0}

    def cancel_after_two() -> bool:
        calls["n"] += 1
        return calls["n"] > 2

    with pytest.raises(CancelledError):
        denoise(x, FS, should_cancel=cancel_after_two, chunk_size=10_000)
    with pytest.raises(CancelledError):
        denoise(x, FS, should_cancel=lambda: True)
