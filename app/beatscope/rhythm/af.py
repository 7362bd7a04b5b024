"""Atrial fibrillation from RR irregularity over sliding windows.

After Dash, Chon, Lu & Raeder, "Automatic real time detection of atrial
fibrillation", Ann Biomed Eng 37:1701-1709 (2009): AF is an RR series that is both
irregular (high RMSSD relative to the mean RR) and random (a turning-point ratio
near the 2/3 of an uncorrelated series). Two departures, both for ectopy, which
MIT-BIH has in abundance and Dash et al. had removed by hand:

* only "clean" intervals enter the features: intervals between two non-ectopic
  beats, read as one series with the others left out. Non-ectopic means N; when
  no classifier ran, a beat that is not premature by its RR intervals
  (:func:`premature_beats`). A premature beat and its compensatory pause are irregular but
  not AF. On MIT-BIH reference beats this
  halves the non-AF windows that look irregular (sinus rhythm with PACs: 209, 220,
  232). In AF every conducted beat is N (there are no premature atrial beats to
  speak of), so the exclusion costs AF little;
* the largest 1/16 of the successive differences are trimmed before the RMSSD (as
  Dash et al. trim outliers), so a missed beat or one pause does not decide.

Dash et al. also use the Shannon entropy of the RR histogram; on 32-interval
windows it did not separate AF from other irregular rhythms on MIT-BIH and is left
out. An ectopy-heavy window, with fewer than half of its intervals clean
(bigeminy, trigeminy, runs), is not assessed (NaN): the episode hysteresis holds
the state across it, so AF with frequent PVCs stays one episode.

Known limits: atrial flutter with variable block is as irregular as AF and is
flagged as AF; the learned model is meant to tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .config import AfDetector
from .scores import nearest_window, sigmoid, window_starts
from .sequence import BeatSequence


@dataclass(frozen=True)
class AfWindows:
    """Features and score of each assessed window (window ``i`` covers RR intervals
    ``first[i] .. first[i] + width - 1``)."""

    first: np.ndarray
    width: int
    nrmssd: np.ndarray  # trimmed RMSSD of the clean intervals / their mean
    turning_point_z: np.ndarray  # turning-point ratio in SDs from a random series
    score: np.ndarray  # NaN where not assessed


def af_windows(seq: BeatSequence, detector: AfDetector) -> AfWindows | None:
    """Score every window; None when the sequence is too short to assess."""
    n_rr = len(seq.rr_s)
    width = min(detector.window_rr, n_rr)
    if width < detector.min_window_rr:
        return None
    if seq.classified:
        non_ectopic = seq.label == "N"
    else:
        non_ectopic = ~premature_beats(seq.rr_s, detector)
    clean = non_ectopic[:-1] & non_ectopic[1:] & seq.rr_valid
    first = window_starts(n_rr, width, detector.stride_rr)
    take = first[:, None] + np.arange(width)  # (windows, width) interval indices

    # Each window's clean intervals, compacted to the left in time order: the
    # features read them as one series, skipping the ectopic ones.
    clean_w = clean[take]
    n_clean = clean_w.sum(axis=1)
    order = np.argsort(~clean_w, axis=1, kind="stable")
    rr = np.take_along_axis(seq.rr_s[take], order, axis=1)
    position = np.arange(width)[None, :]
    is_clean = position < n_clean[:, None]
    mean_rr = np.where(is_clean, rr, 0.0).sum(axis=1) / np.maximum(n_clean, 1)

    # Trimmed RMSSD: sort |dRR| with the unusable ones pushed to the end (inf), keep
    # the smallest (n - round(n * trim)) of the n usable ones.
    n_steps = np.maximum(n_clean - 1, 0)
    step = np.where(position[:, 1:] < n_clean[:, None], np.abs(np.diff(rr, axis=1)), np.inf)
    step.sort(axis=1)
    kept = n_steps - np.rint(n_steps * detector.trim_fraction).astype(np.int64)
    squares = np.where(position[:, :-1] < kept[:, None], step, 0.0) ** 2
    rmssd = np.sqrt(squares.sum(axis=1) / np.maximum(kept, 1))
    nrmssd = rmssd / np.maximum(mean_rr, 1e-9)

    # Turning points: an interval strictly above or below both of its neighbours.
    middle, before, after = rr[:, 1:-1], rr[:, :-2], rr[:, 2:]
    turning = (position[:, 2:] < n_clean[:, None]) & (
        ((middle > before) & (middle > after)) | ((middle < before) & (middle < after)))
    n_triples = np.maximum(n_clean - 2, 0)
    ratio = turning.sum(axis=1) / np.maximum(n_triples, 1)
    # For an i.i.d. series of N values the number of turning points has mean
    # 2(N-2)/3 and variance (16N-29)/90 (Kendall & Stuart); N = triples + 2.
    sd = np.sqrt((16.0 * n_clean - 29.0).clip(1.0) / 90.0) / np.maximum(n_triples, 1)
    z = (ratio - 2.0 / 3.0) / sd

    irregular = sigmoid((nrmssd - detector.nrmssd_threshold) / detector.nrmssd_softness)
    random = (sigmoid((z - detector.tpr_low_z) / detector.tpr_softness_z)
              * sigmoid((detector.tpr_high_z - z) / detector.tpr_softness_z))

    assessed = ((n_clean >= detector.min_window_rr)
                & (n_clean >= detector.min_clean_fraction * width))
    return AfWindows(first=first, width=width, nrmssd=nrmssd, turning_point_z=z,
                     score=np.where(assessed, irregular * random, np.nan))


def premature_beats(rr_s: np.ndarray, detector: AfDetector) -> np.ndarray:
    """Per beat: early and followed by a longer interval, judged from RR alone.

    The stand-in for beat classes when no classifier ran. Beat k is premature when
    the interval before it is shorter than ``premature_ratio`` times the larger of
    the local median RR (over ``local_rr`` intervals, so it follows the rate) and
    the interval before that one (in bigeminy half the intervals are short and the
    median may be one of them), and the interval after it is at least the local
    median (the pause after a PVC or PAC). AF beats meet the rule by chance too,
    which costs the AF windows some intervals but not their irregularity.
    """
    n_beats = len(rr_s) + 1
    premature = np.zeros(n_beats, dtype=bool)
    if len(rr_s) < 2:
        return premature
    half = detector.local_rr // 2
    padded = np.pad(rr_s, half, mode="edge")
    local = np.median(sliding_window_view(padded, 2 * half + 1), axis=1)
    # Beat k (1 .. n-2) sits between interval k-1 (before) and interval k (after).
    expected = local[:-1].copy()
    expected[1:] = np.maximum(expected[1:], rr_s[:-2])
    premature[1:-1] = ((rr_s[:-1] < detector.premature_ratio * expected)
                       & (rr_s[1:] >= local[:-1]))
    return premature


def af_interval_scores(seq: BeatSequence, detector: AfDetector) -> np.ndarray:
    """Per RR interval, the AF score of the window centred nearest to it (NaN: not assessed)."""
    windows = af_windows(seq, detector)
    n_rr = len(seq.rr_s)
    if windows is None:
        return np.full(n_rr, np.nan)
    return windows.score[nearest_window(n_rr, windows.first, windows.width)]
