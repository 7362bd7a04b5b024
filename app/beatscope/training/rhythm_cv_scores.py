"""The rhythm cross-validation's scores, read back from the fold folders it saved.

:func:`run_cv` writes each fold's held-out probabilities and thresholds; these read
them again, for one run or for several runs scored as an ensemble (``bench/rhythm.py``
and ``beatscope combine-rhythm``), so scoring never needs the training data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from beatscope.rhythm.model.inference import mean_in_logits
from beatscope.training.rhythm_data import CINC_CLASSES
from beatscope.training.rhythm_metrics import cinc_scores, logit, multilabel_scores


def fold_test_scores(runs: Sequence[Path], k: int):
    """Fold ``k``'s held-out CinC records as the runs saved them: ``(names, label,
    probs, thresholds)``, the probabilities and thresholds of several runs (an
    ensemble's members) averaged as logits, as :class:`RhythmEnsemble` combines them.
    Raises ValueError when the runs held out different records."""
    zs = [np.load(Path(d) / "folds" / str(k) / "cinc_test_probs.npz") for d in runs]
    if any(list(z["names"]) != list(zs[0]["names"]) for z in zs[1:]):
        raise ValueError(f"fold {k}: the runs hold out different records; train the "
                         "members of an ensemble with the same --split-seed")
    return (zs[0]["names"], zs[0]["label"], mean_in_logits([z["probs"] for z in zs]),
            mean_in_logits([z["thresholds"] for z in zs]))


def pooled_cv(out: Path | Sequence[Path], folds: int) -> dict | None:
    """Per-fold and pooled scores from the fold folders present under ``out/folds``.

    ``out`` may be several runs (the members of an ensemble, trained with one
    ``--split-seed``): each fold is then scored by the members' mean logits and mean
    threshold logits (:class:`~beatscope.rhythm.model.network.RhythmEnsemble`), on
    the folds every member has finished.
    """
    dirs = [Path(out)] if isinstance(out, str | Path) else [Path(d) for d in out]
    per_fold, labels, probs, thr_rows = [], [], [], []
    for k in range(folds):
        fdirs = [d / "folds" / str(k) for d in dirs]
        if not all((f / "result.json").is_file() for f in fdirs):
            continue
        _, label, p, t = fold_test_scores(dirs, k)
        if len(fdirs) == 1:
            res = json.loads((fdirs[0] / "result.json").read_text())
            cinc_test, mit_windows = res["cinc_test"], res["mitdb_test_windows"]
        else:
            cinc_test, mit_windows = cinc_scores(label, p, t), None
        per_fold.append({"fold": k, **{key: cinc_test[key] for key in (
            "records", "f1", "challenge_f1_nao", "hamming_loss", "macro_auprc", "micro_f1",
            "subset_accuracy")}, "mitdb_test_windows": mit_windows})
        labels.append(label)
        probs.append(p)
        thr_rows.append(np.repeat(t[None], len(p), axis=0))
    if not per_fold:
        return None
    y = np.concatenate(labels)
    p = np.concatenate(probs)
    t = np.concatenate(thr_rows)
    # Pooled: every record scored by its own fold's model and thresholds. The
    # per-record thresholds are applied by shifting the logits (single_class /
    # multilabel decisions are then equivalent to a common threshold of 0.5).
    shifted = 1 / (1 + np.exp(-(logit(p) - logit(t))))
    pooled = cinc_scores(y, shifted, np.full(p.shape[1], 0.5))
    # AUPRC is threshold-free: computed on the raw pooled probabilities.
    raw = multilabel_scores(np.eye(p.shape[1], dtype=bool)[y], p, np.full(p.shape[1], 0.5))
    pooled["macro_auprc"] = round(raw["macro_auprc"], 4)
    pooled["auprc"] = raw["auprc"]
    mean = {key: round(float(np.mean([r[key] for r in per_fold])), 4)
            for key in ("challenge_f1_nao", "hamming_loss", "macro_auprc", "micro_f1",
                        "subset_accuracy")}
    mean["f1"] = {c: round(float(np.mean([r["f1"][c] for r in per_fold])), 4)
                  for c in CINC_CLASSES}
    return {"folds_present": [r["fold"] for r in per_fold], "pooled": pooled,
            "mean_of_folds": mean, "per_fold": per_fold}
