"""``beatscope combine-rhythm``: several trained rhythm models as one ensemble weight set."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "combine-rhythm", help="write several rhythm models (seeds) as one ensemble weight set",
        description="Average rhythm models of one configuration trained with different "
                    "seeds: their logits are averaged, their per-label thresholds averaged "
                    "as logits. With --cv (each member's cross-validation run, trained with "
                    "the same --split-seed), the ensemble is scored fold by fold and the "
                    "score goes into OUT/manifest.json.")
    p.add_argument("members", type=Path, nargs="+", metavar="WEIGHTS",
                   help="the members' weight sets (train-rhythm --out folders)")
    p.add_argument("--out", type=Path, required=True, help="folder for the ensemble")
    p.add_argument("--cv", type=Path, nargs="*", default=[], metavar="RUN",
                   help="the members' cross-validation runs, in the same order")
    p.add_argument("--folds", type=int, default=5)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from beatscope.training.rhythm_ensemble import combine_rhythm
    from beatscope.training.trainer import _setup_logging

    args.out.mkdir(parents=True, exist_ok=True)
    _setup_logging(args.out / "combine.log")
    command = "beatscope " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    manifest = combine_rhythm(args.members, args.out, command, args.cv, args.folds)
    cv = (manifest.get("metrics") or {}).get("cross_validation")
    if cv:
        pooled = cv["pooled"]
        print(f"ensemble cross-validation ({len(cv['folds_present'])} folds): challenge F1 "
              f"(N,A,O) {pooled['challenge_f1_nao']}, F1 "
              + ", ".join(f"{c} {v}" for c, v in pooled["f1"].items()))
    print(f"{args.out}: written ({len(manifest['files'])} members)")
    return 0
