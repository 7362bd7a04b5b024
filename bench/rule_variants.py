"""The prematurity rule and its variants on any annotated records with one weight set,
all from one pass of the networks: ``bench/ds1_cv.py``'s rule comparison, outside
the cross-validation (DS2 with the DS1-only weights, to report a choice made on DS1).

    python bench/rule_variants.py [--weights model_weights/validation-ds1]
                                  [--records ds2 | ds1 | NAME ...] [--db DIR]

Each row re-applies a variant of the rule to the same member probabilities, at the
ensemble weight the weight set ships with.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))
sys.path.insert(0, str(ROOT / "bench"))

from beatscope.cli.evaluate_classification import score_records  # noqa: E402
from beatscope.models import BeatClassifier, load_weight_set  # noqa: E402
from beatscope.training import splits  # noqa: E402
from ds1_cv import rule_comparison  # noqa: E402

SETS = {"ds2": splits.DS2, "ds1": splits.DS1}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", type=Path, default=ROOT / "model_weights" / "validation-ds1")
    ap.add_argument("--records", nargs="+", default=["ds2"])
    ap.add_argument("--db", type=Path, default=ROOT.parent / "shared" / "data" / "mitdb")
    ap.add_argument("--cache", type=Path, default=ROOT / "runs" / "cache")
    args = ap.parse_args()
    names = [n for r in args.records for n in SETS.get(r.lower(), (r,))]
    weights = load_weight_set(args.weights)
    classifier = BeatClassifier(weights, device="cpu")
    kept: dict = {}
    score_records(classifier, args.db, names, args.cache, keep=kept)
    w = classifier.describe()["weights"]["resnet"]  # the shipped mix: w * ResNet + (1 - w) * SLAP
    print(f"{args.weights}, {len(names)} records")
    rule_comparison(kept, w)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
