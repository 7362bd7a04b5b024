"""What one analysis of a record produces (Qt-free, JSON-serialisable summary)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from beatscope.dsp import QualityReport
from beatscope.io import Record

SCHEMA_VERSION = 1


@dataclass
class BeatTable:
    """One row per detected beat; ``sample`` is in the record's own sample index."""

    sample: np.ndarray  # int64 (n,)
    label: np.ndarray  # '<U1' AAMI class ('Q' for every beat when no classifier ran)
    probability: np.ndarray | None = None  # float32 (n, 5) or None

    def __len__(self) -> int:
        return len(self.sample)


@dataclass
class RhythmInputs:
    """What ``derive_rhythm`` needs besides the beats, kept so that the rhythm findings
    can be derived again on a reviewer's edited beats without re-running the engine."""

    unreadable_intervals: list[tuple[float, float]]
    model_windows: object | None = None  # beatscope.rhythm.ModelWindows


@dataclass
class AnalysisResult:
    record: Record
    beats: BeatTable
    rr_features: np.ndarray  # float32 (n_beats, k)
    quality: QualityReport
    heart_rate: dict
    timings_s: dict[str, float]
    model_leads: list[int]
    powerline_hz: int | None
    warnings: list[str] = field(default_factory=list)
    windows: np.ndarray | None = None  # (n_beats, 2, 400) when kept
    classifier: dict | None = None  # the classifier's describe(), None when none ran
    #: ``beatscope.rhythm.derive_rhythm``'s JSON object: record, episodes, events, burden
    rhythm: dict | None = None
    #: the rhythm model's describe() (weights, manifest sha256, members), None when
    #: the rhythm rules ran alone
    rhythm_model: dict | None = None
    rhythm_inputs: RhythmInputs | None = None
    #: morphology templates (``beatscope.segment.templates.TemplateSet``); None when
    #: not made (a single inserted beat's excerpt)
    templates: object | None = None
