"""The report's content, built from an analysis and its review (Qt-free).

:func:`build_report` gathers every number and every choice the pages show; the
renderer (:mod:`beatscope.report.pdf`) only lays them out. The beats are the reviewed
ones where a review exists (deleted beats out, inserted ones in, the reviewer's
labels) and the model's otherwise, and the report says which; the rhythm findings are
the ones the viewer shows for the same beats (derived again on the reviewed beats
when the review changed any), so the report and the screen cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from beatscope import __version__
from beatscope.aami import AAMI_CLASSES
from beatscope.report.numbers import HeartRate, HourRow, Trend, heart_rate, hourly, trend
from beatscope.report.patient import Patient, Recording, deidentify, patient_of, recording_of
from beatscope.report.strips import Strip, choose_strips
from beatscope.report.urgent import THRESHOLDS, UrgentThresholds, urgent_findings
from beatscope.rhythm.vocabulary import RHYTHM_NAMES

#: What the shipped models scored on data they never saw (docs/VALIDATION.md has the
#: tables and the commands): printed on page 1 so the reader can weigh the labels.
VALIDATION_LINES = (
    "Beat classes, inter-patient (trained on MIT-BIH DS1, tested on the 22 DS2 patients): "
    "93.2 % of beats right, ventricular F1 80.9, supraventricular F1 58.3 "
    "(beatscope evaluate classification --protocol ds2).",
    "Rhythm, PhysioNet/CinC 2017 record-wise 5-fold cross-validation: AF F1 0.83, mean F1 "
    "(normal, AF, other) 0.83.",
    "These are population figures: individual labels can be wrong, which is why each "
    "report is reviewed beat by beat before it is signed.",
)
#: Trend resolution: one bin per minute up to 6 h of recording, 5 min beyond.
TREND_BIN_S = (60.0, 300.0)


@dataclass(frozen=True)
class ReviewSummary:
    reviewers: tuple[str, ...]
    changed: int
    total: int
    pairs: dict[str, int]
    conclusion: str


@dataclass(frozen=True)
class Provenance:
    software: str
    beat_model: str
    rhythm_model: str
    validation: tuple[str, ...] = VALIDATION_LINES


@dataclass
class Report:
    patient: Patient
    recording: Recording
    deidentified: bool
    duration_s: float
    analysable_s: float
    unreadable_s: float
    heart_rate: HeartRate
    labels_source: str  # "reviewed" or "model"
    classified: bool
    model_counts: dict[str, int]
    reviewed_counts: dict[str, int] | None
    total_beats: int
    ectopy: dict  # the rhythm object's events (ventricular, supraventricular, pauses)
    pauses_2s: int
    pauses_3s: int
    longest_pause_s: float | None
    longest_rr_s: float | None
    rhythm_rows: list[dict]
    af_burden_percent: float | None
    urgent: list[str]
    review: ReviewSummary | None
    provenance: Provenance
    trend: Trend
    hourly: list[HourRow]
    strips: list[Strip]
    thresholds: UrgentThresholds = THRESHOLDS
    warnings: list[str] = field(default_factory=list)


def counted_beats(result, review) -> tuple[np.ndarray, np.ndarray, str]:
    """(samples, labels, "reviewed"|"model"): the beats the report counts and letters."""
    if review is not None:
        rows = review.store.rows
        keep = ~rows.deleted
        return rows.sample[keep], rows.label[keep], "reviewed"
    return np.asarray(result.beats.sample), np.asarray(result.beats.label), "model"


def _counts(labels) -> dict[str, int]:
    labels = np.asarray(labels)
    return {c: int((labels == c).sum()) for c in AAMI_CLASSES}


def _models(result) -> tuple[str, str]:
    beat = getattr(result, "classifier", None)
    if beat:
        sha = (beat.get("manifest_sha256") or "")[:12]
        beat_text = (f"{beat.get('name') or 'beat classifier'} "
                     f"({' + '.join(beat.get('models') or [])}; manifest sha256 {sha}…, "
                     f"{beat.get('device', '?')} {beat.get('precision', '')})")
    else:
        beat_text = "none: beats were not classified (every beat is Q)"
    rhythm = getattr(result, "rhythm_model", None)
    if rhythm:
        rhythm_text = (f"{rhythm.get('weights', 'rhythm')} ({rhythm.get('members', 1)} "
                       f"networks; manifest sha256 {(rhythm.get('manifest_sha256') or '')[:12]}"
                       "…) with the RR rules")
    else:
        rhythm_text = "the RR and beat-sequence rules alone"
    return beat_text, rhythm_text


def build_report(record, result, review=None, rhythm: dict | None = None,
                 deidentify_patient: bool = False) -> Report:
    """The report of ``record`` analysed as ``result``; ``review``: its
    ReviewSession (or None); ``rhythm``: the findings on screen (default: derived
    again on the reviewed beats when the review changed any, else the analysis's)."""
    samples, labels, source = counted_beats(result, review)
    fs, duration = float(record.fs), float(record.duration_s)
    inputs = getattr(result, "rhythm_inputs", None)
    if rhythm is None:
        rhythm = result.rhythm
        if review is not None and review.store.changed().any():
            from beatscope.review.rhythm import reviewed_rhythm

            rhythm = reviewed_rhythm(review.store.rows, fs, duration, inputs)
    rhythm = rhythm or {}
    burden = rhythm.get("burden") or {}
    unreadable = list(getattr(inputs, "unreadable_intervals", None) or [])
    unreadable_s = float(burden.get("unreadable_s", sum(b - a for a, b in unreadable)))
    analysable_s = float(burden.get("analysable_s", duration - unreadable_s))
    events = rhythm.get("events") or {}
    pause_list = (events.get("pauses") or {}).get("pause_list", [])
    durations = np.array([p["duration_s"] for p in pause_list])
    episodes = rhythm.get("episodes") or []
    rows = []
    for label, b in (burden.get("labels") or {}).items():
        if b["episodes"]:
            rows.append({"label": label, "name": RHYTHM_NAMES.get(label, label),
                         "episodes": b["episodes"], "total_s": b["total_s"],
                         "longest_s": b["longest_s"], "percent": b["percent"]})
    rows.sort(key=lambda r: -r["total_s"])
    af = (burden.get("labels") or {}).get("AFIB")
    classified = bool(getattr(result, "classifier", None))
    rate = heart_rate(samples, fs)
    disagreements = [] if review is None else review.disagreements()
    summary = None
    if review is not None:
        from beatscope.review.session import group_counts

        reviewers = sorted({d.reviewer for d in disagreements if d.reviewer})
        summary = ReviewSummary(tuple(reviewers), review.changed_count(),
                                int((~review.store.rows.inserted).sum()),
                                group_counts(disagreements),
                                review.store.notes.get("record", ""))
    rr = np.diff(np.asarray(samples, dtype=np.float64)) / fs
    patient, recording = patient_of(record), recording_of(record)
    if deidentify_patient:
        patient, recording = deidentify(patient, recording)
    beat_model, rhythm_model = _models(result)
    bin_s = TREND_BIN_S[0] if duration <= 6 * 3600 else TREND_BIN_S[1]
    af_spans = [(e["start_s"], e["end_s"]) for e in episodes if e["label"] == "AFIB"]
    return Report(
        patient=patient, recording=recording, deidentified=deidentify_patient,
        duration_s=duration, analysable_s=analysable_s, unreadable_s=unreadable_s,
        heart_rate=rate, labels_source=source, classified=classified,
        # the model's calls on the beats the review was made on (the same as the
        # result's unless the review was made on another analysis of the record)
        model_counts=_counts(result.beats.label if review is None else
                             review.store.rows.model_label[~review.store.rows.inserted]),
        reviewed_counts=_counts(labels) if review is not None else None,
        total_beats=len(samples), ectopy=events,
        pauses_2s=len(pause_list), pauses_3s=int((durations >= 3.0).sum()),
        longest_pause_s=float(durations.max()) if len(durations) else None,
        longest_rr_s=float(rr.max()) if len(rr) else None,
        rhythm_rows=rows, af_burden_percent=None if af is None else af["percent"],
        urgent=urgent_findings(rhythm, samples, labels, fs),
        review=summary,
        provenance=Provenance(f"BeatScope {__version__}", beat_model, rhythm_model),
        trend=trend(samples, labels, fs, duration, bin_s),
        hourly=hourly(samples, labels, fs, duration, unreadable,
                      np.array([p["start_s"] for p in pause_list]), af_spans),
        strips=choose_strips(samples, labels, fs, duration, rhythm, rate, disagreements),
        warnings=list(getattr(result, "warnings", []) or []),
    )
