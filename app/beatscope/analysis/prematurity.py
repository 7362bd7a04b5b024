"""Supraventricular ectopy from prematurity: the rule that splits N from S (and, by
the same shape cue, takes V calls off the patient's own dominant beat).

A supraventricular premature beat looks like a normal beat; what makes it S is
that it comes early. Between patients the networks do not learn that cue from
MIT-BIH's DS1 (its few S beats sit mostly inside the SVT runs of record 209):
their DS1 -> DS2 SVEB F1 is 23. So the ensemble decides what it is good at, the
QRS morphology (supraventricular N/S versus V, F, Q), and this rule decides N
versus S from the RR intervals:

* ``ratio``: the beat's pre-RR over the mean of the ``local_beats`` intervals
  before it. A long window (two minutes at 60 bpm) follows the rate without
  being pulled down by the premature beats themselves;
* ``irregularity``: the median absolute successive difference of those same
  intervals over their mean. In an irregular rhythm (AF above all) "early" means
  nothing, and the rule stands aside: the networks' own N/S split stays;
* ``max_step``: a beat is S only if it is also early against the interval just
  before its own (pre-RR over that interval below ``max_step``), or continues a run of
  early beats that began with such a step. Sinus arrhythmia speeds the rate up over
  several beats, each a little earlier than the last and none abruptly so, and
  without this step a young patient's inspiration looked like a run of PACs.
* ``sustained_max_rr`` and ``run_end_slowing``: a run of early beats slower than
  ``sustained_max_rr`` (100/min: no tachycardia) has to end the way ectopy ends, with
  the next interval at least ``run_end_slowing`` times the run's. Where the rate
  simply stays (it stepped up and the two-minute mean caught up with it) the run was
  a new rate, not ectopy, and only its abrupt beats stay early. Without this test a
  sudden lasting rate rise (the junctions of a joined record; on a Holter, a patient
  getting up) was called a run of 30-40 S beats.

* ``lasting_s``, ``switch_max_corr``, ``second_change_corr``: where the patient's
  dominant beat changes (the context's reference beat correlates less than
  ``switch_max_corr`` with the one before) and the rate that follows is faster and
  still holds ``lasting_s`` later, a new rhythm starts, and the rule starts afresh
  there, as at a record's start: the rhythm before such a change no longer describes
  the beats after it. In a joined record this is the next patient (the junctions into
  records faster than 100/min, which the run-end test leaves alone, were called runs
  of 10-50 S beats). Both conditions are needed: a change of morphology alone also
  comes with an SVT (207's, 51 s long, moves the reference 6 beats before its onset),
  and a lasting step in rate alone also comes with a long SVT. The span must lie
  inside the record: how the rate goes on past its end is not known. And the new
  dominant beat must last the span too (``second_change_corr``): 207's SVT has a shape
  of its own and is followed, in a joined record, by 208's faster rhythm, so a change
  and a lasting faster rate both came with it; the second sharp change at the junction
  tells the SVT was an episode. Needs the references, so the engine applies it once
  the record's beats are classified (:func:`new_rhythms`).

* ``min_similarity``: an S beat must look like the patient's dominant beat. A beat
  whose correlation with its local reference (the context's, ``segment.context``) is
  below it cannot be supraventricular by prematurity or by the networks' call, and its
  S probability goes to the other classes (the networks' next choice stands). On
  DS1-CV two in five of the S calls were such beats, most of them PVCs the networks
  had called S or N (the networks read the beat-minus-reference channels, yet called S
  beats that correlate 0.26 with it; docs/VALIDATION.md section 9c).

* ``v_max_similarity``, ``v_min_rr_s``: the converse for V. A beat called V that comes
  on time (the gate below 0.5), below 100/min, and correlates at least 0.8 with its
  reference is the patient's own dominant beat, and its V probability goes to the
  other classes: a patient whose normal beat looks unusual to the networks (a wide or
  notched QRS, an unusual lead) had some of its normal beats called V. The rate
  bound keeps a sustained VT, whose beats become the window's dominant ones, V; and
  a call the ensemble is ``v_sure`` of stays: a ventricular escape rhythm is slow, on
  time and its own reference too (207's, at p(V) 0.96-1.0 with the production
  weights).

* ``v_max_qrs_similarity``: the same V test reads the QRS too. Whole windows compared
  at the R marks miss a patient's own beat whose mark jumps between its R and S waves
  (about as large in a biphasic QRS), and whose P and T waves or neighbours differ;
  the QRS alone, at its best shift (``segment.qrs_similarity``), does not. Chosen on
  DS1, each record scored by the cross-validation fold that never saw it: none of the
  PVCs the networks called V reaches 0.9 (their 99th percentile is 0.80), 95 of the
  normal beats they called V do (docs/VALIDATION.md section 9e). A beat either test
  takes off V is then split into N and S by its timing, like any other: the networks'
  own split had made S the next choice of some of these on-time beats.

Where it applies, the soft gate ``g = sigmoid((max_ratio - ratio) / softness)``
shares the ensemble's supraventricular probability ``p(N) + p(S)`` out as
``p(S) = g (p(N) + p(S))`` and ``p(N) = (1 - g)(p(N) + p(S))``; V, F and Q keep
theirs, and a beat the ensemble calls V is left as it is.

The four parameters were chosen on DS1's reference beats alone
(``bench/prematurity_rule.py``: a grid over ``local_beats`` 8-120, ``max_ratio``
0.70-0.90, ``max_irregularity`` 0.05-0.25, ``max_step`` none or 0.85-0.925); DS2 was
not looked at. With the step, DS1's SVEB F1 went from 0.717 (120 beats, 0.825,
0.125, no step) to 0.787. See docs/VALIDATION.md section 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

#: Fewer beats than this in the span a new rhythm must last: not judged.
MIN_LASTING_BEATS = 5
#: A change of the reference this close (beats) to the one before is the same change:
#: around a junction the reference swings for a few beats, and the rule starts afresh
#: once, at the first (the 48-record join's S F1 gap, re-scored from one run's network
#: outputs and references: -1.36 restarting at each swing, -1.11 at the first).
SAME_CHANGE_BEATS = 5


@dataclass(frozen=True)
class PrematurityRule:
    local_beats: int = 90
    max_ratio: float = 0.9
    max_irregularity: float = 0.1
    #: width of the soft gate around ``max_ratio`` (ratio units)
    softness: float = 0.02
    #: the abrupt step an early beat (or the run it starts) needs; None: no such test
    max_step: float | None = 0.875
    #: runs of early beats slower than this (s) must end with the rhythm slowing;
    #: None: no such test
    sustained_max_rr: float | None = 0.6
    #: ... to at least this factor times the run's median interval
    run_end_slowing: float = 1.5
    #: a change of the reference beat followed by a faster rate that still holds in
    #: this span of seconds after it starts a new rhythm; None: no such test
    lasting_s: tuple[float, float] | None = (60.0, 120.0)
    #: ... a change: the reference's correlation with the previous beat's below this
    switch_max_corr: float = 0.7
    #: ... and the new dominant beat must last the span too: no second change as
    #: sharp as this (correlation below it) before the span's end
    second_change_corr: float = 0.3
    #: an S call needs at least this correlation with the beat's local reference;
    #: None: no such test (also where the networks read no context)
    min_similarity: float | None = 0.75
    #: a V call on time (not premature) at a rate below 100/min (pre-RR at least
    #: ``v_min_rr_s``) with at least this correlation with its reference is not V;
    #: None: no such test
    v_max_similarity: float | None = 0.8
    v_min_rr_s: float = 0.6
    #: ... unless the ensemble is at least this sure of V
    v_sure: float = 0.9
    #: the same V test also passes where the beat's QRS, best aligned, correlates at
    #: least this much with its reference's (``segment.qrs_similarity``); None: not used
    v_max_qrs_similarity: float | None = 0.9


def prematurity(r_peaks: np.ndarray, fs: float,
                rule: PrematurityRule = PrematurityRule()) -> tuple[np.ndarray, np.ndarray]:
    """Per beat: ``(gate, applies)``. ``gate`` in [0, 1] is how premature the beat
    is; ``applies`` is False where the preceding rhythm is too irregular (or there
    is no interval to judge) and the rule must stand aside."""
    r = np.asarray(r_peaks, dtype=np.int64)
    n = len(r)
    if n < 3:
        return np.zeros(n), np.zeros(n, dtype=bool)
    rr = np.maximum(np.diff(r), 1) / float(fs)
    k = max(2, int(rule.local_beats))
    # the record's first beats have fewer than k intervals before them: pad with
    # the median of the first k, a stand-in for the rate they started at
    padded = np.concatenate([np.full(k, np.median(rr[:k])), rr])
    window = sliding_window_view(padded, k)[:len(rr)]  # window[j]: k intervals before rr[j]
    local = window.mean(axis=1)
    irregularity = np.median(np.abs(np.diff(window, axis=1)), axis=1) / local
    # beat i's pre-RR is rr[i-1]; the first beat has none
    ratio = rr / local
    gate = np.zeros(n)
    applies = np.zeros(n, dtype=bool)
    with np.errstate(over="ignore"):
        gate[1:] = 1.0 / (1.0 + np.exp(-(rule.max_ratio - ratio) / rule.softness))
    applies[1:] = irregularity < rule.max_irregularity
    if rule.max_step is not None:
        gate *= _abrupt_or_in_run(rr, gate > 0.5, rule)
    return gate, applies


def _abrupt_or_in_run(rr: np.ndarray, early: np.ndarray, rule: PrematurityRule) -> np.ndarray:
    """Per beat: its pre-RR is below ``max_step`` times the interval before it, or it
    is early and so is every beat back to an early one that was (and the run is not
    a new rate: :func:`_new_rate`)."""
    n = len(early)
    step = np.ones(n)
    step[2:] = rr[1:] / rr[:-1]  # beat i: rr[i-1] over rr[i-2]
    abrupt = step < rule.max_step
    index = np.arange(n)
    last_abrupt_early = np.maximum.accumulate(np.where(abrupt & early, index, -1))
    last_not_early = np.maximum.accumulate(np.where(~early, index, -1))
    run = early & (last_abrupt_early > last_not_early)
    if rule.sustained_max_rr is not None:
        run &= ~_new_rate(rr, run, rule.sustained_max_rr, rule.run_end_slowing)
    return abrupt | run


def _new_rate(rr: np.ndarray, run: np.ndarray, sustained_max_rr: float,
              run_end_slowing: float) -> np.ndarray:
    """Per beat: inside a run (after its first beat) slower than ``sustained_max_rr``
    whose next beat comes sooner than ``run_end_slowing`` times the run's median
    pre-RR. A run still going at the record's end is left alone: how it ends is
    not known."""
    n = len(run)
    pre = np.ones(n)
    pre[1:] = rr  # beat i's pre-RR
    edges = np.diff(np.concatenate([[0], run.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # [start, stop)
    judged = (stops - starts >= 2) & (stops < n)
    out = np.zeros(n, dtype=bool)
    for a, b in zip(starts[judged], stops[judged], strict=True):
        run_rr = float(np.median(pre[a:b]))
        if run_rr >= sustained_max_rr and pre[b] < run_end_slowing * run_rr:
            out[a + 1:b] = True
    return out


def new_rhythms(r_peaks: np.ndarray, fs: float, reference_change: np.ndarray,
                rule: PrematurityRule) -> np.ndarray:
    """The beats where a new rhythm starts: the reference beat changes there
    (``reference_change``, :func:`beatscope.segment.reference_change`, below
    ``rule.switch_max_corr``) and the median interval over ``rule.lasting_s`` after
    it is below ``rule.max_ratio`` times the median of the ``rule.local_beats``
    intervals before it, and the reference does not change again as sharply (below
    ``rule.second_change_corr``) before the span's end; of changes within
    :data:`SAME_CHANGE_BEATS` of each other, the first. A change whose span reaches
    past the record's end is not judged."""
    r = np.asarray(r_peaks, dtype=np.int64)
    if len(r) < 3 or rule.lasting_s is None:
        return np.zeros(0, np.int64)
    t = r / float(fs)
    pre = np.maximum(np.diff(r), 1) / float(fs)
    pre = np.concatenate([pre[:1], pre])  # beat i's pre-RR (the first: its next)
    lo_s, hi_s = rule.lasting_s
    change = np.asarray(reference_change)
    starts, last = [], -SAME_CHANGE_BEATS - 1
    for c in np.flatnonzero(change < rule.switch_max_corr):
        if c < 2 or t[c] + hi_s > t[-1]:
            continue
        lo, hi = np.searchsorted(t, [t[c] + lo_s, t[c] + hi_s])
        if hi - lo < MIN_LASTING_BEATS:
            continue
        if (change[c + SAME_CHANGE_BEATS + 1:hi] < rule.second_change_corr).any():
            continue  # the new dominant beat did not last: an episode of its own
        before = np.median(pre[max(1, c - rule.local_beats):c])
        if np.median(pre[lo:hi]) < rule.max_ratio * before:
            if c - last > SAME_CHANGE_BEATS:
                starts.append(c)
            last = c
    return np.asarray(starts, np.int64)


