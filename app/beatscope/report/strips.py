"""Which stretches of the ECG the report prints, and why each one.

A cardiologist reads a Holter report's strips to confirm its numbers: the fastest and
the slowest heart rate, the longest pause, one example of each ectopic class, one
example of each kind of change the reviewer made, and the first and the longest
episode of each rhythm finding, the most urgent first. Each strip is ``STRIP_S``
long, with its event a third of the way in; strips that would show the same seconds
are merged into the first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from beatscope.report.numbers import HeartRate
from beatscope.rhythm.vocabulary import RHYTHM_NAMES

#: Seconds per strip: 7 s at 25 mm/s is 175 mm, the width of an A4 or Letter page.
STRIP_S = 7.0
#: The most strips a report prints (a 24-h record has hundreds of episodes).
MAX_STRIPS = 24
#: Rhythm labels not shown as episodes: sinus rhythm is the background, pauses have
#: their own strip (the longest), unreadable signal shows nothing.
BACKGROUND = frozenset({"SR", "PAUSE", "NOISE"})
#: The order episode strips come in (the most urgent first: the report keeps at most
#: MAX_STRIPS).
EPISODE_ORDER = ("VT", "AFIB", "AFLT", "SVTAC", "BIGU", "TRIGU", "PACE", "STACH", "SBRAD",
                 "SARRH")


@dataclass(frozen=True)
class Strip:
    title: str
    start_s: float
    focus_s: float  # the moment the title is about (marked on the strip)


def _at(title: str, t: float, duration_s: float) -> Strip:
    start = float(np.clip(t - STRIP_S / 3, 0.0, max(0.0, duration_s - STRIP_S)))
    return Strip(title, start, float(t))


def choose_strips(samples: np.ndarray, labels: np.ndarray, fs: float, duration_s: float,
                  rhythm: dict | None, rate: HeartRate, disagreements=(),
                  limit: int = MAX_STRIPS) -> list[Strip]:
    from beatscope.display.clock import format_clock

    chosen: list[Strip] = []
    if rate.max_at_s is not None:
        chosen.append(_at(f"Fastest heart rate, {rate.max_bpm:.0f} bpm", rate.max_at_s,
                          duration_s))
    if rate.min_at_s is not None:
        chosen.append(_at(f"Slowest heart rate, {rate.min_bpm:.0f} bpm", rate.min_at_s,
                          duration_s))
    pauses = ((rhythm or {}).get("events") or {}).get("pauses", {}).get("pause_list", [])
    if pauses:
        p = max(pauses, key=lambda p: p["duration_s"])
        chosen.append(_at(f"Longest pause, {p['duration_s']:.2f} s", p["start_s"], duration_s))
    t = np.asarray(samples, dtype=np.float64) / fs
    labels = np.asarray(labels)
    for cls, name in (("V", "ventricular"), ("S", "supraventricular"), ("F", "fusion"),
                      ("Q", "unclassifiable")):
        where = np.flatnonzero(labels == cls)
        if len(where):
            chosen.append(_at(f"Example of a {name} beat ({cls}) at "
                              f"{format_clock(t[where[len(where) // 2]])}",
                              t[where[len(where) // 2]], duration_s))
    seen_pairs = set()
    for d in disagreements:
        if d.pair not in seen_pairs:
            seen_pairs.add(d.pair)
            chosen.append(_at(f"Reviewer's change {d.pair}", d.sample / fs, duration_s))
    episodes = [e for e in (rhythm or {}).get("episodes", []) if e["label"] not in BACKGROUND]
    order = {label: i for i, label in enumerate(EPISODE_ORDER)}
    for label in sorted({e["label"] for e in episodes}, key=lambda x: (order.get(x, 99), x)):
        mine = [e for e in episodes if e["label"] == label]
        name = RHYTHM_NAMES.get(label, label)
        first = min(mine, key=lambda e: e["start_s"])
        longest = max(mine, key=lambda e: e["end_s"] - e["start_s"])
        chosen.append(_at(f"{name}: first episode", first["start_s"], duration_s))
        if longest is not first:
            chosen.append(_at(f"{name}: longest episode, "
                              f"{longest['end_s'] - longest['start_s']:.0f} s",
                              longest["start_s"], duration_s))
    return _merged(chosen)[:limit]


def _merged(strips: list[Strip]) -> list[Strip]:
    """Drop a strip whose event is already on an earlier one."""
    out: list[Strip] = []
    for s in strips:
        if any(o.start_s <= s.focus_s <= o.start_s + STRIP_S and
               abs(o.focus_s - s.focus_s) < 1.0 for o in out):
            continue
        out.append(s)
    return out
