"""``beatscope evaluate detection --db DIR``: the project's own bxb-like scorer."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from beatscope.errors import BeatScopeError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score BeatScope against reference annotations")
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    d = kinds.add_parser(
        "detection", help="beat detection Se/+P per record and pooled (AAMI EC57, 150 ms)",
        description="Detect beats in each record of a WFDB database and score them against "
                    "its reference annotations (.atr): a detection within 150 ms of a "
                    "reference beat is a true positive; ventricular flutter episodes are "
                    "excluded, as in EC57.")
    d.add_argument("--db", required=True, type=Path, help="folder with WFDB records and .atr files")
    d.add_argument("--records", nargs="*", default=None, help="record names (default: all)")
    d.add_argument("--json", type=Path, default=None, help="also write the table as JSON")
    d.set_defaults(run=run_detection)

    from beatscope.cli import evaluate_classification

    evaluate_classification.add_parser(kinds)


def run_detection(args: argparse.Namespace) -> int:
    import json

    from tqdm import tqdm

    from beatscope.analysis.pipeline import detect_with_quality
    from beatscope.dsp import signal_quality
    from beatscope.evaluate import score_detection
    from beatscope.io import load_record

    if not args.db.is_dir():
        raise BeatScopeError(f"{args.db}: not a folder")
    names = args.records or sorted(p.stem for p in args.db.glob("*.atr"))
    if not names:
        raise BeatScopeError(f"{args.db}: no records with reference annotations (.atr)")
    scores = []
    for name in tqdm(names, unit="record", file=sys.stderr, disable=None):
        record = load_record(args.db / f"{name}.hea")
        if record.annotations is None:
            raise BeatScopeError(f"{name}: no reference annotations")
        quality = signal_quality(record.signals, record.fs, record.invalid_mask)
        det = detect_with_quality(record.signals, record.fs, quality)
        ann = record.annotations
        scores.append(score_detection(name, ann.sample, ann.symbol, det, record.fs,
                                      record.n_samples))
    pooled = scores[0]
    for s in scores[1:]:
        pooled = pooled + s
    print(f"{'record':>10} {'ref':>7} {'TP':>7} {'FN':>5} {'FP':>5} {'Se %':>8} {'+P %':>8}")
    for s in scores + [pooled]:
        print(f"{s.name:>10} {s.tp + s.fn:>7} {s.tp:>7} {s.fn:>5} {s.fp:>5} "
              f"{s.sensitivity:>8.3f} {s.ppv:>8.3f}")
    if args.json:
        args.json.write_text(json.dumps([s.as_dict() for s in scores + [pooled]], indent=2))
    return 0
