"""Supraventricular ectopy from prematurity: the rule that splits N from S.

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


@dataclass(frozen=True)
class PrematurityRule:
    local_beats: int = 90
    max_ratio: float = 0.9
    max_irregularity: float = 0.1
    #: width of the soft gate around ``max_ratio`` (ratio units)
    softness: float = 0.02
    #: the abrupt step an early beat (or the run it starts) needs; None: no such test
    max_step: float | None = 0.875


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
        gate *= _abrupt_or_in_run(rr, gate > 0.5, rule.max_step)
    return gate, applies


def _abrupt_or_in_run(rr: np.ndarray, early: np.ndarray, max_step: float) -> np.ndarray:
    """Per beat: its pre-RR is below ``max_step`` times the interval before it, or it
    is early and so is every beat back to an early one that was."""
    n = len(early)
    step = np.ones(n)
    step[2:] = rr[1:] / rr[:-1]  # beat i: rr[i-1] over rr[i-2]
    abrupt = step < max_step
    index = np.arange(n)
    last_abrupt_early = np.maximum.accumulate(np.where(abrupt & early, index, -1))
    last_not_early = np.maximum.accumulate(np.where(~early, index, -1))
    return abrupt | (early & (last_abrupt_early > last_not_early))


def apply_prematurity(probs: np.ndarray, classes: tuple[str, ...], gate: np.ndarray,
                      applies: np.ndarray) -> np.ndarray:
    """``probs`` (n, classes) with N and S re-split by the gate where it applies, except
    for beats the ensemble calls V: pooled into one class, N's and S's shares could
    outweigh a V call that beat each of them, and a premature PVC became S (DS1-CV,
    same fold networks, ensemble at 0.792: 94.99 % / SVEB F1 58.93 / VEB F1 78.43 ->
    95.00 / 59.24 / 78.58; keeping F and Q calls as well scored the same on DS1-CV,
    which holds almost none of them)."""
    out = np.array(probs, dtype=np.float32, copy=True)
    n_i, s_i = classes.index("N"), classes.index("S")
    here = np.asarray(applies, dtype=bool) & (out.argmax(axis=1) != classes.index("V"))
    sv = out[:, n_i] + out[:, s_i]
    g = np.asarray(gate, dtype=np.float32)
    out[:, s_i] = np.where(here, sv * g, out[:, s_i])
    out[:, n_i] = np.where(here, sv * (1.0 - g), out[:, n_i])
    return out
