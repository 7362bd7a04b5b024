"""Sinus-rhythm scores (SR, SBRAD, STACH, SARRH) per RR interval.

Each RR interval gets the scores of the ``window_rr``-interval window centred on
it. The window must be sinus-dominated: at least ``min_normal_fraction`` of its
intervals run from one N beat to another, and the rate and the regularity are
measured on those N-N intervals only, so premature beats and their compensatory
pauses neither raise the rate nor count as sinus arrhythmia. When no classifier
ran (every beat 'Q') no beat can be told from a sinus beat: the rate is then
taken over all intervals, SR needs the window to be regular, and sinus arrhythmia
is not assessed (ectopic beats would pass for it).

A window that crosses an invalid interval (unreadable signal) scores NaN, so the
episode hysteresis holds its state over it; a window with too few N-N intervals
(bigeminy, a run) scores 0: the rhythm there is not sinus-dominated.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .config import SinusRules
from .scores import nearest_window, sigmoid, window_starts
from .sequence import BeatSequence


def sinus_scores(seq: BeatSequence, rules: SinusRules) -> dict[str, np.ndarray]:
    """``{"SR"|"SBRAD"|"STACH"|"SARRH": (n_intervals,) score}``, NaN where not assessed."""
    n_rr = len(seq.rr_s)
    out = {label: np.full(n_rr, np.nan) for label in ("SR", "SBRAD", "STACH", "SARRH")}
    width = min(rules.window_rr, n_rr)
    if width < rules.min_window_rr:
        return out
    sinus_beat = seq.label == "N" if seq.classified else np.ones(len(seq), dtype=bool)
    normal_pair = sinus_beat[:-1] & sinus_beat[1:] & seq.rr_valid

    rr = sliding_window_view(seq.rr_s, width)
    nn = sliding_window_view(normal_pair, width)
    all_valid = sliding_window_view(seq.rr_valid, width).all(axis=1)
    n_nn = nn.sum(axis=1)
    sinus_dominated = n_nn >= max(2, int(np.ceil(rules.min_normal_fraction * width)))
    safe_n = np.maximum(n_nn, 1)
    rate_bpm = 60.0 * safe_n / np.maximum(np.where(nn, rr, 0.0).sum(axis=1), 1e-9)
    spread_s = np.where(nn, rr, -np.inf).max(axis=1) - np.where(nn, rr, np.inf).min(axis=1)
    spread_s = np.where(sinus_dominated, spread_s, 0.0)
    steps = np.abs(np.diff(rr, axis=1))
    largest_step_s = np.where(nn[:, 1:] & nn[:, :-1], steps, 0.0).max(axis=1, initial=0.0)

    soft = rules.rate_softness_bpm
    brady = sigmoid((rules.brady_bpm - rate_bpm) / soft)
    tachy = sigmoid((rate_bpm - rules.tachy_bpm) / soft)
    normal_rate = np.minimum(sigmoid((rate_bpm - rules.brady_bpm) / soft),
                             sigmoid((rules.tachy_bpm - rate_bpm) / soft))
    irregular = sigmoid((spread_s - rules.arrhythmia_range_s) / rules.arrhythmia_softness_s)
    gradual = largest_step_s <= rules.gradual_step_fraction * spread_s
    per_window = {
        "SBRAD": brady,
        "STACH": tachy,
        "SR": normal_rate * (1.0 - irregular),
        "SARRH": irregular * gradual if seq.classified else np.zeros(len(rate_bpm)),
    }
    # sliding_window_view gives every window (stride 1); map each interval to the
    # window centred on it, clamped at the record's ends.
    window = nearest_window(n_rr, window_starts(n_rr, width, 1), width)
    for label, score in per_window.items():
        score = np.where(sinus_dominated, score, 0.0)
        out[label] = np.where(all_valid, score, np.nan)[window]
    return out
