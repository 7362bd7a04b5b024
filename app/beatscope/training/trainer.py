"""The seeded training run behind ``beatscope train``.

One run trains both ensemble members (ResNet-34-1D and SLAP) under one
protocol, early-stops each on records it never trains on, calibrates each by
temperature scaling and tunes the ensemble weight on those same validation
beats, scores the test set, and writes a weight set with its manifest.
Everything is logged to ``<out>/train.log``.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from beatscope.aami import AAMI_CLASSES
from beatscope.evaluate.classification import ClassificationScore, score_classification
from beatscope.evaluate.labelled import RecordBeats, class_counts, load_beats
from beatscope.segment import context_description, context_plan, with_local_template
from beatscope.training import splits
from beatscope.training.augment import AugmentConfig, Augmenter, load_noise

log = logging.getLogger("beatscope.train")

PROTOCOLS = ("ds1", "ds1-cv", "all", "intra")
#: Models are selected (early stopping, ensemble weight) by the mean F1 of these
#: classes on the validation records: F and Q are too rare there to steer by.
SELECTION_CLASSES = ("N", "S", "V")


@dataclass(frozen=True)
class TrainConfig:
    protocol: str = "ds1"
    #: the DS1 cross-validation fold tested ("ds1-cv" only; splits.DS1_CV_FOLDS)
    cv_fold: int = 0
    models: tuple[str, ...] = ("resnet", "slap")
    use_rr: bool = True
    #: add each beat's difference from the patient's dominant beat around it (within
    #: 90 s, ``segment.context``) as input channels
    template_channels: bool = True
    epochs: int = 10
    samples_per_epoch: int = 24_000
    batch: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    dropout: float = 0.5
    balance_alpha: float = 0.6  # sampling weight per beat = count(class) ** -alpha
    label_smoothing: float = 0.05
    #: share of training beats whose waveform is blanked, so the network must
    #: also classify from RR context alone: morphology alone does not transfer
    #: between patients for S beats, prematurity does
    morphology_dropout: float = 0.0
    patience: int = 4
    #: weight of the first member (the ResNet) in the ensemble, the second getting the
    #: rest; None tunes it on the validation records (:func:`tune_weight`). A few
    #: validation records make that tuning noisy: the four DS1-CV folds tuned 0.12,
    #: 0.98, 0.12 and 0.26 (docs/VALIDATION.md 2d).
    ensemble_weight: float | None = None
    seed: int = 0
    precision: str = "bf16"  # autocast on the CPU; "fp32" to disable
    threads: int = 2
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    #: CinC 2017 normal-rhythm recordings whose guarded dominant beats join the
    #: training beats as N (``training.cinc_normals``; 0: none), at most
    #: ``cinc_per_record`` beats each. Never the held-out fold, never validation.
    cinc_normals: int = 0
    cinc_per_record: int = 12


@dataclass
class BeatArrays:
    """Beats of several records stacked, for batching."""

    windows: np.ndarray  # float16 (n, 2, 400)
    rr: np.ndarray
    label: np.ndarray
    missed: np.ndarray  # classes of reference beats the detector missed
    records: list[str]

    @classmethod
    def stack(cls, beats: list[RecordBeats], labelled_only: bool = True,
              template_channels: bool = False) -> BeatArrays:
        keep = [(b.label >= 0) if labelled_only else np.ones(len(b), bool) for b in beats]

        def windows(b: RecordBeats) -> np.ndarray:
            if not template_channels:
                return b.windows
            # References come from every detected beat of the record, as at inference.
            plan = context_plan(b.sample, b.fs)
            return with_local_template(b.windows, plan).astype(np.float16)

        return cls(np.concatenate([windows(b)[k] for b, k in zip(beats, keep, strict=True)]),
                   np.concatenate([b.rr[k] for b, k in zip(beats, keep, strict=True)]),
                   np.concatenate([b.label[k] for b, k in zip(beats, keep, strict=True)]),
                   np.concatenate([b.missed_label for b in beats]),
                   [b.name for b in beats])

    def subset(self, idx: np.ndarray) -> BeatArrays:
        return BeatArrays(self.windows[idx], self.rr[idx], self.label[idx],
                          np.zeros(0, np.int8), self.records)


def build_model(kind: str, use_rr: bool, dropout: float,
                in_leads: int = 2) -> tuple[torch.nn.Module, dict]:
    from beatscope.models.resnet1d import ResNet1D34
    from beatscope.models.slap import SLAP

    kwargs = {"in_leads": in_leads, "n_classes": 5, "n_rr": 8, "use_rr": use_rr,
              "dropout": dropout}
    if kind == "resnet":
        return ResNet1D34(**kwargs), kwargs
    if kind == "slap":
        return SLAP(**kwargs), kwargs
    raise ValueError(f"unknown model {kind!r}")


def _autocast(precision: str):
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")


@torch.inference_mode()
def predict_logits(model: torch.nn.Module, data: BeatArrays, precision: str,
                   batch: int = 1024) -> np.ndarray:
    model.eval()
    out = []
    for i in range(0, len(data.label), batch):
        x = torch.from_numpy(data.windows[i:i + batch].astype(np.float32))
        rr = torch.from_numpy(data.rr[i:i + batch])
        with _autocast(precision):
            out.append(model(x, rr).float())
    return torch.cat(out).numpy() if out else np.zeros((0, 5), np.float32)


def _score(probs_or_logits: np.ndarray, data: BeatArrays) -> ClassificationScore:
    return score_classification(data.label, probs_or_logits.argmax(axis=1), data.missed)


def train_member(kind: str, cfg: TrainConfig, train: BeatArrays, val: BeatArrays,
                 noise: dict) -> tuple[torch.nn.Module, dict, list[dict]]:
    """Train one model; returns the best-on-validation model, its kwargs and the history."""
    torch.manual_seed(cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed)
    model, kwargs = build_model(kind, cfg.use_rr, cfg.dropout, in_leads=train.windows.shape[1])
    counts = np.bincount(train.label, minlength=5).astype(np.float64)
    weight = np.where(counts > 0, np.maximum(counts, 1) ** -cfg.balance_alpha, 0)[train.label]
    weight_t = torch.from_numpy(weight / weight.sum())
    steps = cfg.samples_per_epoch // cfg.batch
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps,
                                                pct_start=0.15)
    aug = Augmenter(cfg.augment, noise, g)
    windows = torch.from_numpy(train.windows)
    rr_all = torch.from_numpy(train.rr)
    labels = torch.from_numpy(train.label.astype(np.int64))
    best, best_f1, bad_epochs, history = None, -1.0, 0, []
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        t0, total = time.perf_counter(), 0.0
        idx = torch.multinomial(weight_t, steps * cfg.batch, replacement=True, generator=g)
        for s in range(steps):
            b = idx[s * cfg.batch:(s + 1) * cfg.batch]
            x = aug(windows[b].float())
            if cfg.morphology_dropout > 0:
                keep = torch.rand(len(b), generator=g) >= cfg.morphology_dropout
                x = x * keep[:, None, None].float()
            with _autocast(cfg.precision):
                logits = model(x, rr_all[b])
            loss = F.cross_entropy(logits.float(), labels[b], label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        score = _score(predict_logits(model, val, cfg.precision), val)
        f1 = score.macro_f1(SELECTION_CLASSES)
        row = {"epoch": epoch, "loss": round(total / steps, 4), "val_f1_nsv": round(f1, 3),
               "val_accuracy": round(score.accuracy, 3),
               "val_f1": {c: score.as_dict()["per_class"][c]["f1"] for c in AAMI_CLASSES},
               "seconds": round(time.perf_counter() - t0, 1)}
        history.append(row)
        log.info("%s epoch %d: %s", kind, epoch, row)
        if f1 > best_f1:
            best, best_f1, bad_epochs = copy.deepcopy(model.state_dict()), f1, 0
        else:
            bad_epochs += 1
            if bad_epochs >= cfg.patience:
                log.info("%s: early stop after epoch %d (best macro-F1 %.3f)", kind, epoch, best_f1)
                break
    model.load_state_dict(best)
    model.eval()
    return model, kwargs, history


def _softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def make_splits(cfg: TrainConfig, db: Path, cache: Path | None, cinc: Path | None = None):
    """(train, val, test) BeatArrays and the records in each, for the protocol; the
    CinC normal beats (``cfg.cinc_normals``) join the training beats only."""
    tc = cfg.template_channels
    if cfg.protocol == "ds1":
        train_recs = [r for r in splits.DS1 if r not in splits.DS1_VALIDATION]
        val_recs, test_recs = list(splits.DS1_VALIDATION), list(splits.DS2)
    elif cfg.protocol == "ds1-cv":
        train_recs, val_recs, test_recs = splits.ds1_cv_split(cfg.cv_fold)
    elif cfg.protocol == "all":
        train_recs = [r for r in splits.all_records() if r not in splits.ALL_VALIDATION]
        val_recs, test_recs = list(splits.ALL_VALIDATION), []
    elif cfg.protocol == "intra":
        recs = sorted(splits.DS1 + splits.DS2)
        pool = BeatArrays.stack(load_beats(db, recs, cache), template_channels=tc)
        rng = np.random.default_rng(cfg.seed)
        order = rng.permutation(len(pool.label))
        a, b = int(0.72 * len(order)), int(0.90 * len(order))
        names = {"train": recs, "val": recs, "test": recs,
                 "note": "random 72/18/10 split of beats (the seed paper's intra-patient protocol)"}
        return pool.subset(order[:a]), pool.subset(order[a:b]), pool.subset(order[b:]), names
    else:
        raise ValueError(f"protocol must be one of {PROTOCOLS}")
    train_beats = load_beats(db, train_recs, cache)
    names = {"train": train_recs, "val": val_recs, "test": test_recs}
    if cfg.cinc_normals > 0:
        from beatscope.training import cinc_normals

        if cinc is None:
            raise ValueError("cinc_normals needs the CinC 2017 folder")
        chosen = cinc_normals.training_names(cinc, cfg.cinc_normals, cfg.seed)
        extra = cinc_normals.load_normal_beats(cinc, chosen, cache, cfg.cinc_per_record,
                                               cfg.seed)
        train_beats = train_beats + extra
        names["cinc_normals"] = {
            "records": len(chosen),
            "records_sha256": hashlib.sha256(" ".join(chosen).encode()).hexdigest(),
            "beats": int(sum((b.label >= 0).sum() for b in extra)),
            "held_out_fold": cinc_normals.HELD_OUT_FOLD, "folds": cinc_normals.FOLDS,
            "guard": cinc_normals.GUARD_VERSION}
    train = BeatArrays.stack(train_beats, template_channels=tc)
    val = BeatArrays.stack(load_beats(db, val_recs, cache), template_channels=tc)
    test = (BeatArrays.stack(load_beats(db, test_recs, cache), template_channels=tc)
            if test_recs else None)
    return train, val, test, names


def run_training(cfg: TrainConfig, db: Path, out: Path, nstdb: Path | None,
                 cache: Path | None, command: str, cinc: Path | None = None) -> dict:
    """Train, calibrate, evaluate and save; returns the manifest."""
    from beatscope.models.ensemble import fit_temperature, tune_weight
    from beatscope.models.weights_io import save_weight_set

    out.mkdir(parents=True, exist_ok=True)
    _setup_logging(out / "train.log")
    torch.set_num_threads(cfg.threads)
    log.info("command: %s", command)
    log.info("config: %s", asdict(cfg))
    train, val, test, recs = make_splits(cfg, db, cache, cinc)
    log.info("beats: train %s, val %s, test %s", class_counts(train.label),
             class_counts(val.label), class_counts(test.label) if test else None)
    noise = load_noise(nstdb)
    log.info("noise records for augmentation: %s", sorted(noise))

    members, kwargs, history, val_logits = {}, {}, {}, {}
    for kind in cfg.models:
        members[kind], kwargs[kind], history[kind] = train_member(kind, cfg, train, val, noise)
        val_logits[kind] = predict_logits(members[kind], val, "fp32")
    temps = {k: fit_temperature(val_logits[k], val.label) for k in members}
    probs = {k: _softmax(val_logits[k], temps[k]) for k in members}

    def macro_f1(labels: np.ndarray, pred: np.ndarray) -> float:
        return score_classification(labels, pred).macro_f1(SELECTION_CLASSES)

    if len(members) == 2:
        a, b = cfg.models
        w = (tune_weight(probs[a], probs[b], val.label, macro_f1)
             if cfg.ensemble_weight is None else cfg.ensemble_weight)
        weights = {a: round(float(w), 3), b: round(float(1 - w), 3)}
    else:
        weights = {cfg.models[0]: 1.0}
    weight_source = ("tuned on the validation records" if cfg.ensemble_weight is None
                     else "fixed by --ensemble-weight")
    log.info("temperatures %s, ensemble weights %s (%s)", temps, weights, weight_source)

    def ensemble_scores(data: BeatArrays) -> dict:
        p = {k: _softmax(predict_logits(members[k], data, cfg.precision), temps[k])
             for k in members}
        ens = sum(weights[k] * p[k] for k in members)
        res = {k: _score(p[k], data).as_dict() for k in members}
        res["ensemble"] = _score(ens, data).as_dict()
        return res

    metrics = {"validation": ensemble_scores(val)}
    if test is not None:
        metrics["test"] = ensemble_scores(test)
        log.info("test (ensemble):\n%s", ClassificationScore(
            np.array(metrics["test"]["ensemble"]["confusion"]["matrix"])).table())
    manifest = {
        "name": out.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": command,
        "git_commit": _git_commit(),
        "protocol": cfg.protocol,
        "classes": list(AAMI_CLASSES),
        "data": {"database": "MIT-BIH Arrhythmia Database 1.0.0", "path": str(db),
                 "records": recs,
                 "beats": {"train": class_counts(train.label), "val": class_counts(val.label),
                           "test": class_counts(test.label) if test else None},
                 "labels": "engine-detected beats matched to the reference within 150 ms",
                 "augmentation_noise": sorted(noise),
                 **({"extra_normals": "PhysioNet/Computing in Cardiology Challenge 2017 "
                                      "training set, normal-rhythm recordings (see "
                                      "records.cinc_normals)"}
                    if "cinc_normals" in recs else {})},
        # what the template channels and the context RR feature mean (segment.context)
        "context": context_description() if cfg.template_channels else None,
        "hyperparameters": {k: v for k, v in asdict(cfg).items()},
        "architecture": {k: {"class": type(m).__name__, **kwargs[k]}
                         for k, m in members.items()},
        "ensemble": {"weights": weights, "weights_source": weight_source,
                     "temperatures": {k: round(float(t), 4) for k, t in temps.items()}},
        "history": history,
        "metrics": metrics,
        "software": {"python": platform.python_version(), "torch": torch.__version__,
                     "numpy": np.__version__},
    }
    save_weight_set(out, members, manifest)
    log.info("wrote %s", out)
    return manifest


def _setup_logging(path: Path, append: bool = False) -> None:
    """Log to ``path`` (emptied first unless ``append``) and stderr. The file is
    always opened for appending, so worker processes that log to it too never
    write over one another's lines."""
    root = logging.getLogger("beatscope")
    root.setLevel(logging.INFO)
    for h in list(root.handlers):
        root.removeHandler(h)
    if not append:
        Path(path).write_text("")
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    fh = logging.FileHandler(path, mode="a")
    fh.setFormatter(fmt)
    sh = logging.StreamHandler(sys.stderr)
    sh.setFormatter(fmt)
    root.addHandler(fh)
    root.addHandler(sh)
