"""``beatscope train``: train the beat-classifier ensemble, reproducibly."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from beatscope.errors import BeatScopeError

_SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train the beat classifier (ResNet-34-1D + SLAP) on MIT-BIH",
        description="Train both ensemble members under a protocol, early-stop on held-out "
                    "records, calibrate, score the test set and write weights plus "
                    "manifest.json to OUT. Seeded; logs to OUT/train.log.")
    p.add_argument("--protocol", choices=["ds1", "ds1-cv", "all", "intra"], default="ds1",
                   help="ds1: train on DS1, test on DS2 (inter-patient); ds1-cv: one fold of "
                        "the record-wise 4-fold cross-validation inside DS1 (--cv-fold; "
                        "bench/ds1_cv.py runs them all); all: every record (production); "
                        "intra: the seed paper's random 72/18/10 beat split")
    p.add_argument("--cv-fold", type=int, default=0, choices=range(4),
                   help="the DS1 fold tested under --protocol ds1-cv")
    p.add_argument("--db", type=Path, default=_SHARED / "mitdb", help="MIT-BIH folder")
    p.add_argument("--nstdb", type=Path, default=_SHARED / "nstdb",
                   help="NSTDB folder for bw/ma noise augmentation ('' to disable)")
    p.add_argument("--out", type=Path, required=True, help="folder for weights and manifest")
    p.add_argument("--cache", type=Path, default=Path("runs/cache"),
                   help="cache of engine-extracted beats")
    p.add_argument("--models", default="resnet,slap", help="comma-separated members")
    p.add_argument("--no-rr", action="store_true", help="ablation: no RR features")
    p.add_argument("--no-template", action="store_true",
                   help="ablation: no patient-template channels (the paper's 2-lead input)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--samples-per-epoch", type=int, default=24_000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--morphology-dropout", type=float, default=0.0,
                   help="share of training beats shown with a blank waveform (RR only)")
    p.add_argument("--balance-alpha", type=float, default=0.6,
                   help="class-balanced sampling: each beat drawn with weight count(class)^-alpha")
    p.add_argument("--patience", type=int, default=4,
                   help="epochs without a better validation macro-F1 before stopping; "
                        "set it to --epochs to run the whole one-cycle schedule")
    p.add_argument("--ensemble-weight", type=float, default=None, metavar="W",
                   help="weight of the first member (ResNet) in the ensemble, the second "
                        "getting 1 - W; default: tuned on the validation records")
    p.add_argument("--lead-copy", type=float, default=0.0, metavar="P",
                   help="augmentation: probability that one lead is fed to both inputs, "
                        "as a one-lead record is")
    p.add_argument("--polarity", type=float, default=0.0, metavar="P",
                   help="augmentation: probability that a beat is inverted")
    p.add_argument("--cinc-normals", type=int, default=0, metavar="N",
                   help="add the guarded dominant beats of N CinC 2017 normal-rhythm "
                        "recordings (outside the held-out fold) as N training beats")
    p.add_argument("--cinc-per-record", type=int, default=12, metavar="K",
                   help="at most K beats of each of those recordings")
    p.add_argument("--cinc", type=Path, default=_SHARED / "cinc2017",
                   help="CinC 2017 folder (for --cinc-normals)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision", choices=["bf16", "fp32"], default="bf16")
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from beatscope.training.augment import AugmentConfig
    from beatscope.training.trainer import TrainConfig, run_training

    if args.ensemble_weight is not None and not 0.0 <= args.ensemble_weight <= 1.0:
        raise BeatScopeError(f"--ensemble-weight {args.ensemble_weight}: must be in [0, 1]")
    for name in ("lead_copy", "polarity"):
        if not 0.0 <= getattr(args, name) <= 1.0:
            raise BeatScopeError(f"--{name.replace('_', '-')} {getattr(args, name)}: "
                                 "must be in [0, 1]")
    if not args.db.is_dir():
        raise BeatScopeError(f"{args.db}: MIT-BIH folder not found (pass --db)")
    nstdb = args.nstdb if str(args.nstdb) and args.nstdb.is_dir() else None
    if args.cinc_normals > 0 and not (args.cinc / "REFERENCE.csv").is_file():
        raise BeatScopeError(f"{args.cinc}: CinC 2017 folder not found (pass --cinc)")
    cfg = TrainConfig(protocol=args.protocol, cv_fold=args.cv_fold,
                      models=tuple(args.models.split(",")),
                      use_rr=not args.no_rr, template_channels=not args.no_template,
                      epochs=args.epochs,
                      samples_per_epoch=args.samples_per_epoch, batch=args.batch, lr=args.lr,
                      balance_alpha=args.balance_alpha,
                      morphology_dropout=args.morphology_dropout,
                      patience=args.patience, ensemble_weight=args.ensemble_weight,
                      seed=args.seed, precision=args.precision, threads=args.threads,
                      augment=AugmentConfig(lead_copy=args.lead_copy,
                                            polarity=args.polarity),
                      cinc_normals=args.cinc_normals, cinc_per_record=args.cinc_per_record)
    command = "beatscope " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    manifest = run_training(cfg, args.db, args.out, nstdb, args.cache, command,
                            cinc=args.cinc if args.cinc_normals > 0 else None)
    test = manifest["metrics"].get("test") or manifest["metrics"]["validation"]
    ens = test["ensemble"]
    print(f"{args.out}: accuracy {ens['accuracy']} %, macro-F1 {ens['macro_f1_nsvf']}, "
          + ", ".join(f"{c} F1 {v['f1']}" for c, v in ens["per_class"].items()))
    return 0
