"""The denoising pipeline: baseline -> power-line notch -> band-pass -> wavelet.

This is the source paper's order. The notch and band-pass are linear and
time-invariant, so they run as one SOS cascade in a single forward-backward pass
(the same zero-phase response as applying them one after the other, cheaper).
Everything runs chunk by chunk into one float32 output array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from beatscope.dsp.chunked import (
    DEFAULT_CHUNK,
    CancelFn,
    ProgressFn,
    apply_chunked,
    as_2d,
    check_cancel,
    restore_shape,
)
from beatscope.dsp.filters import (
    BAND_DEFAULT,
    BAND_PAPER,
    IIR_OVERLAP_S,
    bandpass_sos,
    baseline_decimation,
    baseline_kernel,
    baseline_overlap,
    detect_powerline_frequency,
    notch_sos,
    sos_kernel,
)
from beatscope.dsp.wavelet import resolve_level, wavelet_denoise

_POWERLINE_CHOICES = (50, 60, "auto", None)


@dataclass(frozen=True)
class DenoiseConfig:
    """Settings of :func:`denoise`.

    ``powerline``: 50, 60, ``"auto"`` (detect from the spectrum; no notch when no
    mains peak stands out) or None (no notch). ``band``: band-pass edges in Hz, or
    None to skip. ``wavelet``: pywt name for the shrinkage stage;
    ``wavelet_level`` None picks the level from ``fs`` (4 at 360 Hz, see
    :func:`beatscope.dsp.wavelet.default_level`). ``wavelet_local``: the shrinkage
    threshold from the noise within about a minute and a fixed 30-min length
    (``dsp.wavelet``'s local threshold), so that a beat's denoising does not depend on
    beats hours away; False: the whole record's noise and length, as before session 11.
    The scores do not move (same networks, docs/VALIDATION.md section 7): DS1-CV
    94.97 % / SVEB F1 58.88 / VEB F1 78.30 both ways, DS2 93.16 / 57.93 / 80.80
    whole-record, 93.15 / 57.86 / 80.79 local.
    """

    powerline: int | str | None = "auto"
    band: tuple[float, float] | None = BAND_DEFAULT
    wavelet: str = "db8"
    wavelet_enabled: bool = True
    baseline_enabled: bool = True
    wavelet_level: int | None = None
    wavelet_mode: str = "soft"
    wavelet_local: bool = True
    bandpass_order: int = 2
    notch_q: float = 30.0

    def __post_init__(self) -> None:
        if self.powerline not in _POWERLINE_CHOICES:
            raise ValueError(f"powerline must be one of 50, 60, 'auto', None "
                             f"(got {self.powerline!r})")
        if self.band is not None:
            low, high = self.band
            if not 0 <= low < high:
                raise ValueError(f"band must be (low, high) with 0 <= low < high, "
                                 f"got {self.band!r}")
        if self.wavelet_mode not in ("soft", "hard"):
            raise ValueError("wavelet_mode must be 'soft' or 'hard'")


#: The defaults (0.5-40 Hz band, automatic mains detection).
DENOISE_DEFAULT = DenoiseConfig()
#: The source paper's band (0.6-35 Hz).
DENOISE_PAPER = DenoiseConfig(band=BAND_PAPER)


def resolve_powerline(x: np.ndarray, fs: float, config: DenoiseConfig = DENOISE_DEFAULT
                      ) -> int | None:
    """The mains frequency :func:`denoise` will notch for this config (or None)."""
    if config.powerline == "auto":
        return detect_powerline_frequency(x, fs)
    return config.powerline  # type: ignore[return-value]


def denoise(x: np.ndarray, fs: float, config: DenoiseConfig = DENOISE_DEFAULT, *,
            progress: ProgressFn | None = None, should_cancel: CancelFn | None = None,
            chunk_size: int = DEFAULT_CHUNK) -> np.ndarray:
    """Denoise ``x`` (``(n,)`` or ``(n, n_leads)``, mV) sampled at ``fs`` Hz.

    Stages, in order: baseline removal (two-stage median), power-line notch,
    band-pass, wavelet shrinkage, each optional via ``config``. Returns a new
    float32 array shaped like ``x``; non-finite input samples are treated as 0.

    ``progress(fraction)`` is called after each chunk; ``should_cancel()`` is polled
    before each chunk and :class:`~beatscope.errors.CancelledError` is raised when
    it returns True.
    """
    x2d, was_1d = as_2d(x)
    n = x2d.shape[0]
    check_cancel(should_cancel)
    mains = resolve_powerline(x2d, fs, config)

    sections = []
    if mains is not None:
        sections.append(notch_sos(fs, float(mains), True, config.notch_q))
    if config.band is not None:
        sections.append(bandpass_sos(fs, config.band[0], config.band[1], config.bandpass_order))
    sos = np.vstack(sections) if sections else np.zeros((0, 6))
    filt = sos_kernel(sos, fs) if len(sos) else None
    base = baseline_kernel(fs) if config.baseline_enabled else None

    def kernel(block: np.ndarray) -> np.ndarray:
        if base is not None:
            block = base(block)
        if filt is not None:
            block = filt(block)
        return block

    lvl = resolve_level(n, config.wavelet, config.wavelet_level, fs)
    do_wavelet = config.wavelet_enabled and lvl >= 1
    split = 0.7 if do_wavelet else 1.0
    if base is None and filt is None:
        out = np.array(x2d, dtype=np.float32)
        np.nan_to_num(out, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    else:
        overlap = max(int(IIR_OVERLAP_S * fs), baseline_overlap(fs))
        out = apply_chunked(kernel, x2d, overlap=overlap, align=baseline_decimation(fs),
                            chunk_size=chunk_size, progress=progress,
                            should_cancel=should_cancel, progress_span=(0.0, split))
    if do_wavelet:
        def wave_progress(frac: float) -> None:
            if progress is not None:
                progress(split + (1.0 - split) * frac)

        # the noise level (whole-record or local) is measured there, before shrinking
        out = wavelet_denoise(out, config.wavelet, lvl, config.wavelet_mode, fs=fs,
                              chunk_size=chunk_size, progress=wave_progress,
                              should_cancel=should_cancel, out=out, local=config.wavelet_local)
    elif progress is not None:
        progress(1.0)
    return restore_shape(out, was_1d)
