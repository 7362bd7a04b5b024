"""``derive_rhythm``: from beats, labels and unreadable stretches to the rhythm object.

Order matters: AF is found first, because the sinus statements (SR, SBRAD,
STACH, SARRH) are not made inside AF, and inside AF an S label is an irregularly
conducted AF beat rather than a premature atrial beat (no PAC, SVTAC or
supraventricular pattern is counted there). Ectopy findings need beat classes:
when every beat is 'Q' (no classifier ran) only the rate, RR-irregularity, pause
and quality findings are made, and the ectopy events are reported as unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from .af import af_interval_scores
from .config import DEFAULT_CONFIG, RhythmConfig
from .episodes import (
    Episode,
    EpisodePolicy,
    Track,
    episodes_from_spans,
    hysteresis_episodes,
)
from .events import ectopy_events, events_object, pause_events
from .intervals import Intervals, merged_intervals, overlap_count
from .model_input import FUSED_LABELS, ModelWindows, fuse
from .rules import BeatSpans, class_runs, pattern_runs, pause_intervals
from .scores import sigmoid
from .sequence import BeatSequence
from .sinus import sinus_scores
from .summary import rhythm_object
from .vocabulary import MODEL_ONLY_LABELS


def derive_rhythm(samples: np.ndarray, labels: np.ndarray | Sequence[str], fs: float,
                  duration_s: float, unreadable_intervals: Intervals | None = None,
                  config: RhythmConfig = DEFAULT_CONFIG, *,
                  probabilities: np.ndarray | None = None,
                  model: ModelWindows | None = None) -> dict:
    """The ``rhythm`` object (see :mod:`.summary`) of one record.

    ``samples``: R-peak sample indices at ``fs``; ``labels``: one AAMI class per
    beat ('Q' throughout when no classifier ran); ``unreadable_intervals``:
    ``(start_s, end_s)`` stretches with no readable lead
    (``QualityReport.unreadable_intervals()``); ``probabilities``: the classifier's
    ``(n, 5)`` class probabilities, which become the confidence of run and pattern
    episodes; ``model``: a rhythm model's window probabilities, merged in as
    :mod:`.model_input` describes.
    """
    duration_s = float(duration_s)
    unreadable = merged_intervals(unreadable_intervals or (), 0.0, duration_s)
    seq = BeatSequence.from_beats(samples, labels, fs, unreadable_intervals or (),
                                  probabilities)
    span_s = float(seq.time_s[-1] - seq.time_s[0]) if len(seq) > 1 else 0.0
    policies = {label: _for_strip(policy, span_s, config.short_strip_fraction)
                for label, policy in config.episodes.items()}
    middle_s = (seq.time_s[:-1] + seq.time_s[1:]) / 2.0

    def interval_episodes(label: str, score: np.ndarray) -> list[Episode]:
        if model is not None and label in FUSED_LABELS:
            score = fuse(score, model.at(label, middle_s))
        return hysteresis_episodes(label, seq.interval_track(score), policies[label])

    af_episodes = interval_episodes("AFIB", af_interval_scores(seq, config.af))
    episodes = list(af_episodes)
    in_af = _inside(af_episodes, middle_s)
    for label, score in sinus_scores(seq, config.sinus).items():
        episodes += interval_episodes(label, np.where(in_af, 0.0, score))

    ventricular = supraventricular = None
    if seq.classified:
        af_beat_labelled_s = _inside(af_episodes, seq.time_s) & (seq.label == "S")
        ectopy_seq = seq.with_labels(np.where(af_beat_labelled_s, "N", seq.label))
        ventricular, vt = _runs("VT", "V", ectopy_seq, config, policies)
        supraventricular, svtac = _runs("SVTAC", "S", ectopy_seq, config, policies)
        episodes += vt + svtac
        for label, period in (("BIGU", 2), ("TRIGU", 3)):
            spans = pattern_runs(ectopy_seq, period, config.ectopy.pattern_min_cycles)
            episodes += _span_episodes(label, ectopy_seq, spans, policies[label])

    ectopy = config.ectopy
    pauses = pause_intervals(seq, ectopy.pause_s)
    episodes += episodes_from_spans(
        "PAUSE", seq.time_s[pauses], seq.time_s[pauses + 1],
        sigmoid((seq.rr_s[pauses] - ectopy.pause_s) / ectopy.pause_softness_s), policies["PAUSE"])

    if model is not None:
        for label in sorted(MODEL_ONLY_LABELS):
            track = model.track(label)
            # A model window centred on unreadable signal is dropped: a gap, not a finding.
            centre = (track.start_s + track.end_s) / 2.0
            readable = overlap_count(unreadable, centre, centre) == 0
            readable_track = Track(track.start_s[readable], track.end_s[readable],
                                   track.score[readable])
            episodes += hysteresis_episodes(label, readable_track, policies[label])

    episodes += episodes_from_spans("NOISE", unreadable[0], unreadable[1],
                                    np.ones(len(unreadable[0])), policies["NOISE"])
    analysable_s = duration_s - float(np.sum(unreadable[1] - unreadable[0]))
    events = events_object(ventricular, supraventricular,
                           pause_events(seq, pauses), analysable_s)
    return rhythm_object(episodes, events, duration_s, unreadable)


def _for_strip(policy: EpisodePolicy, span_s: float, fraction: float) -> EpisodePolicy:
    """A strip shorter than the minimum episode still shows the finding if it covers
    ``fraction`` of the strip (a 10-s resting ECG in AF is an AF ECG)."""
    return replace(policy, min_duration_s=min(policy.min_duration_s, fraction * span_s))


def _runs(label: str, beat_class: str, seq: BeatSequence, config: RhythmConfig,
          policies: dict[str, EpisodePolicy]) -> tuple[dict, list[Episode]]:
    """Events of one ectopic class and the episodes of its runs of 3 or more."""
    runs = class_runs(seq, beat_class)
    min_beats = config.ectopy.run_min_beats
    events = ectopy_events(seq, runs, min_beats)
    long_runs = runs.subset(runs.beats >= min_beats)
    return events, _span_episodes(label, seq, long_runs, policies[label])


def _span_episodes(label: str, seq: BeatSequence, spans: BeatSpans,
                   policy: EpisodePolicy) -> list[Episode]:
    """Episodes from beat spans; confidence: the mean probability the classifier gave
    each beat of the span for its own label (1 when labels came without them)."""
    return episodes_from_spans(label, seq.time_s[spans.first], seq.time_s[spans.last],
                               spans.mean_of(seq.probability_of_label()), policy)


def _inside(episodes: list[Episode], times_s: np.ndarray) -> np.ndarray:
    """True for each time inside one of ``episodes`` (one label's: sorted, disjoint)."""
    spans = (np.array([e.start_s for e in episodes]), np.array([e.end_s for e in episodes]))
    return overlap_count(spans, times_s, times_s) > 0
