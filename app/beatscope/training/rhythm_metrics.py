"""Scores of the rhythm model: CinC 2017 F1s and the seed paper's multi-label metrics.

- CinC 2017 (Clifford et al. 2017): per class F1 = 2 TP / (2 TP + FP + FN) over the
  four classes N, A, O, ~; the challenge score is the mean over N, A and O.
- Multi-label (the CNN-BiLSTM paper, PTB-XL): Hamming loss (share of wrong
  label decisions), macro-AUPRC (mean over labels of average precision, the
  step-wise area under the precision-recall curve), micro-F1 (over all label
  decisions) and subset accuracy (every label of a record right).
"""

from __future__ import annotations

import numpy as np


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def single_class(probs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """One class per record: the label furthest above its own threshold (in logits);
    the same as the thresholded multi-label decision when exactly one label passes."""
    return np.argmax(logit(probs) - logit(thresholds)[None, :], axis=1)


def f1_per_class(true: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    out = np.zeros(n_classes)
    for c in range(n_classes):
        tp = np.sum((true == c) & (pred == c))
        denom = np.sum(true == c) + np.sum(pred == c)
        out[c] = 2.0 * tp / denom if denom else np.nan
    return out


def confusion(true: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    m = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(m, (true, pred), 1)
    return m


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the precision-recall curve, step-wise (as sklearn's)."""
    y = np.asarray(y, bool)
    if not y.any():
        return float("nan")
    order = np.argsort(-np.asarray(score), kind="mergesort")
    y, s = y[order], np.asarray(score)[order]
    tp = np.cumsum(y)
    fp = np.cumsum(~y)
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # distinct thresholds
    precision = tp[last] / (tp[last] + fp[last])
    recall = tp[last] / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def multilabel_scores(y: np.ndarray, probs: np.ndarray, thresholds: np.ndarray) -> dict:
    y = np.asarray(y, bool)
    pred = probs >= thresholds[None, :]
    tp = np.sum(pred & y)
    fp = np.sum(pred & ~y)
    fn = np.sum(~pred & y)
    aps = [average_precision(y[:, j], probs[:, j]) for j in range(y.shape[1])]
    return {"hamming_loss": float(np.mean(pred != y)),
            "macro_auprc": float(np.nanmean(aps)),
            "auprc": [None if np.isnan(a) else round(a, 4) for a in aps],
            "micro_f1": float(2 * tp / (2 * tp + fp + fn)) if (tp + fp + fn) else float("nan"),
            "subset_accuracy": float(np.mean(np.all(pred == y, axis=1)))}


def cinc_scores(true: np.ndarray, probs: np.ndarray, thresholds: np.ndarray,
                classes: tuple[str, ...] = ("N", "A", "O", "~")) -> dict:
    """CinC F1s, the challenge mean F1 (N, A, O), confusion and the multi-label metrics
    of record-level probabilities ``(n, 4)`` against one true class per record."""
    k = len(classes)
    pred = single_class(probs, thresholds)
    f1 = f1_per_class(true, pred, k)
    y = np.eye(k, dtype=bool)[true]
    out = {"records": int(len(true)),
           "f1": {c: round(float(v), 4) for c, v in zip(classes, f1, strict=True)},
           "challenge_f1_nao": round(float(np.mean(f1[:3])), 4),
           "accuracy": round(float(np.mean(pred == true)), 4),
           "confusion": confusion(true, pred, k).tolist()}
    out.update({key: (round(v, 4) if isinstance(v, float) else v)
                for key, v in multilabel_scores(y, probs, thresholds).items()})
    return out


def best_thresholds(y: np.ndarray, probs: np.ndarray,
                    grid: np.ndarray | None = None) -> np.ndarray:
    """Per label, the threshold maximising that label's F1 (ties: nearest 0.5)."""
    grid = np.round(np.arange(0.05, 0.951, 0.025), 3) if grid is None else grid
    y = np.asarray(y, bool)
    out = np.full(y.shape[1], 0.5)
    for j in range(y.shape[1]):
        if not y[:, j].any():
            continue
        best = (-1.0, 0.0)
        for t in grid:
            p = probs[:, j] >= t
            tp = np.sum(p & y[:, j])
            f1 = 2 * tp / (np.sum(p) + np.sum(y[:, j]))
            key = (round(float(f1), 6), -abs(t - 0.5))
            if key > best:
                best, out[j] = key, t
    return out
