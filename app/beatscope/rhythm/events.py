"""The ``events`` part of the rhythm object: ectopy counts and times, pauses, rates per hour.

Holter conventions (see :class:`.config.EctopyRules`): a run of 1 ectopic beat is
isolated, 2 a couplet, 3 a triplet, and 3 or more a run; triplets are counted both
as triplets and as runs, because the vocabulary defines VT and SVTAC as 3 or more
beats. Rates per hour are per hour of analysable (readable) signal. Times are
seconds from the start of the record; single ectopic beats are not listed here
(the beat table has every beat with its time).
"""

from __future__ import annotations

import numpy as np

from .rules import BeatSpans
from .sequence import BeatSequence


def ectopy_events(seq: BeatSequence, runs: BeatSpans, run_min_beats: int) -> dict:
    """Counts of one ectopic class (all its runs, isolated beats included) with the
    start time of each couplet and the details of each run."""
    beats = runs.beats
    long_runs = runs.subset(beats >= run_min_beats)
    couplets = runs.subset(beats == 2)
    start = seq.time_s[long_runs.first]
    end = seq.time_s[long_runs.last]
    # The rate of a run is over its own RR intervals (beats - 1 of them).
    rate = 60.0 * (long_runs.beats - 1) / np.maximum(end - start, 1e-9)
    return {
        "beats": int(beats.sum()),
        "isolated": int((beats == 1).sum()),
        "couplets": len(couplets),
        "triplets": int((beats == 3).sum()),
        "runs": len(long_runs),
        "longest_run_beats": int(beats.max()) if len(beats) else 0,
        "couplet_start_s": _times(seq.time_s[couplets.first]),
        "run_list": [
            {"start_s": round(float(a), 3), "end_s": round(float(b), 3), "beats": int(n),
             "rate_bpm": round(float(r), 1)}
            for a, b, n, r in zip(start, end, long_runs.beats, rate, strict=True)
        ],
    }


def pause_events(seq: BeatSequence, intervals: np.ndarray) -> dict:
    """Pauses: RR intervals ``intervals`` (index k runs from beat k to beat k + 1)."""
    duration = seq.rr_s[intervals]
    return {
        "count": len(intervals),
        "longest_s": round(float(duration.max()), 3) if len(duration) else None,
        "pause_list": [
            {"start_s": round(float(a), 3), "end_s": round(float(b), 3),
             "duration_s": round(float(d), 3)}
            for a, b, d in zip(seq.time_s[intervals], seq.time_s[intervals + 1], duration,
                               strict=True)
        ],
    }


def events_object(ventricular: dict | None, supraventricular: dict | None, pauses: dict,
                  analysable_s: float) -> dict:
    """The events dict; ``ventricular`` / ``supraventricular`` are None when the beats
    were not classified (the counts are then unknown, not zero)."""
    hours = analysable_s / 3600.0

    def per_hour(count: int | None) -> float | None:
        if count is None or hours <= 0:
            return None
        return round(count / hours, 2)

    def count(events: dict | None, key: str) -> int | None:
        return None if events is None else events[key]

    return {
        "ectopy_assessed": ventricular is not None,
        "ventricular": ventricular,
        "supraventricular": supraventricular,
        "pauses": pauses,
        "per_hour": {
            "pvc": per_hour(count(ventricular, "beats")),
            "pac": per_hour(count(supraventricular, "beats")),
            "ventricular_couplets": per_hour(count(ventricular, "couplets")),
            "ventricular_runs": per_hour(count(ventricular, "runs")),
            "supraventricular_couplets": per_hour(count(supraventricular, "couplets")),
            "supraventricular_runs": per_hour(count(supraventricular, "runs")),
            "pauses": per_hour(pauses["count"]),
        },
    }


def _times(seconds: np.ndarray) -> list[float]:
    return np.round(np.asarray(seconds, dtype=np.float64), 3).tolist()
