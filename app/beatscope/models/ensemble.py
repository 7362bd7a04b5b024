"""Combining the classifiers: per-member temperature scaling and a weighted mean.

Design:

* Each member gets its **own** temperature, fitted on validation logits
  (:func:`fit_temperature`). The members are differently over-confident (a deep
  ResNet far more than a small LSTM), so one shared temperature would let the
  more over-confident member dominate the average regardless of its weight.
* The ensemble probability is the weighted mean of the members' calibrated
  probabilities, renormalised. Averaging probabilities (not logits) keeps the
  result a proper mixture, and it stays calibrated if the members are.
* With two members the weight is a single number, tuned on validation data by
  :func:`tune_weight` against whatever metric the evaluation cares about
  (macro-F1 for AAMI classes, where N dominates and accuracy is meaningless).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch import nn

#: Temperatures are searched in ``[T_MIN, T_MAX]``.
T_MIN, T_MAX = 0.05, 20.0
#: Step of the weight grid of :func:`tune_weight` (0, 0.02, ..., 1).
WEIGHT_STEP = 0.02


class Ensemble(nn.Module):
    """Weighted mean of temperature-scaled member softmaxes.

    ``forward(x, rr)`` returns **probabilities** ``(B, n_classes)`` (float32), not
    logits; :meth:`member_probs` gives each member's calibrated probabilities.
    Weights are normalised to sum to 1; members with weight 0 are not run.
    """

    def __init__(
        self,
        members: Mapping[str, nn.Module],
        weights: Mapping[str, float],
        temperatures: Mapping[str, float] | None = None,
    ) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        if set(weights) != set(members):
            raise ValueError(f"weights {sorted(weights)} do not match members {sorted(members)}")
        temperatures = dict(temperatures or {})
        unknown = set(temperatures) - set(members)
        if unknown:
            raise ValueError(f"temperatures for unknown members: {sorted(unknown)}")
        w = {k: float(v) for k, v in weights.items()}
        if any(not np.isfinite(v) or v < 0 for v in w.values()) or sum(w.values()) <= 0:
            raise ValueError(f"weights must be >= 0 with a positive sum, got {w}")
        t = {k: float(temperatures.get(k, 1.0)) for k in members}
        if any(not np.isfinite(v) or v <= 0 for v in t.values()):
            raise ValueError(f"temperatures must be > 0, got {t}")
        self.members = nn.ModuleDict(dict(members))
        total = sum(w.values())
        self.weights: dict[str, float] = {k: w[k] / total for k in members}
        self.temperatures: dict[str, float] = t

    def member_probs(self, x: torch.Tensor, rr: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """Calibrated float32 probabilities of every member (weight 0 included)."""
        return {name: self._probs(name, m, x, rr) for name, m in self.members.items()}

    def _probs(self, name: str, m: nn.Module, x: torch.Tensor, rr: torch.Tensor | None
               ) -> torch.Tensor:
        # Softmax in float32 even under bf16 autocast: bf16 has 8 bits of mantissa,
        # too few for probabilities near 1 (the N class usually is).
        return torch.softmax(m(x, rr).float() / self.temperatures[name], dim=1)

    def combine(self, probs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Weighted mean of per-member probabilities, renormalised to sum to 1."""
        out: torch.Tensor | None = None
        for name, w in self.weights.items():
            if w == 0.0:
                continue
            term = w * probs[name]
            out = term if out is None else out + term
        assert out is not None  # the weights have a positive sum
        return out / out.sum(dim=1, keepdim=True)

    def forward(self, x: torch.Tensor, rr: torch.Tensor | None = None) -> torch.Tensor:
        probs = {name: self._probs(name, m, x, rr) for name, m in self.members.items()
                 if self.weights[name] > 0}
        return self.combine(probs)


def _nll(beta: float, z: np.ndarray, y: np.ndarray) -> float:
    s = beta * z
    m = s.max(axis=1, keepdims=True)
    lse = (m[:, 0] + np.log(np.exp(s - m).sum(axis=1)))
    return float(np.mean(lse - s[np.arange(len(y)), y]))


def fit_temperature(logits: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor,
                    ) -> float:
    """The temperature ``T`` minimising the NLL of ``softmax(logits / T)`` on ``labels``.

    A 1-D golden-section search over ``beta = 1/T`` in ``[1/T_MAX, 1/T_MIN]``: the
    NLL is convex in ``beta`` (a log-sum-exp of functions linear in ``beta``), so
    the search finds the global minimum deterministically, with none of LBFGS's
    step-size tuning. 80 iterations shrink the bracket by 0.618^80 (about 1e-17
    relative), far below anything that matters. Float64 numpy throughout.
    """
    z = np.asarray(logits.detach().cpu() if isinstance(logits, torch.Tensor) else logits,
                   dtype=np.float64)
    y = np.asarray(labels.detach().cpu() if isinstance(labels, torch.Tensor) else labels,
                   dtype=np.int64)
    if z.ndim != 2 or y.shape != (z.shape[0],) or z.shape[0] == 0:
        raise ValueError(f"logits (n, k) and labels (n,) expected, got {z.shape} and {y.shape}")
    if y.min() < 0 or y.max() >= z.shape[1]:
        raise ValueError("labels out of range for the logits' class count")
    lo, hi = 1.0 / T_MAX, 1.0 / T_MIN
    g = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = _nll(a, z, y), _nll(b, z, y)
    for _ in range(80):
        if fa <= fb:  # minimum in [lo, b]
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = _nll(a, z, y)
        else:  # minimum in [a, hi]
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = _nll(b, z, y)
    return float(1.0 / ((lo + hi) / 2.0))


Metric = Callable[[np.ndarray, np.ndarray], float]


def tune_weight(probs_a: np.ndarray, probs_b: np.ndarray, labels: np.ndarray,
                metric: Metric) -> float:
    """The weight ``w`` of member A (B gets ``1 - w``) maximising ``metric(labels, pred)``.

    ``pred = argmax(w * probs_a + (1 - w) * probs_b)``, for ``w`` on the grid
    0, 0.02, ..., 1. Ties go to the ``w`` closest to 0.5: among equally good
    weights the most even mix is the least likely to be a validation-set accident.
    """
    a = np.asarray(probs_a, dtype=np.float64)
    b = np.asarray(probs_b, dtype=np.float64)
    y = np.asarray(labels)
    if a.shape != b.shape or a.ndim != 2 or y.shape != (a.shape[0],):
        raise ValueError(f"probs (n, k) x2 and labels (n,) expected, got "
                         f"{a.shape}, {b.shape}, {y.shape}")
    n_steps = round(1.0 / WEIGHT_STEP)
    best_w, best_score = 0.5, -np.inf
    for i in range(n_steps + 1):
        w = i / n_steps
        score = float(metric(y, np.argmax(w * a + (1.0 - w) * b, axis=1)))
        better = score > best_score
        tie_closer = score == best_score and abs(w - 0.5) < abs(best_w - 0.5)
        if better or tie_closer:
            best_w, best_score = w, score
    return best_w
