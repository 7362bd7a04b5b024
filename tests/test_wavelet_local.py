"""The wavelet stage's local threshold (``dsp.wavelet``, ``wavelet_local``): a sample's
shrinkage depends on the noise within about a minute of it, not on the whole record."""

from __future__ import annotations

import numpy as np
import pytest

from beatscope.dsp.wavelet import (
    SIGMA_NEIGHBOURS,
    local_noise_sigma,
    sigma_block_samples,
    wavelet_denoise,
)

FS = 360.0


def _ecg_like(seconds: float, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FS)) / FS
    beats = np.exp(-0.5 * ((t % 0.8 - 0.4) / 0.01) ** 2)  # a spike every 0.8 s
    return np.stack([beats, -0.5 * beats], axis=1) + noise * rng.standard_normal((len(t), 2))


def test_the_noise_level_is_measured_where_it_is() -> None:
    x = np.concatenate([_ecg_like(300, 0.01, 0), _ecg_like(300, 0.1, 1)]).astype(np.float32)
    sigma = local_noise_sigma(x, FS)
    blocks = len(sigma)
    assert blocks == int(np.ceil(len(x) / sigma_block_samples(FS)))
    quiet, loud = sigma[: blocks // 2 - SIGMA_NEIGHBOURS], sigma[blocks // 2 + SIGMA_NEIGHBOURS:]
    assert np.all(loud > 5 * quiet.max())
    np.testing.assert_allclose(np.median(loud[:, 0]) / np.median(quiet[:, 0]), 10, rtol=0.2)


def test_local_result_does_not_depend_on_the_chunking() -> None:
    x = _ecg_like(600, 0.05, 2).astype(np.float32)
    whole = wavelet_denoise(x, fs=FS, local=True, chunk_size=1 << 22)
    pieces = wavelet_denoise(x, fs=FS, local=True, chunk_size=1 << 14)
    np.testing.assert_allclose(pieces, whole, atol=1e-5)


def test_samples_far_from_a_junction_do_not_see_the_other_record() -> None:
    block = sigma_block_samples(FS)
    other = _ecg_like(20 * block / FS, 0.3, 3).astype(np.float32)  # a noisy patient first
    own = _ecg_like(600, 0.02, 4).astype(np.float32)
    joined = np.concatenate([other, own])
    reach = (SIGMA_NEIGHBOURS + 2) * block
    alone_local = wavelet_denoise(own, fs=FS, local=True)
    joined_local = wavelet_denoise(joined, fs=FS, local=True)[len(other):]
    np.testing.assert_allclose(joined_local[reach:], alone_local[reach:], atol=1e-5)
    # the whole-record threshold is pulled up by the noisy patient
    alone_global = wavelet_denoise(own, fs=FS)
    joined_global = wavelet_denoise(joined, fs=FS)[len(other):]
    assert np.abs(joined_global[reach:] - alone_global[reach:]).max() > 1e-3


def test_a_long_record_is_thresholded_as_a_short_one() -> None:
    short = _ecg_like(300, 0.05, 5).astype(np.float32)
    long = np.concatenate([short] * 8)  # 40 min: sqrt(2 ln n) would grow
    np.testing.assert_allclose(wavelet_denoise(long, fs=FS, local=True)[:len(short) // 2],
                               wavelet_denoise(short, fs=FS, local=True)[:len(short) // 2],
                               atol=1e-5)


def test_local_needs_the_sampling_rate() -> None:
    with pytest.raises(ValueError, match="sampling rate"):
        wavelet_denoise(np.zeros(4096, np.float32), local=True)
