"""The ``rhythm`` JSON object: record-level probabilities, episodes, events, burden.

``record[LABEL]`` is the probability that LABEL is present anywhere in the
record: the highest confidence among its episodes, 0 when it has none. The rules
are deterministic, so a label with no episode has nothing to hedge with; AFLT and
PACE stay at 0 until a model's probabilities are passed in (see
:mod:`.vocabulary`).

``burden`` gives, per label, the time spent in its episodes counted on readable
signal only (a merged episode may bridge a short unreadable stretch), as a
percentage of the analysable time (record duration minus unreadable time);
NOISE's percentage is of the whole record.
"""

from __future__ import annotations

import numpy as np

from .episodes import Episode
from .intervals import IntervalArrays, covered_until
from .vocabulary import RHYTHM_LABELS


def rhythm_object(episodes: list[Episode], events: dict, duration_s: float,
                  unreadable: IntervalArrays) -> dict:
    """Assemble the JSON object from every label's episodes."""
    order = {label: i for i, label in enumerate(RHYTHM_LABELS)}
    episodes = sorted(episodes, key=lambda e: (e.start_s, order[e.label], e.end_s))
    by_label: dict[str, list[Episode]] = {label: [] for label in RHYTHM_LABELS}
    for episode in episodes:
        by_label[episode.label].append(episode)
    return {
        "record": {label: round(max((e.confidence for e in found), default=0.0), 4)
                   for label, found in by_label.items()},
        "episodes": [e.as_dict() for e in episodes],
        "events": events,
        "burden": burden(by_label, duration_s, unreadable),
    }


def burden(by_label: dict[str, list[Episode]], duration_s: float,
           unreadable: IntervalArrays) -> dict:
    unreadable_s = float(np.sum(unreadable[1] - unreadable[0]))
    analysable_s = max(duration_s - unreadable_s, 0.0)
    labels = {}
    for label, found in by_label.items():
        start = np.array([e.start_s for e in found])
        end = np.array([e.end_s for e in found])
        readable = (end - start) - (covered_until(unreadable, end)
                                     - covered_until(unreadable, start))
        total = float(readable.sum())
        reference = duration_s if label == "NOISE" else analysable_s
        longest = int(np.argmax(end - start)) if len(found) else None
        labels[label] = {
            "episodes": len(found),
            "total_s": round(total, 3),
            "percent": round(100.0 * total / reference, 2) if reference > 0 else 0.0,
            "longest_s": None if longest is None else round(float(end[longest]
                                                                  - start[longest]), 3),
            "longest_start_s": None if longest is None else round(float(start[longest]), 3),
        }
    return {
        "analysable_s": round(analysable_s, 3),
        "unreadable_s": round(unreadable_s, 3),
        "af_percent": labels["AFIB"]["percent"],
        "labels": labels,
    }

