"""The analysis engine: quality -> detect -> denoise -> segment + classify -> rhythm.

Plain Python with two hooks, so the GUI's worker, the CLI and tests drive the
same code: ``progress(stage, fraction)`` reports where it is, and
``should_cancel()`` is polled between steps (raising ``CancelledError``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Protocol

import numpy as np

from beatscope.analysis.heart_rate import heart_rate_stats
from beatscope.analysis.prematurity import (
    PrematurityRule,
    apply_prematurity,
    new_rhythms,
    prematurity,
    restarted_gate,
)
from beatscope.analysis.result import AnalysisResult, BeatTable, RhythmInputs
from beatscope.detect import DetectorConfig, detect_r_peaks, lead_weights_from_quality
from beatscope.dsp import (
    DENOISE_DEFAULT,
    TARGET_FS,
    DenoiseConfig,
    QualityReport,
    denoise,
    map_samples,
    resample,
    resolve_powerline,
    signal_quality,
)
from beatscope.errors import CancelledError, RecordError
from beatscope.io import Record, select_model_leads
from beatscope.rhythm import derive_rhythm
from beatscope.segment import (
    RR_FEATURE_NAMES,
    context_plan,
    iter_segment_beats,
    iter_with_local_template,
    qrs_similarity,
    reference_change,
    reference_similarity,
    rr_features,
)

#: The column of ``rr_features`` that holds each beat's pre-RR (the rule's V test).
PRE_RR = RR_FEATURE_NAMES.index("pre_rr_s")

ProgressFn = Callable[[str, float], None]
CancelFn = Callable[[], bool]
WindowsFn = Callable[[int, np.ndarray], None]
#: ``on_beats(first, samples, labels, probabilities)``: a block of classified beats.
BeatsFn = Callable[[int, np.ndarray, np.ndarray, np.ndarray | None], None]

#: Beats segmented and classified per block; the viewer receives them block by block.
BEAT_BLOCK = 8192

#: Beats per classifier call within a block: the progress bar moves after each (a
#: block of 8,192 beats took 20-40 s on 2 cores, and the bar sat still meanwhile).
PROGRESS_SLICE = 1024

#: Shortest record worth analysing: a few beats are needed for RR context.
MIN_DURATION_S = 3.0

#: Stage weights for one overall progress fraction (measured shares of run time).
STAGES = {"quality": 0.10, "detect": 0.33, "denoise": 0.15, "classify": 0.35,
          "templates": 0.02, "rhythm": 0.05}
_STAGE_START = {name: sum(list(STAGES.values())[:i]) for i, name in enumerate(STAGES)}


class Classifier(Protocol):
    """What the engine needs of a beat classifier (``models.BeatClassifier``)."""

    classes: tuple[str, ...]

    def classify(self, windows: np.ndarray, rr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ...

    def describe(self) -> dict: ...


@dataclass(frozen=True)
class AnalysisOptions:
    denoise: DenoiseConfig = DENOISE_DEFAULT
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    keep_windows: bool = False
    #: None: every beat is labelled Q (unclassified).
    classifier: Classifier | None = None
    #: The learned rhythm model whose AF window probabilities are fused with the RR
    #: rules (``beatscope.rhythm.model.RhythmModel``); "default": the shipped one in
    #: model_weights/rhythm (rules alone when it is absent); None: rules alone.
    rhythm_model: object | None = "default"
    #: Splits the classifier's N/S by prematurity (``analysis.prematurity``); None:
    #: the networks' own split. Not in the repr: it does not change the extracted
    #: beats, and the evaluation's beat cache is keyed on that repr.
    prematurity: PrematurityRule | None = field(default_factory=PrematurityRule, repr=False)
    #: R-peak samples to classify instead of detecting them (a reviewer's inserted
    #: beat is classified in its neighbourhood this way); None: detect.
    beats: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: Group the beats into morphology templates (``segment.templates``) for the
    #: review; not in the repr: templates do not change the beats.
    templates: bool = field(default=True, repr=False)


def detect_with_quality(x: np.ndarray, fs: float, quality: QualityReport,
                        config: DetectorConfig | None = None, *,
                        progress: Callable[[float], None] | None = None,
                        should_cancel: CancelFn | None = None) -> np.ndarray:
    """R peaks of ``x``, each lead weighted by the quality index's verdict on it.

    The one way the app detects beats: ``analyze`` and ``evaluate detection`` both
    call it, so the scored detector is the shipped one.
    """
    weights = lead_weights_from_quality(quality.flat, quality.saturated, quality.noisy)
    if not weights.any():  # every lead flat or clipped throughout: no beat to find
        return np.zeros(0, dtype=np.int64)
    return detect_r_peaks(x, fs, config, weights, progress=progress,
                          should_cancel=should_cancel)


def _rhythm_model_windows(record: Record, rhythm_model: object | None,
                          warnings: list[str]) -> tuple[object | None, dict | None]:
    """The rhythm model's window probabilities for ``derive_rhythm`` and the model's
    description, or (None, None): no model, no weights, or a model failure (then
    the rules decide alone)."""
    if rhythm_model is None:
        return None, None
    try:
        if isinstance(rhythm_model, str):
            from beatscope.rhythm.model import load_default_rhythm_model

            rhythm_model = load_default_rhythm_model()
            if rhythm_model is None:
                return None, None
        windows = rhythm_model.windows(record.signals, record.fs, record.lead_names)
        describe = getattr(rhythm_model, "describe", None)
        return rhythm_model.model_input(windows), (describe() if describe else None)
    except Exception as err:  # the rules still run; the model's failure is reported
        warnings.append(f"rhythm model not used ({type(err).__name__}: {err})")
        return None, None


def _describe(classifier: Classifier, rule: PrematurityRule | None) -> dict:
    info = dict(classifier.describe())
    info["prematurity_rule"] = None if rule is None else asdict(rule)
    return info


def lead_view(x: np.ndarray, leads: list[int]) -> np.ndarray:
    """Columns ``leads`` (one or two) of ``x`` as a view, not a copy.

    Any one or two columns form a strided slice, so a 24-h record's model leads
    are read in place (fancy indexing would copy hundreds of megabytes).
    """
    if len(leads) == 1:
        return x[:, leads[0]:leads[0] + 1]
    a, b = leads
    if a == b:
        return x[:, [a, a]]
    if a < b:
        return x[:, a:b + 1:b - a]
    return x[:, a:b - 1 if b > 0 else None:b - a]


class _RuleOnBlocks:
    """The prematurity rule applied to each block as it is classified, then once more
    on the whole record for the new rhythms it finds (``prematurity.new_rhythms``):
    those need the rate two minutes past a change of the reference beat, so the
    streamed labels of the beats they move were provisional. The final labels are
    :func:`beatscope.analysis.prematurity.rule_gate`'s on the whole record.

    ``with_shape``: the networks read the context, so the rule's shape tests (and the
    new-rhythm test, which needs the references) apply."""

    def __init__(self, r_peaks: np.ndarray, fs: float, rule: PrematurityRule,
                 classes, pre_rr_s: np.ndarray, with_shape: bool) -> None:
        self.r_peaks, self.fs, self.rule = r_peaks, fs, rule
        self.classes = tuple(classes)
        self.pre_rr_s = pre_rr_s
        self.with_shape = with_shape
        n = len(r_peaks)
        self.gate, self.applies = prematurity(r_peaks, fs, rule)
        self.raw = np.zeros((n, len(self.classes)), np.float32)  # the networks' outputs
        self.similarity = np.ones(n, np.float32)
        self.qrs_similarity = np.ones(n, np.float32)
        self.change = np.ones(n, np.float32)
        self._last_reference = None

    def block(self, first: int, inputs: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """The block of beats from ``first`` (network ``inputs``, ensemble ``probs``)
        with the rule applied."""
        end = first + len(probs)
        self.raw[first:end] = probs
        similarity = qrs = None
        if self.with_shape:
            similarity = self.similarity[first:end] = reference_similarity(inputs)
            qrs = self.qrs_similarity[first:end] = qrs_similarity(inputs)
            self.change[first:end], self._last_reference = reference_change(
                inputs, self._last_reference)
        return apply_prematurity(probs, self.classes, self.gate[first:end],
                                 self.applies[first:end], similarity, self.rule,
                                 self.pre_rr_s[first:end], qrs)

    def finish(self, probs: np.ndarray, labels: np.ndarray) -> None:
        """In place: the beats whose gate the new rhythms change, re-decided."""
        if not self.with_shape:
            return
        starts = new_rhythms(self.r_peaks, self.fs, self.change, self.rule)
        if len(starts) == 0:
            return  # the gate the blocks had is the whole record's
        fresh, fresh_applies = restarted_gate(self.r_peaks, self.fs, self.rule, starts)
        moved = np.flatnonzero((fresh != self.gate) | (fresh_applies != self.applies))
        if len(moved) == 0:
            return
        p = apply_prematurity(self.raw[moved], self.classes, fresh[moved],
                              fresh_applies[moved], self.similarity[moved], self.rule,
                              self.pre_rr_s[moved], self.qrs_similarity[moved])
        probs[moved] = p
        labels[moved] = np.asarray(self.classes)[p.argmax(axis=1)]


def analyze(record: Record, options: AnalysisOptions | None = None, *,
            progress: ProgressFn | None = None,
            should_cancel: CancelFn | None = None,
            on_windows: WindowsFn | None = None,
            on_beats: BeatsFn | None = None) -> AnalysisResult:
    """Run the whole engine on ``record``; raises RecordError or CancelledError.

    ``on_windows(first_beat, windows)`` receives the z-scored beat windows
    (m, 2, 400) block by block, in beat order; ``on_beats`` receives each block
    of beats as soon as it is classified, so a viewer can paint them while the
    rest of a long record is still being processed.
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
    if options.beats is not None:
        r_peaks = np.unique(np.asarray(options.beats, np.int64))
        r_peaks = r_peaks[(r_peaks >= 0) & (r_peaks < record.n_samples)]
    else:
        r_peaks = detect_with_quality(x, fs, quality, options.detector,
                                      progress=lambda f: step("detect", f),
                                      should_cancel=should_cancel)
    timings["detect"] = time.perf_counter() - t

    # Only the leads the classifier reads are denoised: on a 24-h 12-lead record
    # that is a sixth of the work and of the filtered copy's memory.
    step("denoise")
    t = time.perf_counter()
    leads = select_model_leads(record.lead_names, 2)
    powerline = resolve_powerline(x, fs, options.denoise)
    config = options.denoise
    if config.powerline == "auto":  # resolved once, reported in the summary
        config = replace(config, powerline=powerline)
    clean = denoise(lead_view(x, leads), fs, config,
                    progress=lambda f: step("denoise", f), should_cancel=should_cancel)
    timings["denoise"] = time.perf_counter() - t

    step("classify")
    t = time.perf_counter()
    fs360 = fs
    if fs != TARGET_FS:
        clean, fs360 = resample(clean, fs, TARGET_FS)
    r360 = map_samples(r_peaks, fs, fs360, clean.shape[0])
    plan = context_plan(r_peaks, fs)  # once: the RR features and the templates share it
    rr = rr_features(r_peaks, fs, plan=plan)
    classifier = options.classifier
    labels = np.full(len(r_peaks), "Q", dtype="<U1")
    probs = np.zeros((len(r_peaks), 5), np.float32) if classifier is not None else None
    # Windows are produced in blocks and classified as they come, so a 24-h
    # record never holds them all unless ``keep_windows`` asks for it.
    kept = []
    first = 0
    t_segment = 0.0
    t_block = time.perf_counter()
    wants_context = getattr(classifier, "in_leads", 2) == 4
    rule = None
    if classifier is not None and options.prematurity is not None:
        rule = _RuleOnBlocks(r_peaks, fs, options.prematurity, classifier.classes,
                             rr[:, PRE_RR], with_shape=wants_context)
    # The models take two leads; a one-lead record feeds its lead to both inputs.
    model_inputs = (0, 1) if clean.shape[1] == 2 else (0, 0)  # columns of ``clean``
    blocks = iter_segment_beats(clean, r360, leads=model_inputs, chunk=BEAT_BLOCK)
    if wants_context:
        # each block waits for the next few minutes of beats: its references need them
        streamed = iter_with_local_template(blocks, plan)
    else:
        streamed = ((None, block, block) for block in blocks)
    for _, block, inputs in streamed:
        t_segment += time.perf_counter() - t_block
        end = first + len(block)
        if on_windows is not None:
            on_windows(first, block)
        if options.keep_windows:
            kept.append(block)
        if classifier is not None:
            # in slices, for progress every few seconds rather than every block
            for a in range(0, len(block), PROGRESS_SLICE):
                b = min(len(block), a + PROGRESS_SLICE)
                labels[first + a:first + b], probs[first + a:first + b] = \
                    classifier.classify(inputs[a:b], rr[first + a:first + b])
                step("classify", (first + b) / max(1, len(r360)))
            if rule is not None:
                p = rule.block(first, inputs, probs[first:end])
                probs[first:end] = p
                labels[first:end] = np.asarray(classifier.classes)[p.argmax(axis=1)]
        if on_beats is not None:
            on_beats(first, r_peaks[first:end], labels[first:end],
                     None if probs is None else probs[first:end])
        first = end
        step("classify", first / max(1, len(r360)))
        t_block = time.perf_counter()
    if rule is not None:
        rule.finish(probs, labels)
    windows = None
    if options.keep_windows:
        windows = np.concatenate(kept) if kept else np.zeros((0, 2, 400), np.float32)
    timings["segment"] = t_segment
    timings["classify"] = time.perf_counter() - t - t_segment
    step("classify", 1.0)

    templates = None
    if options.templates and len(r_peaks):
        step("templates")
        from beatscope.segment.templates import cluster_templates

        templates = cluster_templates(clean, r360, r_peaks, fs,
                                      plan.median_rr_s[plan.anchor_of_beat], labels, probs)
        timings["templates"] = templates.seconds
        step("templates", 1.0)

    # Rhythm findings: the learned model's window probabilities (about 4 s for
    # 24 h) fused with the rules on the beat sequence. Without a classifier every
    # label is 'Q' and derive_rhythm makes only the rate, RR-irregularity, pause
    # and noise findings: the ectopy rules need beat classes.
    step("rhythm")
    t = time.perf_counter()
    model_windows, rhythm_model = _rhythm_model_windows(record, options.rhythm_model, warnings)
    rhythm_inputs = RhythmInputs(quality.unreadable_intervals(), model_windows)
    rhythm = derive_rhythm(r_peaks, labels, record.fs, record.duration_s,
                           rhythm_inputs.unreadable_intervals, probabilities=probs,
                           model=model_windows)
    timings["rhythm"] = time.perf_counter() - t
    step("rhythm", 1.0)

    return AnalysisResult(
        record=record,
        beats=BeatTable(sample=r_peaks, label=labels, probability=probs),
        rr_features=rr,
        quality=quality,
        heart_rate=heart_rate_stats(r_peaks, fs),
        timings_s={k: round(v, 4) for k, v in timings.items()},
        model_leads=leads,
        powerline_hz=powerline,
        warnings=warnings,
        windows=windows,
        classifier=None if classifier is None else _describe(classifier, options.prematurity),
        rhythm=rhythm,
        rhythm_model=rhythm_model,
        rhythm_inputs=rhythm_inputs,
        templates=templates,
    )
