"""Beat-classification scoring: confusion matrix, per-class Se / +P / F1, accuracy.

Follows the AAMI EC57 reporting used in the inter-patient literature. Rows are
the reference class, columns the predicted class. Reference beats that the
detector missed are counted in an extra "missed" column: they lower their
class's sensitivity (and the accuracy) but no class's positive predictivity.
Detections with no reference beat are not beats of any class and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from beatscope.aami import AAMI_CLASSES


@dataclass(frozen=True)
class ClassificationScore:
    confusion: np.ndarray  # int64 (5, 6): reference x (predicted N S V F Q, missed)

    @property
    def n_beats(self) -> int:
        return int(self.confusion.sum())

    @property
    def accuracy(self) -> float:
        return 100.0 * float(np.trace(self.confusion[:, :5])) / max(1, self.n_beats)

    def sensitivity(self, k: int) -> float:
        row = self.confusion[k].sum()
        return 100.0 * self.confusion[k, k] / row if row else float("nan")

    def ppv(self, k: int) -> float:
        col = self.confusion[:, k].sum()
        return 100.0 * self.confusion[k, k] / col if col else float("nan")

    def f1(self, k: int) -> float:
        se, p = self.sensitivity(k), self.ppv(k)
        if not (np.isfinite(se) and np.isfinite(p)) or se + p == 0:
            return float("nan") if not np.isfinite(se) else 0.0
        return 2 * se * p / (se + p)

    def macro_f1(self, classes: tuple[str, ...] = ("N", "S", "V", "F")) -> float:
        vals = [self.f1(AAMI_CLASSES.index(c)) for c in classes]
        vals = [v for v in vals if np.isfinite(v)]
        return float(np.mean(vals)) if vals else 0.0

    def __add__(self, other: ClassificationScore) -> ClassificationScore:
        return ClassificationScore(self.confusion + other.confusion)

    def as_dict(self) -> dict:
        per_class = {}
        for k, c in enumerate(AAMI_CLASSES):
            per_class[c] = {"n": int(self.confusion[k].sum()),
                            "se": _r(self.sensitivity(k)), "ppv": _r(self.ppv(k)),
                            "f1": _r(self.f1(k))}
        return {"n_beats": self.n_beats, "accuracy": _r(self.accuracy),
                "macro_f1_nsvf": _r(self.macro_f1()), "per_class": per_class,
                "confusion": {"rows_reference": list(AAMI_CLASSES),
                              "columns_predicted": list(AAMI_CLASSES) + ["missed"],
                              "matrix": self.confusion.tolist()}}

    def table(self) -> str:
        """Plain-text confusion matrix and per-class figures."""
        cols = list(AAMI_CLASSES) + ["missed"]
        lines = ["ref\\pred " + "".join(f"{c:>8}" for c in cols)
                 + f"{'Se %':>9}{'+P %':>9}{'F1 %':>9}"]
        for k, c in enumerate(AAMI_CLASSES):
            lines.append(f"{c:>8} " + "".join(f"{v:>8d}" for v in self.confusion[k])
                         + f"{self.sensitivity(k):>9.2f}{self.ppv(k):>9.2f}{self.f1(k):>9.2f}")
        lines.append(f"accuracy {self.accuracy:.2f} % over {self.n_beats} reference beats; "
                     f"macro-F1 (N,S,V,F) {self.macro_f1():.2f}")
        return "\n".join(lines)


def _r(v: float) -> float | None:
    return None if not np.isfinite(v) else round(float(v), 3)


def score_classification(reference: np.ndarray, predicted: np.ndarray,
                         missed: np.ndarray | None = None) -> ClassificationScore:
    """Score detected beats: ``reference`` and ``predicted`` are class indices 0..4
    per detected beat (reference -1 = no reference beat: ignored); ``missed`` holds
    the classes of reference beats with no detection."""
    reference = np.asarray(reference, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    keep = reference >= 0
    conf = np.zeros((5, 6), dtype=np.int64)
    np.add.at(conf, (reference[keep], predicted[keep]), 1)
    if missed is not None and len(missed):
        np.add.at(conf, (np.asarray(missed, dtype=np.int64), 5), 1)
    return ClassificationScore(conf)
