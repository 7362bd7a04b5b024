"""CinC 2017 through the whole engine: AF as ``analyze`` finds it (RR rules + model).

    python bench/rhythm_cinc_engine.py --cv runs/rhythm-cv2 [--limit-per-fold N]

``bench/rhythm.py`` scores the rhythm network alone on CinC (record label = the
mean of its window probabilities). What a user gets is ``analyze``'s rhythm
object, where AF also needs irregular RR intervals (``beatscope.rhythm``, the
fusion of ``rhythm.model_input``). This runs every CinC record through
``analyze`` with the fold model that never saw it (the folds of the CV run in
``--cv``, rebuilt with the same seed), the shipped beat classifier (trained on
MIT-BIH, never on CinC), and scores two record decisions side by side:

* ``model``: the CV's own decision (each label's mean window probability against
  its tuned threshold), the baseline, recomputed from the fold's saved scores;
* ``engine``: A when the engine's rhythm object reports AFIB in the record
  (``record["AFIB"] >= 0.5``), otherwise the model's best label among N, O, ~.

``--afib-at-threshold`` scores an alternative fusion: the AFIB window probability
shifted by its tuned threshold's logit (so the threshold reads 0.5, the episodes'
entry level) before it meets the RR score. ``analyze`` fuses it unshifted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

from beatscope.rhythm.scores import sigmoid  # noqa: E402
from beatscope.training.rhythm_data import (  # noqa: E402
    CINC_CLASSES,
    CINC_TO_LABEL,
    _cinc_reader,
    cinc_folds,
)
from beatscope.training.rhythm_metrics import f1_per_class, logit  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def engine_af(record_mv: np.ndarray, fs: float, name: str, classifier, rhythm_model) -> float:
    """``analyze``'s record-level AFIB probability for one single-lead strip."""
    from beatscope.analysis import AnalysisOptions, analyze
    from beatscope.io import Record
    from beatscope.io.validate import finalise

    record = finalise(Record(name=name, signals=record_mv[:, None], fs=fs,
                             lead_names=["ECG"], units=["mV"]))
    result = analyze(record, AnalysisOptions(classifier=classifier,
                                             rhythm_model=rhythm_model))
    return float(result.rhythm["record"].get("AFIB", 0.0))


def afib_at_threshold(rhythm_model):
    """``rhythm_model`` whose fused AFIB probability is shifted by its threshold logit."""
    plain = rhythm_model.model_input
    shift = logit(np.array([rhythm_model.thresholds["AFIB"]]))[0]

    def shifted(windows):
        out = plain(windows)
        p = out.probability["AFIB"]
        return replace(out, probability={**out.probability, "AFIB": sigmoid(logit(p) - shift)})

    rhythm_model.model_input = shifted
    return rhythm_model


def table(name: str, true: np.ndarray, pred: np.ndarray) -> dict:
    f1 = f1_per_class(true, pred, 4)
    row = {c: round(float(v), 3) for c, v in zip(CINC_CLASSES, f1, strict=True)}
    row["mean_nao"] = round(float(np.mean(f1[:3])), 3)
    print(f"| {name} | {len(true)} | " + " | ".join(f"{row[c]:.3f}" for c in CINC_CLASSES)
          + f" | **{row['mean_nao']:.3f}** |")
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cv", type=Path, nargs="+", required=True, metavar="RUN",
                    help="`train-rhythm --folds K` output; several (one --split-seed): the "
                         "ensemble of their fold models, as `combine-rhythm` builds it")
    ap.add_argument("--cinc", type=Path, default=SHARED / "cinc2017")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit-per-fold", type=int, default=None,
                    help="score only the first N test records of each fold (a quick look)")
    ap.add_argument("--afib-at-threshold", action="store_true",
                    help="fuse the AFIB probability shifted so that its tuned threshold "
                         "reads 0.5 (an alternative; analyze fuses it unshifted)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from beatscope.analysis.classifier_cache import ClassifierSpec, load_classifier
    from beatscope.rhythm.model import RhythmModel

    reader = _cinc_reader(args.cinc)
    labels = reader.load_labels()
    names = sorted(labels)
    y = np.array([CINC_TO_LABEL[labels[n]] for n in names])
    fold = cinc_folds(y, args.folds, args.seed)
    classifier = load_classifier(ClassifierSpec())
    true, model_pred, engine_pred = [], [], []
    t0, failures = time.perf_counter(), 0
    for k in range(args.folds):
        fdirs = [d / "folds" / str(k) for d in args.cv]
        saved = [np.load(f / "cinc_test_probs.npz") for f in fdirs]
        test = np.flatnonzero(fold == k)
        if any(list(z["names"]) != [names[i] for i in test] for z in saved):
            raise SystemExit(f"fold {k}: the saved test records are not this split's")
        rhythm_model = RhythmModel.combine([RhythmModel.load(f) for f in fdirs])
        if args.afib_at_threshold:
            rhythm_model = afib_at_threshold(rhythm_model)
        # the CV's single-class decision: the members' mean margin over their thresholds
        margin = np.mean([logit(z["probs"]) - logit(z["thresholds"])[None, :]
                          for z in saved], axis=0)
        n = len(test) if args.limit_per_fold is None else min(args.limit_per_fold, len(test))
        for j in range(n):
            name = names[test[j]]
            mv, fs = reader.load_record(name)
            try:
                af = engine_af(mv, float(fs), name, classifier, rhythm_model)
            except Exception as err:  # too short or unreadable: the model decides alone
                failures += 1
                print(f"  {name}: engine failed ({type(err).__name__}: {err})", file=sys.stderr)
                af = float(margin[j, 1] >= 0)
            best = int(np.argmax(margin[j]))
            others = margin[j].copy()
            others[1] = -np.inf
            true.append(int(y[test[j]]))
            model_pred.append(best)
            engine_pred.append(1 if af >= 0.5 else int(np.argmax(others)))
        print(f"fold {k}: {n} records, {time.perf_counter() - t0:.0f} s so far", file=sys.stderr)
    true_a, model_a, engine_a = map(np.asarray, (true, model_pred, engine_pred))
    print(f"\nCinC 2017, {len(true_a)} records, each scored with the fold model that never "
          f"saw it; engine failures (model alone used): {failures}")
    print("| decision | records | F1 N | F1 A | F1 O | F1 ~ | mean F1 (N,A,O) |")
    print("|---|---|---|---|---|---|---|")
    out = {"model": table("rhythm network alone (CV decision)", true_a, model_a),
           "engine": table("engine: AF from RR rules + network, as `analyze`", true_a,
                           engine_a)}
    conf = np.zeros((4, 4), int)
    np.add.at(conf, (true_a, engine_a), 1)
    print(f"engine confusion (rows true N A O ~, columns predicted): {conf.tolist()}")
    out["engine_confusion"] = conf.tolist()
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
