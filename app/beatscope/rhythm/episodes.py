"""From scores over time to episodes: hysteresis, gap merging, minimum duration.

A :class:`Track` is one label's score in [0, 1] over time, piecewise constant on
segments (one per RR interval for the rules, one per window for a model). A label
enters an episode where its score reaches ``enter`` and leaves it where the score
falls below ``exit`` (< ``enter``), so a score hovering near one threshold does not
chop the finding into many short episodes. Between the two thresholds, and on
segments with no score (NaN: e.g. a window with too few clean RR intervals), the
previous state holds. A gap between segments (unreadable signal) ends the state;
episodes either side of a gap no longer than ``merge_gap_s`` are joined again, and
what is still shorter than ``min_duration_s`` is dropped.

An episode's confidence is the duration-weighted mean score over the segments it
holds (NaN segments and merged gaps carry no weight): the average strength of the
evidence, as opposed to its peak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Segments closer than this (seconds) count as touching: RR-interval segments
#: share their boundary beats exactly, model windows may be rounded.
_TOUCH_S = 1e-6


@dataclass(frozen=True)
class Track:
    """A score over time: ``score[i]`` holds on ``[start_s[i], end_s[i])``.

    Segments are sorted and do not overlap; NaN means "not assessed here".
    """

    start_s: np.ndarray
    end_s: np.ndarray
    score: np.ndarray

    def __len__(self) -> int:
        return len(self.score)

    def with_score(self, score: np.ndarray) -> Track:
        return Track(self.start_s, self.end_s, score)

    def breaks_before(self) -> np.ndarray:
        """True for each segment that does not touch the one before it."""
        gap = np.ones(len(self), dtype=bool)
        gap[1:] = self.start_s[1:] > self.end_s[:-1] + _TOUCH_S
        return gap


@dataclass(frozen=True)
class EpisodePolicy:
    """How one label's track becomes episodes (thresholds on the score scale)."""

    enter: float
    exit: float
    min_duration_s: float
    merge_gap_s: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.exit <= self.enter <= 1.0:
            raise ValueError(f"need 0 <= exit <= enter <= 1, got {self.exit}, {self.enter}")


@dataclass(frozen=True)
class Episode:
    label: str
    start_s: float
    end_s: float
    confidence: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def as_dict(self) -> dict:
        return {"label": self.label, "start_s": round(self.start_s, 3),
                "end_s": round(self.end_s, 3), "confidence": round(self.confidence, 4)}


def true_runs(mask: np.ndarray, breaks_before: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """``(first, stop)`` index arrays of the runs of True in ``mask`` (stop exclusive).

    A True element with ``breaks_before`` set starts a new run even if the element
    before it is True.
    """
    mask = np.asarray(mask, dtype=bool)
    cut = np.zeros(len(mask), dtype=bool) if breaks_before is None else breaks_before
    before = np.concatenate([[False], mask[:-1]])
    after = np.concatenate([mask[1:], [False]])
    cut_after = np.concatenate([cut[1:], [True]])
    first = np.flatnonzero(mask & (~before | cut))
    last = np.flatnonzero(mask & (~after | cut_after))
    return first, last + 1


def hysteresis_state(score: np.ndarray, breaks_before: np.ndarray, enter: float,
                     exit: float) -> np.ndarray:
    """Per segment: is the label on? Vectorised: the state is on where the last
    "enter" event is at least as recent as the last "exit" event (a gap counts as
    an exit, and an enter on the segment after a gap wins)."""
    idx = np.arange(len(score))
    with np.errstate(invalid="ignore"):
        entered = score >= enter  # NaN compares False: holds
        left = (score < exit) | breaks_before
    # Before any event the state is off: "no enter yet" (-2) is older than "no exit yet".
    last_enter = np.maximum.accumulate(np.where(entered, idx, -2))
    last_exit = np.maximum.accumulate(np.where(left, idx, -1))
    return last_enter >= last_exit


def hysteresis_episodes(label: str, track: Track, policy: EpisodePolicy) -> list[Episode]:
    """Episodes of ``label`` in ``track`` under ``policy`` (see module doc)."""
    if len(track) == 0:
        return []
    breaks = track.breaks_before()
    state = hysteresis_state(track.score, breaks, policy.enter, policy.exit)
    first, stop = true_runs(state, breaks)
    if not len(first):
        return []
    # A held state may run on over unassessed segments; end on the last assessed one.
    assessed = ~np.isnan(track.score)
    last_assessed = np.maximum.accumulate(np.where(assessed, np.arange(len(track)), -1))
    last = last_assessed[stop - 1]
    duration = np.where(assessed, track.end_s - track.start_s, 0.0)
    weighted = np.cumsum(np.concatenate([[0.0], np.where(assessed, track.score, 0.0) * duration]))
    assessed_s = np.cumsum(np.concatenate([[0.0], duration]))
    return _merge_and_filter(label, track.start_s[first], track.end_s[last],
                             weighted[last + 1] - weighted[first],
                             assessed_s[last + 1] - assessed_s[first], policy)


def episodes_from_spans(label: str, start_s: np.ndarray, end_s: np.ndarray,
                        confidence: np.ndarray, policy: EpisodePolicy) -> list[Episode]:
    """Episodes made directly from spans (runs, pauses), merged and filtered by ``policy``."""
    start_s = np.asarray(start_s, dtype=np.float64)
    end_s = np.asarray(end_s, dtype=np.float64)
    # Spans are weighted by duration when merged; the floor keeps a degenerate
    # zero-length span's own confidence instead of dividing by zero.
    weight = np.maximum(end_s - start_s, 1e-9)
    return _merge_and_filter(label, start_s, end_s, np.asarray(confidence) * weight, weight,
                             policy)


def _merge_and_filter(label: str, start: np.ndarray, end: np.ndarray, weighted: np.ndarray,
                      weight: np.ndarray, policy: EpisodePolicy) -> list[Episode]:
    """Join spans closer than ``merge_gap_s``, drop the short ones, make Episodes
    (``weighted / weight`` is each span's confidence)."""
    if not len(start):
        return []
    order = np.argsort(start, kind="stable")
    start, end, weighted, weight = start[order], end[order], weighted[order], weight[order]
    gap = start[1:] - np.maximum.accumulate(end)[:-1]
    group_first = np.flatnonzero(np.concatenate([[True], gap > policy.merge_gap_s]))
    start = start[group_first]
    end = np.maximum.reduceat(end, group_first)
    weighted = np.add.reduceat(weighted, group_first)
    weight = np.add.reduceat(weight, group_first)
    confidence = weighted / np.where(weight > 0, weight, 1.0)
    keep = (end - start) >= policy.min_duration_s
    return [Episode(label, float(a), float(b), float(np.clip(c, 0.0, 1.0)))
            for a, b, c in zip(start[keep], end[keep], confidence[keep], strict=True)]
