"""Extra normal beats from many people: CinC 2017's normal-sinus-rhythm recordings.

MIT-BIH has 48 patients; a model that learned their normal beats calls unusual normal
morphologies (another lead, a handheld device, a patient it never saw) ventricular.
CinC 2017 holds about 5,000 *Normal*-labelled single-lead recordings (300 Hz, 9-60 s,
an AliveCor handheld), each from a different person. Its beats carry no labels, so
each recording's beats go through the engine exactly as at inference (the one lead
fed to both model inputs) and only beats that are almost surely N are kept.

**Guard against the few ectopic beats inside them.** A beat is kept as N only when

* its QRS–ST shape on the model lead correlates >= :data:`MIN_CORRELATION` with the
  recording's median beat (the dominant morphology: a PVC's shape differs), and
* it comes on time: its preceding RR is at least :data:`MIN_PREMATURITY` of the local
  rhythm (a running median of :data:`LOCAL_RR` intervals, so that sinus arrhythmia's
  gradual changes stay in) and its following RR is within :data:`MAX_PAUSE` of its
  preceding one (a premature beat comes early; the pause after an ectopic beat is
  long), and
* the recording itself is mostly such beats (>= :data:`MIN_DOMINANT_SHARE`): a
  recording whose "normal" label hides bigeminy, noise or a wide rhythm gives none.

The other detected beats stay in the recording (label -1: never trained on) so that
each kept beat's local reference and RR features are computed from every beat around
it, as at inference.

**Record-wise folds.** ``fold_of(name)`` splits the recordings by their number; fold
:data:`HELD_OUT_FOLD` is never trained on and is what ``bench/normal_false_ectopy.py``
scores.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np

from beatscope.evaluate.labelled import CLASS_INDEX, RecordBeats, cached_beats, engine_key

FOLDS = 5
#: The fold no training run uses: the false-ectopy bench scores it.
HELD_OUT_FOLD = 0
MIN_CORRELATION = 0.9
#: intervals in the running median that is the local rhythm
LOCAL_RR = 9
#: a kept beat's preceding RR is at least this share of the local rhythm...
MIN_PREMATURITY = 0.88
#: ...and its following RR within this factor of its preceding one (no pause)
MAX_PAUSE = 1.2
MIN_DOMINANT_SHARE = 0.7
#: The window samples compared (R at 160, 360 Hz): 110 ms before R to 330 ms after,
#: QRS and ST, where a ventricular beat differs; P and T vary with rate.
SHAPE = slice(160 - 40, 160 + 120)
GUARD_VERSION = "cinc-normal-guard/2"


def fold_of(name: str) -> int:
    """Record-wise fold of a CinC recording (``A00001`` -> 1 % FOLDS)."""
    return int(name.lstrip("A")) % FOLDS


def normal_records(cinc: Path) -> list[str]:
    """Names of the recordings labelled normal sinus rhythm, sorted."""
    with open(cinc / "REFERENCE.csv") as fh:
        return sorted(row[0] for row in csv.reader(fh) if row and row[1] == "N")


def fold_records(cinc: Path, fold: int = HELD_OUT_FOLD) -> list[str]:
    """The normal recordings of ``fold`` (every fold when ``fold`` < 0), sorted."""
    return [n for n in normal_records(cinc) if fold < 0 or fold_of(n) == fold]


def seeded_sample(names: list[str], count: int, seed: int) -> list[str]:
    """``count`` of ``names`` (all when fewer), drawn with ``seed``, sorted."""
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(names, size=min(count, len(names)), replace=False).tolist())


def load_reader(cinc: Path):
    """The data folder's own reader (``read_cinc2017.py``)."""
    spec = importlib.util.spec_from_file_location("read_cinc2017", cinc / "read_cinc2017.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dominant_mask(windows: np.ndarray, sample: np.ndarray, fs: float) -> np.ndarray:
    """Beats that are surely the recording's dominant, regular beat (module docstring);
    all False when the recording is not mostly such beats."""
    n = len(sample)
    if n < 5:
        return np.zeros(n, bool)
    shape = windows[:, 0, SHAPE].astype(np.float32)
    shape = shape - shape.mean(axis=1, keepdims=True)
    median = np.median(shape, axis=0)
    median = median - median.mean()
    norms = np.linalg.norm(shape, axis=1) * np.linalg.norm(median)
    corr = shape @ median / np.maximum(norms, 1e-9)
    rr = np.diff(sample) / fs
    # the local rhythm: the median of the 9 intervals around each one, so that the
    # gradual rate changes of sinus arrhythmia stay normal and only an abrupt early
    # beat (or the pause after it) is left out
    padded = np.pad(rr, LOCAL_RR // 2, mode="edge")
    local = np.median(np.lib.stride_tricks.sliding_window_view(padded, LOCAL_RR), axis=1)
    pre = np.concatenate([[np.nan], rr])
    post = np.concatenate([rr, [np.nan]])
    on_time = pre / np.concatenate([[np.nan], local]) >= MIN_PREMATURITY
    regular = on_time & (post / pre >= 1 / MAX_PAUSE) & (post / pre <= MAX_PAUSE)
    keep = (corr >= MIN_CORRELATION) & regular  # the first and last beat: NaN, dropped
    if keep.mean() < MIN_DOMINANT_SHARE:
        return np.zeros(n, bool)
    return keep


def extract_normal(name: str, reader) -> RecordBeats:
    """One recording through the engine, its guarded dominant beats labelled N."""
    from beatscope.analysis import AnalysisOptions, analyze
    from beatscope.io import Record

    mv, fs = reader.load_record(name)
    record = Record(name, np.asarray(mv, np.float32)[:, None], float(fs), ["I"], ["mV"])
    result = analyze(record, AnalysisOptions(keep_windows=True, rhythm_model=None,
                                             templates=False))
    sample = result.beats.sample
    windows = result.windows.astype(np.float16)
    label = np.full(len(sample), -1, np.int8)
    label[dominant_mask(windows, sample, float(fs))] = CLASS_INDEX["N"]
    return RecordBeats(name, windows, result.rr_features, sample, label,
                       np.zeros(0, np.int8), float(fs))


def training_names(cinc: Path, count: int, seed: int) -> list[str]:
    """``count`` normal recordings outside the held-out fold, seeded."""
    pool = [n for n in normal_records(cinc) if fold_of(n) != HELD_OUT_FOLD]
    return seeded_sample(pool, count, seed)


def load_normal_beats(cinc: Path, names: list[str], cache: Path | None,
                      per_record: int, seed: int) -> list[RecordBeats]:
    """Each recording's beats (cached like MIT-BIH's), at most ``per_record`` of its
    guarded beats labelled N (the others -1), chosen seeded."""
    reader = load_reader(cinc)
    key = hashlib.sha256(json.dumps([engine_key(), GUARD_VERSION]).encode()).hexdigest()[:12]
    rng = np.random.default_rng(seed)
    out = []
    for name in names:
        beats = cached_beats(cache / f"cinc-{name}-{key}.npz" if cache else None, name,
                             lambda name=name: extract_normal(name, reader))
        kept = np.flatnonzero(beats.label >= 0)
        if len(kept) > per_record:
            drop = rng.choice(kept, size=len(kept) - per_record, replace=False)
            beats.label = beats.label.copy()
            beats.label[drop] = -1
        out.append(beats)
    return out