def rule_gate(r_peaks: np.ndarray, fs: float, rule: PrematurityRule,
              reference_change: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`prematurity`'s ``(gate, applies)`` for a whole record, started afresh at
    each new rhythm (:func:`new_rhythms`, given the references' ``reference_change``).
    The engine gets the same in two steps: it classifies the record block by block
    with :func:`prematurity`'s gate, then corrects the beats this one changes."""
    starts = (np.zeros(0, np.int64) if reference_change is None
              else new_rhythms(r_peaks, fs, reference_change, rule))
    return restarted_gate(r_peaks, fs, rule, starts)


def restarted_gate(r_peaks: np.ndarray, fs: float, rule: PrematurityRule,
                   starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`prematurity`'s ``(gate, applies)``, started afresh at each beat of
    ``starts`` (:func:`new_rhythms`)."""
    r = np.asarray(r_peaks, dtype=np.int64)
    if len(starts) == 0:
        return prematurity(r, fs, rule)
    gate, applies = np.zeros(len(r)), np.zeros(len(r), dtype=bool)
    bounds = np.concatenate([[0], starts, [len(r)]])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        gate[a:b], applies[a:b] = prematurity(r[a:b], fs, rule)
    return gate, applies


def apply_prematurity(probs: np.ndarray, classes: tuple[str, ...], gate: np.ndarray,
                      applies: np.ndarray, similarity: np.ndarray | None = None,
                      rule: PrematurityRule | None = None,
                      pre_rr_s: np.ndarray | None = None,
                      qrs_similarity: np.ndarray | None = None) -> np.ndarray:
    """``probs`` (n, classes) with N and S re-split by the gate where it applies, except
    for beats the ensemble calls V: pooled into one class, N's and S's shares could
    outweigh a V call that beat each of them, and a premature PVC became S (DS1-CV,
    same fold networks, ensemble at 0.792: 94.99 % / SVEB F1 58.93 / VEB F1 78.43 ->
    95.00 / 59.24 / 78.58; keeping F and Q calls as well scored the same on DS1-CV,
    which holds almost none of them).

    Then, given ``similarity`` (each beat's correlation with its local reference,
    :func:`beatscope.segment.reference_similarity`) and ``rule``, the shape tests:
    a beat called S that correlates less than ``rule.min_similarity`` loses its S
    probability to the other classes, and a beat called V on time, with a pre-RR
    (``pre_rr_s``, the ``pre_rr_s`` column of ``segment.rr_features``) of at least
    ``rule.v_min_rr_s``, that correlates at least ``rule.v_max_similarity`` (or whose
    QRS, ``qrs_similarity``, at least ``rule.v_max_qrs_similarity``) loses its V
    probability, unless it is at least ``rule.v_sure``, and the gate splits its N and S."""
    out = np.array(probs, dtype=np.float32, copy=True)
    n_i, s_i, v_i = classes.index("N"), classes.index("S"), classes.index("V")
    here = np.asarray(applies, dtype=bool) & (out.argmax(axis=1) != v_i)
    sv = out[:, n_i] + out[:, s_i]
    g = np.asarray(gate, dtype=np.float32)
    out[:, s_i] = np.where(here, sv * g, out[:, s_i])
    out[:, n_i] = np.where(here, sv * (1.0 - g), out[:, n_i])
    if similarity is None or rule is None:
        return out
    similarity = np.asarray(similarity)
    if rule.min_similarity is not None:
        _rule_out(out, (out.argmax(axis=1) == s_i) & (similarity < rule.min_similarity), s_i)
    alike = np.zeros(len(out), dtype=bool)  # the beat is the patient's own dominant one
    if rule.v_max_similarity is not None:
        alike |= similarity >= rule.v_max_similarity
    if qrs_similarity is not None and rule.v_max_qrs_similarity is not None:
        alike |= np.asarray(qrs_similarity) >= rule.v_max_qrs_similarity
    if pre_rr_s is not None:
        dominant = ((out.argmax(axis=1) == v_i) & (out[:, v_i] < rule.v_sure) & alike
                    & (g < 0.5) & (np.asarray(pre_rr_s) >= rule.v_min_rr_s))
        _rule_out(out, dominant, v_i)
        # no longer V, the beat's N and S are split by its timing as any other beat's
        # are (the networks' own split made S the next choice of some on-time beats)
        resplit = dominant & np.asarray(applies, dtype=bool)
        sv = out[resplit, n_i] + out[resplit, s_i]
        out[resplit, s_i] = sv * g[resplit]
        out[resplit, n_i] = sv * (1.0 - g[resplit])
    return out


def _rule_out(probs: np.ndarray, beats: np.ndarray, column: int) -> None:
    """In place: ``beats``' probability of class ``column`` shared out over the others
    in proportion to theirs (the networks' next choice wins)."""
    rest = probs[beats].copy()
    rest[:, column] = 0.0
    probs[beats] = rest / np.maximum(rest.sum(axis=1, keepdims=True), 1e-12)
