"""Record-wise cross-validation of the beat classifier inside DS1 (4 folds).

Run on purpose, not in CI (each fold trains the ensemble: about 10 min on 2 cores):

    python bench/ds1_cv.py --out runs/ds1-cv
    python bench/ds1_cv.py --out runs/ds1-cv --folds 0,1     # some folds; the rest later

Choices about the classifier have to be made without looking at DS2 (de Chazal's
test set). This trains the ensemble once per fold of ``splits.DS1_CV_FOLDS`` with
the same hyper-parameters as ``model_weights/validation-ds1`` (``--protocol
ds1-cv``: test = the fold's records; early stopping and calibration on the
DS1_VALIDATION records outside the fold; training on the rest of DS1), scores each
fold's model on its own records with the engine's beats (as ``beatscope evaluate
classification``), and pools the confusion matrices over the 22 DS1 records.
Finished folds (``OUT/folds/K/manifest.json``) are not trained again.

Prints the pooled tables for the ensemble with and without the prematurity rule
(the rule's parameters were chosen on DS1 reference beats: see
``bench/prematurity_rule.py``) and for each member alone, then the ensemble weight
swept from 0 to 1 (ResNet's share; each fold's members and temperatures as trained,
the prematurity rule on and off): the evidence ``--ensemble-weight`` was chosen on.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))
sys.path.insert(0, str(ROOT / "bench"))

from beatscope.analysis.prematurity import (  # noqa: E402
    PrematurityRule,
    apply_prematurity,
    rule_gate,
)
from beatscope.cli.evaluate_classification import score_records  # noqa: E402
from beatscope.evaluate.classification import score_classification  # noqa: E402
from beatscope.evaluate.labelled import CLASS_INDEX  # noqa: E402
from beatscope.models import BeatClassifier, load_weight_set  # noqa: E402
from beatscope.training import splits  # noqa: E402
from beatscope.training.augment import AugmentConfig  # noqa: E402
from beatscope.training.trainer import TrainConfig, run_training  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--db", type=Path, default=SHARED / "mitdb")
    ap.add_argument("--nstdb", type=Path, default=SHARED / "nstdb")
    ap.add_argument("--cache", type=Path, default=ROOT / "runs" / "cache")
    ap.add_argument("--folds", default="0,1,2,3", help="folds to train if not yet done")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--balance-alpha", type=float, default=0.85)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0,
                    help="as beatscope train --seed: another draw of the same recipe")
    ap.add_argument("--lead-copy", type=float, default=0.0,
                    help="as beatscope train --lead-copy")
    ap.add_argument("--polarity", type=float, default=0.0, help="as beatscope train --polarity")
    ap.add_argument("--cinc-normals", type=int, default=0,
                    help="as beatscope train --cinc-normals")
    ap.add_argument("--cinc", type=Path, default=SHARED / "cinc2017")
    args = ap.parse_args()
    command = "python bench/ds1_cv.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    nstdb = args.nstdb if args.nstdb.is_dir() else None
    for k in (int(f) for f in args.folds.split(",") if f.strip()):
        fdir = args.out / "folds" / str(k)
        if (fdir / "manifest.json").is_file():
            print(f"fold {k}: already trained ({fdir})")
            continue
        cfg = TrainConfig(protocol="ds1-cv", cv_fold=k, epochs=args.epochs,
                          balance_alpha=args.balance_alpha, threads=args.threads,
                          seed=args.seed, augment=AugmentConfig(lead_copy=args.lead_copy,
                                                polarity=args.polarity),
                          cinc_normals=args.cinc_normals)
        print(f"fold {k}: training on {splits.ds1_cv_split(k)[0]}", flush=True)
        run_training(cfg, args.db, fdir, nstdb, args.cache, command,
                     cinc=args.cinc if args.cinc_normals > 0 else None)

    present = [k for k in range(len(splits.DS1_CV_FOLDS))
               if (args.out / "folds" / str(k) / "manifest.json").is_file()]
    totals: dict = {}
    kept: dict = {}
    for k in present:
        clf = BeatClassifier(load_weight_set(args.out / "folds" / str(k)), device="cpu")
        for key, s in score_records(clf, args.db, list(splits.DS1_CV_FOLDS[k]),
                                    args.cache, keep=kept).items():
            totals[key] = s if key not in totals else totals[key] + s
    records = sum(len(splits.DS1_CV_FOLDS[k]) for k in present)
    print(f"\nDS1 record-wise cross-validation, folds {present} ({records} records), "
          "each record scored by the fold model that never saw it")
    order = ["ensemble + prematurity rule", "ensemble"] + sorted(
        k for k in totals if k not in ("ensemble", "ensemble + prematurity rule"))
    for key in order:
        print(f"\n== {key} ==")
        print(totals[key].table())
    summary = {key: totals[key].as_dict() for key in order}
    sweep = weight_sweep(kept)
    rules = rule_comparison(kept)
    (args.out / "cv_scores.json").write_text(json.dumps(
        {"folds": present, "records": records, "command": command, "scores": summary,
         "ensemble_weight_sweep": sweep, "prematurity_rules": rules}, indent=2) + "\n")
    print(f"\nwrote {args.out / 'cv_scores.json'}")
    return 0


def pooled(kept: dict, w: float, rule: PrematurityRule | None = None, first: str = "resnet",
           second: str = "slap"):
    """The score of ``w * first + (1 - w) * second`` (calibrated probabilities, as
    ``BeatClassifier`` mixes them) summed over the kept records, with ``rule`` (None:
    off) re-splitting N and S as ``analyze`` does."""
    total = None
    for rec in kept.values():
        classes = rec["classes"]
        p = w * rec["member_probs"][first] + (1 - w) * rec["member_probs"][second]
        if rule is not None:
            gate = rule_gate(rec["sample"], rec["fs"], rule, rec.get("reference_change"))
            p = apply_prematurity(p, classes, *gate, rec.get("similarity"), rule,
                                  rec.get("pre_rr_s"), rec.get("qrs_similarity"))
        index = np.array([CLASS_INDEX[c] for c in classes])
        s = score_classification(rec["label"], index[p.argmax(axis=1)], rec["missed"])
        total = s if total is None else total + s
    return total


def weight_sweep(kept: dict, first: str = "resnet", second: str = "slap") -> list[dict]:
    """Pooled scores for w = 0, 0.1, ..., 1 and the paper's 0.792, the rule (as
    scored) off and on."""
    rows = []
    print(f"\nensemble weight sweep (w = {first}'s share), pooled over the records")
    print("| w | rule | accuracy % | macro-F1 (N,S,V) | SVEB Se / +P / F1 | VEB F1 |")
    print("|---|---|---|---|---|---|")
    for w in sorted({*np.round(np.arange(0.0, 1.0001, 0.1), 3), 0.792}):
        for rule in (False, True):
            total = pooled(kept, w, PrematurityRule() if rule else None, first, second)
            d = total.as_dict()
            sv, v = d["per_class"]["S"], d["per_class"]["V"]
            row = {"w": float(w), "rule": rule, "accuracy": d["accuracy"],
                   "macro_f1_nsv": round(total.macro_f1(("N", "S", "V")), 2),
                   "S": sv, "V": v}
            rows.append(row)
            print(f"| {w:.3f} | {'on' if rule else 'off'} | {d['accuracy']:.2f} | "
                  f"{row['macro_f1_nsv']:.2f} | {sv['se']} / {sv['ppv']} / {sv['f1']} | "
                  f"{v['f1']} |")
    return rows


def rule_comparison(kept: dict, w: float = 0.792) -> list[dict]:
    """Pooled scores at the shipped ensemble weight with the shipped prematurity rule,
    without its QRS test for V, without its V shape test, without both shape tests,
    without its test on how runs end, without its new-rhythm test, without any of
    the four, and as it was before its step test (``bench/prematurity_rule.py``)."""
    from prematurity_rule import BEFORE_STEP

    rows = []
    print(f"\nprematurity rule, ensemble weight {w}, pooled over the records")
    print("| rule | accuracy % | SVEB Se / +P / F1 | VEB F1 |")
    print("|---|---|---|---|")
    for name, rule in (("shipped", PrematurityRule()),
                       ("without the QRS test for V",
                        PrematurityRule(v_max_qrs_similarity=None)),
                       ("without the V shape test", PrematurityRule(
                           v_max_similarity=None, v_max_qrs_similarity=None)),
                       ("without the shape tests", PrematurityRule(
                           min_similarity=None, v_max_similarity=None,
                           v_max_qrs_similarity=None)),
                       ("without the run-end test", PrematurityRule(sustained_max_rr=None)),
                       ("without the new-rhythm test", PrematurityRule(lasting_s=None)),
                       ("without any of the four", PrematurityRule(
                           min_similarity=None, v_max_similarity=None,
                           v_max_qrs_similarity=None, sustained_max_rr=None,
                           lasting_s=None)),
                       ("before the step test", BEFORE_STEP)):
        d = pooled(kept, w, rule).as_dict()
        sv, v = d["per_class"]["S"], d["per_class"]["V"]
        rows.append({"rule": name, "parameters": repr(rule), "accuracy": d["accuracy"],
                     "S": sv, "V": v})
        print(f"| {name} | {d['accuracy']:.2f} | {sv['se']} / {sv['ppv']} / {sv['f1']} | "
              f"{v['f1']} |")
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
