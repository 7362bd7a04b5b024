"""``beatscope train-rhythm``: train and cross-validate the rhythm model (CNN + BiLSTM)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from beatscope.errors import BeatScopeError

_SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train-rhythm", help="train the rhythm model (CNN + one BiLSTM layer) on CinC 2017 "
                             "and MIT-BIH",
        description="Record-wise k-fold cross-validation on CinC 2017 (stratified) with the "
                    "MIT-BIH records spread over the folds, then one model on all the data; "
                    "early stopping and per-label thresholds on held-out training records. "
                    "Writes weights plus manifest.json to OUT (folds under OUT/folds/K). "
                    "Seeded; logs to OUT/train.log.")
    p.add_argument("--cinc", type=Path, default=_SHARED / "cinc2017",
                   help="CinC 2017 folder (REFERENCE.csv, cinc2017.npz, read_cinc2017.py)")
    p.add_argument("--mitdb", type=Path, default=_SHARED / "mitdb",
                   help="MIT-BIH Arrhythmia Database folder ('' to leave it out)")
    p.add_argument("--prepared", type=Path, default=None, metavar="FILE",
                   help="train from a prepared data file (see --prepare-to) instead of "
                        "--cinc/--mitdb")
    p.add_argument("--prepare-to", type=Path, default=None, metavar="FILE",
                   help="only read --cinc/--mitdb, resample and label them, and write the "
                        "prepared data file FILE (about 25 MB; no training)")
    p.add_argument("--out", type=Path, default=None, help="folder for weights and manifest")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (0: none)")
    p.add_argument("--only-folds", default=None, metavar="K,K",
                   help="run only these folds (finished folds in OUT/folds are kept and pooled); "
                        "'' runs none (the all-data model only)")
    p.add_argument("--no-final", action="store_true",
                   help="cross-validate only; do not train the all-data model")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--samples-per-epoch", type=int, default=8000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--channels", default="16,32,48,64,64",
                   help="output channels of the 5 strided conv blocks")
    p.add_argument("--hidden", type=int, default=64, help="BiLSTM units per direction")
    p.add_argument("--patience", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split-seed", type=int, default=None,
                   help="seed of the cross-validation folds (default: --seed); give the "
                        "members of an ensemble the same one")
    p.add_argument("--precision", choices=["bf16", "fp32"], default="bf16")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--jobs", type=int, default=1,
                   help="folds (and the all-data model) trained at once, one process each "
                        "with --threads threads (for a GPU machine); each fold is seeded on "
                        "its own, so it does not depend on the order")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu",
                   help="where to train (auto: CUDA when available)")
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--ema", type=float, default=0.0,
                   help="decay of an exponential moving average of the weights, which is "
                        "what is validated and saved (0: off)")
    p.add_argument("--cinc-limit", type=int, default=None, help=argparse.SUPPRESS)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from beatscope.training.rhythm_trainer import RhythmTrainConfig, run_cv

    command = "beatscope " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    mitdb = args.mitdb if str(args.mitdb) else None
    if args.prepared is None:
        if not (args.cinc / "REFERENCE.csv").is_file():
            raise BeatScopeError(f"{args.cinc}: CinC 2017 folder not found (pass --cinc)")
        if mitdb is not None and not mitdb.is_dir():
            raise BeatScopeError(f"{mitdb}: MIT-BIH folder not found (pass --mitdb, or '')")
    elif not args.prepared.is_file():
        raise BeatScopeError(f"{args.prepared}: prepared data file not found")
    if args.prepare_to is not None:
        return _prepare(args, mitdb, command)
    if args.out is None:
        raise BeatScopeError("--out is required (the folder for weights and manifest)")
    cfg = RhythmTrainConfig(folds=args.folds, epochs=args.epochs,
                            samples_per_epoch=args.samples_per_epoch, batch=args.batch,
                            lr=args.lr, patience=args.patience, hidden=args.hidden,
                            channels=tuple(int(c) for c in args.channels.split(",")),
                            seed=args.seed, split_seed=args.split_seed,
                            precision=args.precision, threads=args.threads,
                            device=_device(args.device), dropout=args.dropout, ema=args.ema)
    only = (None if args.only_folds is None
            else [int(k) for k in args.only_folds.split(",") if k.strip()])
    result = run_cv(cfg, args.cinc, mitdb, args.out, command, folds_to_run=only,
                    final=not args.no_final, cinc_limit=args.cinc_limit,
                    prepared=args.prepared, jobs=args.jobs)
    cv = result.get("cv") or (result.get("metrics") or {}).get("cross_validation")
    if cv:
        pooled = cv["pooled"]
        print(f"cross-validation ({len(cv['folds_present'])} folds): challenge F1 (N,A,O) "
              f"{pooled['challenge_f1_nao']}, F1 " +
              ", ".join(f"{c} {v}" for c, v in pooled["f1"].items()))
    print(f"{args.out}: written")
    return 0


def _device(choice: str) -> str:
    import torch

    if choice == "cuda" and not torch.cuda.is_available():
        raise BeatScopeError("--device cuda: no CUDA device is available")
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return choice


def _prepare(args: argparse.Namespace, mitdb: Path | None, command: str) -> int:
    import time

    from beatscope.training.rhythm_prepared import save_prepared
    from beatscope.training.rhythm_trainer import load_training_data

    t0 = time.perf_counter()
    cinc, mit, _ = load_training_data(args.cinc, mitdb, None, args.cinc_limit)
    digest = save_prepared(args.prepare_to, cinc, mit, {
        "cinc2017": str(args.cinc), "mitdb": str(mitdb) if mitdb else None,
        "command": command})
    size = args.prepare_to.stat().st_size / 1e6
    print(f"{args.prepare_to}: {len(cinc.names)} CinC records, {len(mit)} MIT-BIH records, "
          f"{size:.1f} MB, sha256 {digest} ({time.perf_counter() - t0:.0f} s)")
    return 0
