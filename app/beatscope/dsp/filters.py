"""Baseline-wander removal, power-line notch and band-pass filtering.

All functions take ``x`` as ``(n_samples,)`` or ``(n_samples, n_leads)`` (axis 0 is
time) plus the sampling rate ``fs`` in Hz, work chunk by chunk (see
:mod:`beatscope.dsp.chunked`) and return a new float32 array of the same shape.
The IIR filters are applied forward and backward (``sosfiltfilt``): zero phase, so
QRS timing and the ST segment are not shifted or distorted by phase delay; the
magnitude response is the square of the designed one (-6 dB at the cut-offs).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage, signal

from beatscope.dsp.chunked import DEFAULT_CHUNK, Kernel, apply_chunked, as_2d

#: Default ECG band (Hz): keeps the ST segment, removes EMG above 40 Hz.
BAND_DEFAULT: tuple[float, float] = (0.5, 40.0)
#: The band used by the source paper.
BAND_PAPER: tuple[float, float] = (0.6, 35.0)

#: Seconds of context on each side of a chunk for the IIR filters. The slowest pole
#: (0.5 Hz high-pass) decays by e^-20 or more over this span.
IIR_OVERLAP_S = 20.0


# --------------------------------------------------------------------------- design

def bandpass_sos(fs: float, low: float | None = BAND_DEFAULT[0],
                 high: float | None = BAND_DEFAULT[1], order: int = 2) -> np.ndarray:
    """Butterworth band-pass (or high-/low-pass when one edge is None) in SOS form.

    ``high`` is clamped to 0.9 x Nyquist so that the default band also works for
    low-rate records (at fs=100 Hz 40 Hz stays, at fs=80 Hz it becomes 36 Hz).
    Returns an empty ``(0, 6)`` array when nothing is left to filter.
    """
    nyq = fs / 2.0
    if high is not None and high >= 0.9 * nyq:
        high = 0.9 * nyq
    if low is not None and low <= 0:
        low = None
    if low is not None and high is not None and low >= high:
        raise ValueError(f"band-pass low edge {low} Hz is not below high edge {high} Hz "
                         f"(fs={fs} Hz)")
    if low is None and high is None:
        return np.zeros((0, 6))
    if low is None:
        return signal.butter(order, high, btype="lowpass", fs=fs, output="sos")
    if high is None:
        return signal.butter(order, low, btype="highpass", fs=fs, output="sos")
    return signal.butter(order, [low, high], btype="bandpass", fs=fs, output="sos")


def notch_sos(fs: float, freq: float = 50.0, harmonics: bool = True,
              q: float = 30.0) -> np.ndarray:
    """Cascade of ``iirnotch`` filters at ``freq`` (and its harmonics), in SOS form.

    Harmonics at or too close to Nyquist are skipped; returns an empty ``(0, 6)``
    array when even the fundamental is out of range.
    """
    nyq = fs / 2.0
    sections = []
    k = 1
    while True:
        f = k * freq
        if f >= 0.98 * nyq:
            break
        b, a = signal.iirnotch(f, q, fs=fs)
        sections.append(signal.tf2sos(b, a))
        if not harmonics:
            break
        k += 1
    if not sections:
        return np.zeros((0, 6))
    return np.vstack(sections)


# --------------------------------------------------------------------------- kernels

def sos_kernel(sos: np.ndarray, fs: float) -> Kernel:
    """Zero-phase SOS filtering of a ``(n_leads, m)`` chunk."""
    sos = np.asarray(sos, dtype=np.float64)
    # Odd extension over ~2 s at the record's edges keeps the start-up transient of
    # the slow high-pass small; inside a record the chunk overlap takes care of it.
    pad = int(round(2.0 * fs))

    def kernel(block: np.ndarray) -> np.ndarray:
        if len(sos) == 0 or block.shape[1] < 2:
            return block
        return signal.sosfiltfilt(sos, block, axis=-1, padlen=min(pad, block.shape[1] - 1))

    return kernel


def baseline_decimation(fs: float, work_fs: float = 50.0) -> int:
    """Block size used to decimate before the median filters."""
    return max(1, int(round(fs / work_fs)))


def baseline_kernel(fs: float, short_s: float = 0.2, long_s: float = 0.6,
                    work_fs: float = 50.0, return_baseline: bool = False) -> Kernel:
    """Two-stage median baseline estimate (``short_s`` then ``long_s`` windows),
    computed on block means at ~``work_fs`` Hz, linearly interpolated back to full
    rate and subtracted. With ``return_baseline`` the kernel returns the baseline
    itself instead of the corrected signal."""
    q = baseline_decimation(fs, work_fs)
    fsd = fs / q

    def odd(v: float) -> int:
        return max(1, int(round(v)) | 1)

    w1, w2 = odd(short_s * fsd), odd(long_s * fsd)

    def kernel(block: np.ndarray) -> np.ndarray:
        n_leads, m = block.shape
        mb = -(-m // q)
        if mb * q != m:
            padded = np.concatenate(
                [block, np.repeat(block[:, -1:], mb * q - m, axis=1)], axis=1)
        else:
            padded = block
        means = padded.reshape(n_leads, mb, q).mean(axis=2)
        centres = np.arange(mb) * q + (q - 1) / 2.0
        t = np.arange(m, dtype=np.float64)
        out = np.empty_like(block)
        for lead in range(n_leads):
            # 1-D median filters are much faster than one 2-D call with size (w, 1).
            b = median_filter_1d(means[lead], w1)
            b = median_filter_1d(b, w2)
            base = np.interp(t, centres, b) if q > 1 else b
            out[lead] = base if return_baseline else block[lead] - base
        return out

    return kernel


#: Samples per scipy.ndimage call in ``median_filter_1d``. ndimage holds the GIL,
#: and one call over a long chunk froze the viewer's GUI thread for tens of ms.
MEDIAN_PIECE = 1 << 15


def median_filter_1d(a: np.ndarray, size: int, piece: int = MEDIAN_PIECE) -> np.ndarray:
    """``ndimage.median_filter(a, size, mode="nearest")`` of a 1-D array, in pieces.

    Identical output: each piece is filtered with ``size // 2`` real samples of
    margin on both sides, so only the array's own ends see the "nearest" padding.
    """
    n = len(a)
    if n <= piece:
        return ndimage.median_filter(a, size=size, mode="nearest")
    half = size // 2
    out = np.empty_like(a)
    for start in range(0, n, piece):
        stop = min(n, start + piece)
        lo, hi = max(0, start - half), min(n, stop + half)
        out[start:stop] = ndimage.median_filter(a[lo:hi], size=size,
                                                mode="nearest")[start - lo:stop - lo]
    return out


def baseline_overlap(fs: float, long_s: float = 0.6) -> int:
    """Context (samples) for exact chunked baseline removal: both medians' reach plus
    the interpolation, with margin."""
    return int(math.ceil(3.0 * fs * (0.2 + long_s))) + 4 * baseline_decimation(fs)


# --------------------------------------------------------------------------- public API

def remove_baseline(x: np.ndarray, fs: float, *, short_s: float = 0.2, long_s: float = 0.6,
                    work_fs: float = 50.0, chunk_size: int = DEFAULT_CHUNK) -> np.ndarray:
    """Remove baseline wander with the classic two-stage median filter (200 ms to drop
    QRS/P, then 600 ms to drop T), computed at ~50 Hz for speed.

    Unlike an aggressive high-pass this follows the isoelectric line without
    distorting the ST segment. Returns float32 shaped like ``x``.
    """
    q = baseline_decimation(fs, work_fs)
    return apply_chunked(baseline_kernel(fs, short_s, long_s, work_fs), x,
                         overlap=baseline_overlap(fs, long_s), align=q, chunk_size=chunk_size)


def notch_powerline(x: np.ndarray, fs: float, freq: float = 50.0, harmonics: bool = True,
                    q: float = 30.0, *, chunk_size: int = DEFAULT_CHUNK) -> np.ndarray:
    """Zero-phase power-line notch (``iirnotch``, quality factor ``q``) at ``freq`` Hz
    and, with ``harmonics``, at its multiples below Nyquist."""
    sos = notch_sos(fs, freq, harmonics, q)
    return apply_chunked(sos_kernel(sos, fs), x, overlap=int(IIR_OVERLAP_S * fs),
                         chunk_size=chunk_size)


def bandpass(x: np.ndarray, fs: float, low: float | None = BAND_DEFAULT[0],
             high: float | None = BAND_DEFAULT[1], order: int = 2, *,
             chunk_size: int = DEFAULT_CHUNK) -> np.ndarray:
    """Zero-phase Butterworth band-pass (``order`` poles per edge before the
    forward-backward pass). Presets: :data:`BAND_DEFAULT` (0.5-40 Hz) and
    :data:`BAND_PAPER` (0.6-35 Hz). ``high`` is clamped below Nyquist."""
    sos = bandpass_sos(fs, low, high, order)
    return apply_chunked(sos_kernel(sos, fs), x, overlap=int(IIR_OVERLAP_S * fs),
                         chunk_size=chunk_size)


def powerline_ratios(x: np.ndarray, fs: float, max_segments: int = 8,
                     segment_s: float = 30.0) -> dict[int, float]:
    """Peak-to-neighbourhood power ratio at 50 and 60 Hz (Welch PSD, leads and
    segments averaged). Long records are sampled at up to ``max_segments`` evenly
    spaced stretches of ``segment_s`` seconds. Records shorter than 4 s give ``{}``."""
    x2d, _ = as_2d(x)
    n = x2d.shape[0]
    seg = int(segment_s * fs)
    if n <= seg * max_segments:
        pieces = [x2d]
    else:
        starts = np.linspace(0, n - seg, max_segments).astype(int)
        pieces = [x2d[s:s + seg] for s in starts]
    nperseg = int(round(4 * fs))  # 0.25 Hz resolution
    psd = None
    freqs = None
    for piece in pieces:
        if piece.shape[0] < nperseg:  # too short for 0.25 Hz resolution
            continue
        piece = np.nan_to_num(np.asarray(piece, dtype=np.float64))
        freqs, p = signal.welch(piece, fs=fs, nperseg=nperseg, axis=0)
        p = p.mean(axis=1)
        psd = p if psd is None else psd + p
    ratios: dict[int, float] = {}
    if psd is None:
        return ratios
    for f0 in (50, 60):
        if f0 + 6 >= fs / 2:
            continue
        dist = np.abs(freqs - f0)
        peak = psd[dist <= 0.5].max()
        ref = np.median(psd[(dist >= 2) & (dist <= 6)])
        ratios[f0] = float(peak / ref) if ref > 0 else (np.inf if peak > 0 else 1.0)
    return ratios


def detect_powerline_frequency(x: np.ndarray, fs: float, min_ratio: float = 4.0) -> int | None:
    """50, 60 or None: which mains frequency stands out of the spectrum.

    A frequency is reported when its Welch peak is at least ``min_ratio`` times
    (6 dB) the surrounding 2-6 Hz and twice the other candidate's ratio. On MITDB
    (60 Hz mains) 50 Hz never exceeds a ratio of 2, while 60 Hz reaches 4-400 in
    the records that carry hum.
    """
    ratios = powerline_ratios(x, fs)
    if not ratios:
        return None
    best = max(ratios, key=ratios.get)
    other = [v for k, v in ratios.items() if k != best]
    if ratios[best] >= min_ratio and all(ratios[best] >= 2 * v for v in other):
        return best
    return None
