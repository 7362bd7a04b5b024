"""Beat-detection scoring (sensitivity and positive predictivity), bxb-like.

Follows AAMI EC57: a detection within 150 ms of a reference beat is a true
positive; ventricular flutter/fibrillation episodes (between ``[`` and ``]``
annotations) are excluded from the statistics, because the reference marks no
beats there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from beatscope.aami import is_beat
from beatscope.evaluate.matching import match_beats

MATCH_WINDOW_S = 0.150


@dataclass(frozen=True)
class DetectionScore:
    """Counts for one record (or pooled). Se = TP/(TP+FN), +P = TP/(TP+FP)."""

    name: str
    tp: int
    fn: int
    fp: int

    @property
    def sensitivity(self) -> float:
        return 100.0 * self.tp / max(1, self.tp + self.fn)

    @property
    def ppv(self) -> float:
        return 100.0 * self.tp / max(1, self.tp + self.fp)

    def __add__(self, other: DetectionScore) -> DetectionScore:
        return DetectionScore("pooled", self.tp + other.tp, self.fn + other.fn, self.fp + other.fp)

    def as_dict(self) -> dict:
        return {
            "record": self.name, "tp": self.tp, "fn": self.fn, "fp": self.fp,
            "se": round(self.sensitivity, 3), "ppv": round(self.ppv, 3),
        }


def excluded_intervals(samples: np.ndarray, symbols: list[str] | tuple[str, ...],
                       n_samples: int) -> np.ndarray:
    """Ventricular flutter/fibrillation episodes as (start, end) sample pairs."""
    out: list[tuple[int, int]] = []
    start = None
    for s, sym in zip(samples, symbols, strict=True):
        if sym == "[" and start is None:
            start = int(s)
        elif sym == "]" and start is not None:
            out.append((start, int(s)))
            start = None
    if start is not None:
        out.append((start, n_samples))
    return np.asarray(out, dtype=np.int64).reshape(-1, 2)


def _outside(x: np.ndarray, intervals: np.ndarray) -> np.ndarray:
    keep = np.ones(len(x), dtype=bool)
    for a, b in intervals:
        keep &= ~((x >= a) & (x <= b))
    return keep


def score_detection(name: str, ref_samples: np.ndarray, ref_symbols, detected: np.ndarray,
                    fs: float, n_samples: int) -> DetectionScore:
    """Score ``detected`` R-peak samples against a record's reference annotations."""
    ref_samples = np.asarray(ref_samples, dtype=np.int64)
    symbols = list(ref_symbols)
    beats = ref_samples[np.fromiter((is_beat(s) for s in symbols), bool, len(symbols))]
    vf = excluded_intervals(ref_samples, symbols, n_samples)
    beats = beats[_outside(beats, vf)]
    det = np.asarray(detected, dtype=np.int64)
    det = det[_outside(det, vf)]
    matched = match_beats(beats, det, int(round(MATCH_WINDOW_S * fs)))
    tp = int((matched >= 0).sum())
    return DetectionScore(name, tp=tp, fn=len(beats) - tp, fp=len(det) - tp)
