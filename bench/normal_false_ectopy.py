"""False ectopic calls in normal patients: the beat classifier on CinC 2017 records
labelled normal sinus rhythm (single lead, 300 Hz, a handheld device, thousands of
different people), from the record-wise fold no beat model trains on
(``training.cinc_normals.HELD_OUT_FOLD``; training may use the other folds' normal
beats, ``beatscope train --cinc-normals``).

    python bench/normal_false_ectopy.py [--cinc ../shared/data/cinc2017] [--n 500]
                                        [--weights DIR ...] [--seed 0] [--fold 0]
                                        [--without-qrs-test]

Nearly every beat of a normal-rhythm recording is N, so V and S calls per 1,000 beats,
and the share of recordings with more than 5 % of their beats called V, measure false
ectopy (issue 17's goal: <= 5 V per 1,000 beats and <= 2 % of records over 5 % V).
A few true ectopic beats exist in such recordings; the figures are an upper bound on
the false calls. Each weight set given is scored on the same seeded sample of records,
in the same run (the shipped set when none is given). The engine runs as ``analyze``
does (prematurity rule included, no rhythm model: only the beats are scored).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

from beatscope.training.cinc_normals import (  # noqa: E402
    HELD_OUT_FOLD,
    fold_records,
    load_reader,
    seeded_sample,
)

#: A recording is counted as over-called when more than this share of its beats is V.
OVER_CALLED_V = 0.05


def score(weights: Path | None, names: list[str], reader, rule=None) -> dict:
    """``rule``: the prematurity rule (None: the shipped one)."""
    from beatscope.analysis import AnalysisOptions, analyze
    from beatscope.analysis.classifier_cache import ClassifierSpec, load_classifier
    from beatscope.analysis.prematurity import PrematurityRule
    from beatscope.io import Record

    classifier = load_classifier(ClassifierSpec(weights=weights, required=weights is not None))
    options = AnalysisOptions(classifier=classifier, rhythm_model=None,
                              prematurity=rule or PrematurityRule(), templates=False)
    beats = v = s = over = 0
    per_record_v = []
    t = time.perf_counter()
    for name in names:
        mv, fs = reader.load_record(name)
        record = Record(name, mv[:, None], float(fs), ["I"], ["mV"])
        labels = analyze(record, options).beats.label
        n_v, n_s = int((labels == "V").sum()), int((labels == "S").sum())
        beats, v, s = beats + len(labels), v + n_v, s + n_s
        share = n_v / max(len(labels), 1)
        per_record_v.append(share)
        over += share > OVER_CALLED_V
    return {"weights": str(weights or "shipped"), "records": len(names), "beats": beats,
            "v_per_1000": 1000.0 * v / max(beats, 1), "s_per_1000": 1000.0 * s / max(beats, 1),
            "over_called_pct": 100.0 * over / max(len(names), 1),
            "worst_v_share": max(per_record_v, default=0.0),
            "seconds": time.perf_counter() - t}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cinc", type=Path, default=ROOT.parent / "shared" / "data" / "cinc2017")
    ap.add_argument("--n", type=int, default=500, help="normal records sampled (seeded)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--weights", type=Path, nargs="*", default=[None])
    ap.add_argument("--without-qrs-test", action="store_true",
                    help="also score each weight set with the prematurity rule's QRS test "
                         "for V off (the rule before session 15), in the same run")
    ap.add_argument("--fold", type=int, default=HELD_OUT_FOLD,
                    help=f"the fold sampled (default {HELD_OUT_FOLD}: never trained on); "
                         "-1: every normal record")
    args = ap.parse_args()
    normal = fold_records(args.cinc, args.fold)
    names = seeded_sample(normal, args.n, args.seed)
    reader = load_reader(args.cinc)
    print(f"{len(names)} of {len(normal)} CinC 2017 normal-rhythm records of fold {args.fold} "
          f"(seed {args.seed})")
    print("| weights | beats | V per 1,000 | S per 1,000 | records > 5 % V | worst record's V "
          "share | seconds |")
    print("|---|---|---|---|---|---|---|")
    from beatscope.analysis.prematurity import PrematurityRule

    rules = [("", None)]
    if args.without_qrs_test:
        rules.append((", no QRS test", PrematurityRule(v_max_qrs_similarity=None)))
    for weights, (suffix, rule) in ((w, r) for w in args.weights for r in rules):
        r = score(weights, names, reader, rule)
        print(f"| {r['weights']}{suffix} | {r['beats']:,} | {r['v_per_1000']:.1f} | "
              f"{r['s_per_1000']:.1f} | {r['over_called_pct']:.1f} % | "
              f"{100 * r['worst_v_share']:.0f} % | {r['seconds']:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
