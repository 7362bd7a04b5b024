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
  nothing, and the rule stands aside: the networks' own N/S split stays.

Where it applies, the soft gate ``g = sigmoid((max_ratio - ratio) / softness)``
shares the ensemble's supraventricular probability ``p(N) + p(S)`` out as
``p(S) = g (p(N) + p(S))`` and ``p(N) = (1 - g)(p(N) + p(S))``; V, F and Q keep
theirs.

The three parameters were chosen on DS1's reference beats alone (a grid over
``local_beats`` 8-120, ``max_ratio`` 0.70-0.90, ``max_irregularity`` 0.05-0.25);
DS2 was not looked at. See docs/VALIDATION.md section 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


@dataclass(frozen=True)
class PrematurityRule:
    local_beats: int = 120
    max_ratio: float = 0.825
    max_irregularity: float = 0.125
    #: width of the soft gate around ``max_ratio`` (ratio units)
    softness: float = 0.02


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
    return gate, applies


def apply_prematurity(probs: np.ndarray, classes: tuple[str, ...], gate: np.ndarray,
                      applies: np.ndarray) -> np.ndarray:
    """``probs`` (n, classes) with N and S re-split by the gate where it applies."""
    out = np.array(probs, dtype=np.float32, copy=True)
    n_i, s_i = classes.index("N"), classes.index("S")
    sv = out[:, n_i] + out[:, s_i]
    g = np.asarray(gate, dtype=np.float32)
    out[:, s_i] = np.where(applies, sv * g, out[:, s_i])
    out[:, n_i] = np.where(applies, sv * (1.0 - g), out[:, n_i])
    return out
