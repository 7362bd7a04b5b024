"""The analysis engine: quality -> detect -> denoise -> segment (-> classify).

Plain Python with two hooks, so the GUI's worker, the CLI and tests drive the
same code: ``progress(stage, fraction)`` reports where it is, and
``should_cancel()`` is polled between steps (raising ``CancelledError``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from beatscope.analysis.heart_rate import heart_rate_stats
from beatscope.analysis.result import AnalysisResult, BeatTable
from beatscope.detect import DetectorConfig, detect_r_peaks, lead_weights_from_quality
from beatscope.dsp import (
    DENOISE_DEFAULT,
    TARGET_FS,
    DenoiseConfig,
    denoise,
    map_samples,
    resample,
    resolve_powerline,
    signal_quality,
)
from beatscope.errors import CancelledError, RecordError
from beatscope.io import Record, select_model_leads
from beatscope.segment import iter_segment_beats, rr_features

ProgressFn = Callable[[str, float], None]
CancelFn = Callable[[], bool]
WindowsFn = Callable[[int, np.ndarray], None]

#: Shortest record worth analysing: a few beats are needed for RR context.
MIN_DURATION_S = 3.0

#: Stage weights for one overall progress fraction (measured shares of run time).
STAGES = {"quality": 0.15, "detect": 0.55, "denoise": 0.25, "segment": 0.05}
_STAGE_START = {name: sum(list(STAGES.values())[:i]) for i, name in enumerate(STAGES)}


@dataclass(frozen=True)
class AnalysisOptions:
    denoise: DenoiseConfig = DENOISE_DEFAULT
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    keep_windows: bool = False


def analyze(record: Record, options: AnalysisOptions | None = None, *,
            progress: ProgressFn | None = None,
            should_cancel: CancelFn | None = None,
            on_windows: WindowsFn | None = None) -> AnalysisResult:
    """Run the whole engine on ``record``; raises RecordError or CancelledError.

    ``on_windows(first_beat, windows)`` receives the z-scored beat windows
    (m, 2, 400) block by block, in beat order.
    """
    options = options or AnalysisOptions()
    if record.duration_s < MIN_DURATION_S:
        raise RecordError(
            f"{record.name}: record is {record.duration_s:.1f} s long; "
            f"at least {MIN_DURATION_S:.0f} s are needed to find beats")
    timings: dict[str, float] = {}
    warnings: list[str] = list(record.notes)

    def step(stage: str, fraction: float = 0.0) -> None:
        if should_cancel is not None and should_cancel():
            raise CancelledError(f"{record.name}: analysis cancelled")
        if progress is not None:
            progress(stage, min(1.0, _STAGE_START[stage] + STAGES[stage] * fraction))

    x, fs = record.signals, record.fs

    step("quality")
    t = time.perf_counter()
    quality = signal_quality(x, fs, record.invalid_mask, lead_names=record.lead_names)
    timings["quality"] = time.perf_counter() - t
    if not quality.readable().any():
        warnings.append("no readable ECG: every lead is flat, saturated or noise throughout")

    # Detection runs on the raw signal (it band-passes on its own) and before
    # denoising, so a 24-h record never holds the denoised copy and the
    # detector's working arrays at the same time.
    step("detect")
    t = time.perf_counter()
    weights = lead_weights_from_quality(quality.flat, quality.saturated, quality.noisy)
    if weights.any():
        r_peaks = detect_r_peaks(x, fs, options.detector, weights,
                                 progress=lambda f: step("detect", f),
                                 should_cancel=should_cancel)
    else:  # every lead flat or clipped throughout: no beat to find
        r_peaks = np.zeros(0, dtype=np.int64)
    timings["detect"] = time.perf_counter() - t

    step("denoise")
    t = time.perf_counter()
    powerline = resolve_powerline(x, fs, options.denoise)
    config = options.denoise
    if config.powerline == "auto":  # resolved once, reported in the summary
        config = replace(config, powerline=powerline)
    clean = denoise(x, fs, config,
                    progress=lambda f: step("denoise", f), should_cancel=should_cancel)
    timings["denoise"] = time.perf_counter() - t

    step("segment")
    t = time.perf_counter()
    leads = select_model_leads(record.lead_names, 2)
    if fs != TARGET_FS:
        clean, fs360 = resample(clean[:, leads], fs, TARGET_FS)
        leads_360 = list(range(len(leads)))
    else:
        fs360, leads_360 = fs, leads
    r360 = map_samples(r_peaks, fs, fs360, clean.shape[0])
    # Windows are produced in blocks and handed to ``on_windows`` (the beat
    # classifier's input) as they come, so a 24-h record never holds them all
    # unless ``keep_windows`` asks for it.
    kept = []
    first = 0
    for block in iter_segment_beats(clean, r360, leads=tuple(leads_360)):
        if on_windows is not None:
            on_windows(first, block)
        if options.keep_windows:
            kept.append(block)
        first += len(block)
        step("segment", first / max(1, len(r360)))
    windows = None
    if options.keep_windows:
        windows = np.concatenate(kept) if kept else np.zeros((0, 2, 400), np.float32)
    rr = rr_features(r_peaks, fs)
    timings["segment"] = time.perf_counter() - t
    step("segment", 1.0)

    labels = np.full(len(r_peaks), "Q", dtype="<U1")
    return AnalysisResult(
        record=record,
        beats=BeatTable(sample=r_peaks, label=labels),
        rr_features=rr,
        quality=quality,
        heart_rate=heart_rate_stats(r_peaks, fs),
        timings_s={k: round(v, 4) for k, v in timings.items()},
        model_leads=leads,
        powerline_hz=powerline,
        warnings=warnings,
        windows=windows,
    )
