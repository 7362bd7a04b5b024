"""``beatscope evaluate classification``: the engine's own beats, scored by class."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from beatscope.errors import BeatScopeError

PROTOCOL_RECORDS = {"ds2": "DS2", "ds1": "DS1"}


def add_parser(kinds: argparse._SubParsersAction) -> None:
    c = kinds.add_parser(
        "classification",
        help="beat classification: per-class Se/+P/F1, accuracy, confusion matrix",
        description="Run the whole engine (detection, segmentation, classification) on "
                    "annotated records and score the beats it found against the reference "
                    "within 150 ms. Reference beats the detector missed count against "
                    "their class. Prints the ensemble's table and each model alone.")
    c.add_argument("--db", required=True, type=Path, help="folder with WFDB records and .atr")
    group = c.add_mutually_exclusive_group()
    group.add_argument("--records", nargs="*", default=None, help="record names")
    group.add_argument("--protocol", choices=sorted(PROTOCOL_RECORDS),
                       help="ds2: de Chazal's test set (score validation-ds1 weights on it)")
    c.add_argument("--weights", type=Path, default=None, help="weight set (default: production)")
    c.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    c.add_argument("--cache", type=Path, default=None, help="cache of engine-extracted beats")
    c.add_argument("--json", type=Path, default=None, help="also write the scores as JSON")
    c.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from beatscope.models import BeatClassifier, load_weight_set
    from beatscope.training import splits

    if not args.db.is_dir():
        raise BeatScopeError(f"{args.db}: not a folder")
    if args.protocol:
        names = list(getattr(splits, PROTOCOL_RECORDS[args.protocol]))
    else:
        names = args.records or sorted(p.stem for p in args.db.glob("*.atr"))
    classifier = BeatClassifier(load_weight_set(args.weights), device=args.device)
    totals = score_records(classifier, args.db, names, args.cache)
    for key, s in totals.items():
        print(f"\n== {key} ({len(names)} records) ==")
        print(s.table())
    if args.json:
        args.json.write_text(json.dumps({k: s.as_dict() for k, s in totals.items()}, indent=2))
    return 0


def score_records(classifier, db: Path, names: list[str], cache: Path | None,
                  keep: dict | None = None) -> dict:
    """Scores summed over ``names``: {"ensemble", each member, and each of those
    "+ prematurity rule": ClassificationScore}, from the engine's own beats.

    ``keep``: a dict that receives, per record, what the scores were made of (member
    probabilities, the prematurity gate, reference labels), for re-combining the
    members afterwards (``bench/ds1_cv.py``'s ensemble-weight sweep)."""
    import numpy as np
    from tqdm import tqdm

    from beatscope.analysis.pipeline import PRE_RR
    from beatscope.analysis.prematurity import PrematurityRule, apply_prematurity, rule_gate
    from beatscope.evaluate.classification import score_classification
    from beatscope.evaluate.labelled import CLASS_INDEX, load_beats
    from beatscope.segment import (
        context_plan,
        qrs_similarity,
        reference_change,
        reference_similarity,
        with_local_template,
    )

    class_index = np.array([CLASS_INDEX[c] for c in classifier.classes])
    totals: dict[str, object] = {}
    for name in tqdm(names, unit="record", file=sys.stderr, disable=None):
        (beats,) = load_beats(db, [name], cache)
        windows = beats.windows.astype(np.float32)
        # as `analyze`: the shape tests and new rhythms where the networks read context
        similarity = change = qrs = None
        if classifier.in_leads == 4:
            windows = with_local_template(windows, context_plan(beats.sample, beats.fs))
            similarity = reference_similarity(windows)
            qrs = qrs_similarity(windows)
            change, _ = reference_change(windows)
        out = classifier.classify_detailed(windows, beats.rr, members=True)
        preds = {"ensemble": out.probs, **(out.member_probs or {})}
        # each also with the N/S split by prematurity, as `analyze` runs the ensemble
        rule = PrematurityRule()
        gate, applies = rule_gate(beats.sample, beats.fs, rule, change)
        classes = tuple(classifier.classes)
        if keep is not None:
            keep[name] = {"member_probs": out.member_probs, "gate": gate, "applies": applies,
                          "label": beats.label, "missed": beats.missed_label,
                          "classes": classes, "sample": beats.sample, "fs": beats.fs,
                          "similarity": similarity, "pre_rr_s": beats.rr[:, PRE_RR],
                          "qrs_similarity": qrs,
                          "reference_change": change}
        preds.update({f"{key} + prematurity rule": apply_prematurity(
            p, classes, gate, applies, similarity, rule, beats.rr[:, PRE_RR], qrs)
            for key, p in list(preds.items())})
        for key, p in preds.items():
            pred = class_index[p.argmax(axis=1)]
            s = score_classification(beats.label, pred, beats.missed_label)
            totals[key] = s if key not in totals else totals[key] + s
    return totals
