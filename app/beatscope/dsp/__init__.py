"""Signal conditioning: denoising, signal quality and resampling.

Functions take plain numpy arrays, ``(n_samples,)`` or ``(n_samples, n_leads)``
with axis 0 as time, plus the sampling rate ``fs`` in Hz, and return float32.
Long records are processed in overlapping chunks, so a 24-h Holter record needs
only a small multiple of one float32 copy of memory.
"""

from beatscope.dsp.filters import (
    BAND_DEFAULT,
    BAND_PAPER,
    bandpass,
    bandpass_sos,
    detect_powerline_frequency,
    notch_powerline,
    notch_sos,
    remove_baseline,
)
from beatscope.dsp.pipeline import (
    DENOISE_DEFAULT,
    DENOISE_PAPER,
    DenoiseConfig,
    denoise,
    resolve_powerline,
)
from beatscope.dsp.quality import QualityReport, signal_quality
from beatscope.dsp.resample import TARGET_FS, map_samples, resample, resampled_length
from beatscope.dsp.wavelet import estimate_noise_sigma, universal_threshold, wavelet_denoise

__all__ = [
    "BAND_DEFAULT",
    "BAND_PAPER",
    "DENOISE_DEFAULT",
    "DENOISE_PAPER",
    "TARGET_FS",
    "DenoiseConfig",
    "QualityReport",
    "bandpass",
    "bandpass_sos",
    "denoise",
    "detect_powerline_frequency",
    "estimate_noise_sigma",
    "map_samples",
    "notch_powerline",
    "notch_sos",
    "remove_baseline",
    "resample",
    "resampled_length",
    "resolve_powerline",
    "signal_quality",
    "universal_threshold",
    "wavelet_denoise",
]
