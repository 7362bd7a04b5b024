"""The seeded training run behind ``beatscope train-rhythm``.

Record-wise k-fold cross-validation on CinC 2017 (stratified by class) with the
MIT-BIH records spread over the same number of folds (grouped by patient), then
one production model on all the data. For each fold: a stratified 10 % of the
training folds' CinC records is held out for early stopping and for choosing the
per-label thresholds; the test fold is only scored. Everything is logged to
``<out>/train.log``; each fold writes ``<out>/folds/<k>/`` (weights, manifest,
scores, the MIT-BIH test records' window probabilities), so an interrupted run
keeps its finished folds.
"""

from __future__ import annotations

import copy
import json
import logging
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from beatscope.rhythm.model.inference import RhythmModel
from beatscope.rhythm.model.network import MODEL_FS, WINDOW_S, WINDOW_SAMPLES, RhythmCnnBiLstm
from beatscope.rhythm.model.signal import cut_windows, window_starts, zscore
from beatscope.training.rhythm_data import (
    CINC_CLASSES,
    LABELS,
    CincData,
    MitRecord,
    cinc_folds,
    load_cinc,
    load_mitdb,
    mit_folds,
    split_validation,
)
from beatscope.training.rhythm_metrics import best_thresholds, cinc_scores, multilabel_scores
from beatscope.training.trainer import _autocast, _git_commit, _setup_logging

log = logging.getLogger("beatscope.train_rhythm")
EVAL_STRIDE_S = 5.0


@dataclass(frozen=True)
class RhythmTrainConfig:
    folds: int = 5
    epochs: int = 12
    samples_per_epoch: int = 8000
    batch: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-3
    dropout: float = 0.3
    hidden: int = 64
    channels: tuple[int, ...] = (16, 32, 48, 64, 64)
    balance_alpha: float = 0.5  # each record/window drawn with weight count(class)^-alpha
    mit_share: float = 0.25  # share of each batch drawn from MIT-BIH windows
    val_share: float = 0.10
    patience: int = 4
    seed: int = 0
    precision: str = "bf16"
    threads: int = 2
    # augmentation (before z-scoring): amplitude scale, baseline wander, white noise
    aug_scale: tuple[float, float] = (0.6, 1.6)
    aug_wander: float = 0.5  # amplitude of a 0.05-0.5 Hz sinusoid, x the window's std
    aug_noise: float = 0.15  # white noise std, x the window's std
    aug_p: float = 0.5


def new_model(cfg: RhythmTrainConfig) -> RhythmCnnBiLstm:
    return RhythmCnnBiLstm(n_classes=len(LABELS), channels=cfg.channels, hidden=cfg.hidden,
                           dropout=cfg.dropout)


class Sampler:
    """Draws training batches: random 10-s crops of CinC records and MIT-BIH windows,
    class-balanced, augmented, z-scored."""

    def __init__(self, cfg: RhythmTrainConfig, cinc: CincData, cinc_idx: np.ndarray,
                 mit: list[MitRecord], rng: np.random.Generator) -> None:
        self.cfg, self.cinc, self.rng = cfg, cinc, rng
        self.cinc_idx = cinc_idx
        counts = np.bincount(cinc.label[cinc_idx], minlength=4).astype(float)
        w = np.maximum(counts, 1) ** -cfg.balance_alpha
        p = w[cinc.label[cinc_idx]]
        self.cinc_p = p / p.sum()
        self.mit = mit
        pool = [(i, j) for i, r in enumerate(mit) for j in range(len(r.starts))]
        self.mit_pool = np.array(pool, np.int64).reshape(-1, 2)
        if len(self.mit_pool):
            key = np.array([1 if mit[i].target[j, 1] else 2 if mit[i].target[j, 2] else 0
                            for i, j in self.mit_pool])
            kc = np.bincount(key, minlength=3).astype(float)
            p = (np.maximum(kc, 1) ** -cfg.balance_alpha)[key]
            self.mit_p = p / p.sum()

    def _augment(self, x: np.ndarray) -> np.ndarray:
        cfg, rng = self.cfg, self.rng
        sd = float(x.std()) or 1.0
        if rng.random() < cfg.aug_p:
            x = x * rng.uniform(*cfg.aug_scale)
            sd = float(x.std()) or 1.0
        t = np.arange(len(x)) / MODEL_FS
        if rng.random() < cfg.aug_p:
            f = rng.uniform(0.05, 0.5)
            x = x + rng.uniform(0, cfg.aug_wander) * sd * np.sin(2 * np.pi * f * t
                                                                  + rng.uniform(0, 2 * np.pi))
        if rng.random() < cfg.aug_p:
            x = x + rng.normal(0, rng.uniform(0, cfg.aug_noise) * sd, len(x))
        return x.astype(np.float32)

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rng = self.rng
        n_mit = rng.binomial(n, self.cfg.mit_share) if len(self.mit_pool) else 0
        xs = np.zeros((n, WINDOW_SAMPLES), np.float32)
        ys = np.zeros((n, len(LABELS)), np.float32)
        ms = np.ones((n, len(LABELS)), np.float32)
        picks = rng.choice(len(self.cinc_idx), n - n_mit, p=self.cinc_p)
        for b, k in enumerate(picks):
            rec = self.cinc_idx[k]
            sig = self.cinc.signals[rec]
            if len(sig) > WINDOW_SAMPLES:
                s = rng.integers(0, len(sig) - WINDOW_SAMPLES + 1)
                crop = sig[s:s + WINDOW_SAMPLES]
            else:
                crop = sig
            crop = self._augment(crop)
            xs[b] = cut_windows(crop, np.zeros(1, np.int64))[0]
            ys[b, self.cinc.label[rec]] = 1.0
        if n_mit:
            for b, k in enumerate(rng.choice(len(self.mit_pool), n_mit, p=self.mit_p),
                                  start=n - n_mit):
                i, j = self.mit_pool[k]
                r = self.mit[i]
                s = int(r.starts[j])
                xs[b] = zscore(self._augment(r.signal[s:s + WINDOW_SAMPLES])[None])[0]
                ys[b], ms[b] = r.target[j], r.mask[j]
        return torch.from_numpy(xs)[:, None, :], torch.from_numpy(ys), torch.from_numpy(ms)


def record_probabilities(model: RhythmCnnBiLstm, signals: list[np.ndarray],
                         precision: str) -> np.ndarray:
    """Record-level probabilities: the mean over the record's 10-s windows (5-s stride).

    The mean, not the max: a CinC label describes the whole strip, and the mean
    lets several windows vote, so one noisy or ectopic window does not decide.
    """
    runner = RhythmModel(model, LABELS, {}, {}, precision=precision, batch=512)
    stride = int(EVAL_STRIDE_S * MODEL_FS)
    windows, owner = [], []
    for i, sig in enumerate(signals):
        w = cut_windows(sig, window_starts(len(sig), stride))
        windows.append(w)
        owner.append(np.full(len(w), i))
    if not windows:
        return np.zeros((0, len(LABELS)), np.float32)
    probs = runner.predict(np.concatenate(windows))
    owner_a = np.concatenate(owner)
    out = np.zeros((len(signals), len(LABELS)))
    np.add.at(out, owner_a, probs)
    return out / np.bincount(owner_a, minlength=len(signals))[:, None]


def mit_window_probabilities(model: RhythmCnnBiLstm, rec: MitRecord, precision: str):
    stride = int(EVAL_STRIDE_S * MODEL_FS)
    starts = window_starts(len(rec.signal), stride)
    runner = RhythmModel(model, LABELS, {}, {}, precision=precision, batch=512)
    probs = runner.predict(cut_windows(rec.signal, starts))
    return starts / MODEL_FS, np.minimum(starts / MODEL_FS + WINDOW_S,
                                         len(rec.signal) / MODEL_FS), probs


def train_one(cfg: RhythmTrainConfig, cinc: CincData, train_idx: np.ndarray,
              val_idx: np.ndarray, mit_train: list[MitRecord], tag: str,
              seed: int) -> tuple[RhythmCnnBiLstm, np.ndarray, list[dict]]:
    """Train one model; early-stopped on the validation records' challenge F1.

    Returns the best model, its per-label thresholds (chosen on the validation
    records) and the history."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = new_model(cfg)
    sampler = Sampler(cfg, cinc, train_idx, mit_train, rng)
    steps = max(1, cfg.samples_per_epoch // cfg.batch)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr,
                                                total_steps=cfg.epochs * steps, pct_start=0.2)
    val_true = cinc.label[val_idx]
    val_y = np.eye(len(LABELS), dtype=bool)[val_true]
    best, best_score, best_thr, bad, history = None, -1.0, np.full(len(LABELS), 0.5), 0, []
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        t0, total = time.perf_counter(), 0.0
        for _ in range(steps):
            x, y, m = sampler.batch(cfg.batch)
            with _autocast(cfg.precision):
                logits = model(x)
            loss = (F.binary_cross_entropy_with_logits(logits.float(), y, reduction="none")
                    * m).sum() / m.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        model.eval()
        probs = record_probabilities(model, [cinc.signals[i] for i in val_idx], cfg.precision)
        thr = best_thresholds(val_y, probs)
        score = cinc_scores(val_true, probs, thr)
        row = {"epoch": epoch, "loss": round(total / steps, 4),
               "val_challenge_f1": score["challenge_f1_nao"], "val_f1": score["f1"],
               "val_macro_auprc": score["macro_auprc"],
               "thresholds": [round(float(t), 3) for t in thr],
               "seconds": round(time.perf_counter() - t0, 1)}
        history.append(row)
        log.info("%s epoch %d: %s", tag, epoch, row)
        if score["challenge_f1_nao"] > best_score:
            best, best_score, best_thr, bad = (copy.deepcopy(model.state_dict()),
                                               score["challenge_f1_nao"], thr, 0)
        else:
            bad += 1
            if bad >= cfg.patience:
                log.info("%s: early stop after epoch %d (best val F1 %.4f)", tag, epoch,
                         best_score)
                break
    model.load_state_dict(best)
    model.eval()
    return model, best_thr, history


def _manifest(cfg: RhythmTrainConfig, command: str, thresholds: np.ndarray,
              extra: dict) -> dict:
    return {"model_version": "rhythm-cnn-bilstm-1",
            "classes": list(LABELS),
            "thresholds": {k: round(float(t), 3) for k, t in zip(LABELS, thresholds, strict=True)},
            "input": {"fs_hz": MODEL_FS, "window_s": WINDOW_S, "leads": 1,
                      "lead_choice": "II/MLII first (beatscope.io.select_model_leads), else "
                                     "V1, V5, then file order",
                      "preprocessing": "polyphase resampling to 100 Hz, 2nd-order Butterworth "
                                       "high-pass 0.5 Hz (zero phase), z-score per window",
                      "record_aggregation": "mean of window probabilities (5-s stride)"},
            "label_meaning": {"N": "normal sinus rhythm (CinC N, MIT-BIH (N without ectopy)",
                              "AFIB": "atrial fibrillation (CinC A, MIT-BIH (AFIB)",
                              "OTHER": "other rhythm (CinC O; MIT-BIH other rhythms and "
                                       "sinus with S/V/F beats)",
                              "NOISE": "too noisy to classify (CinC ~)"},
            "hyper_parameters": asdict(cfg),
            "command": command, "git_commit": _git_commit(),
            "environment": {"python": platform.python_version(), "torch": torch.__version__,
                            "machine": platform.machine(), "threads": cfg.threads},
            **extra}


def run_cv(cfg: RhythmTrainConfig, cinc_dir: Path, mit_dir: Path | None, out: Path,
           command: str, folds_to_run: list[int] | None = None, final: bool = True,
           cinc_limit: int | None = None) -> dict:
    """Cross-validate, then train and save the production model; returns its manifest."""
    from beatscope.models.weights_io import save_weight_set

    out.mkdir(parents=True, exist_ok=True)
    _setup_logging(out / "train.log")
    torch.set_num_threads(cfg.threads)
    log.info("command: %s", command)
    log.info("config: %s", asdict(cfg))
    t0 = time.perf_counter()
    cinc = load_cinc(cinc_dir, limit=cinc_limit)
    mit = load_mitdb(mit_dir) if mit_dir is not None else {}
    log.info("data loaded in %.1f s: CinC %d records %s, MIT-BIH %d records, %d windows",
             time.perf_counter() - t0, len(cinc.names),
             dict(zip(CINC_CLASSES, np.bincount(cinc.label, minlength=4).tolist(), strict=True)),
             len(mit), sum(len(r.starts) for r in mit.values()))
    cfold = cinc_folds(cinc.label, cfg.folds, cfg.seed) if cfg.folds > 1 else None
    mfold = mit_folds(sorted(mit), cfg.folds, cfg.seed) if cfg.folds > 1 else {}
    data_info = {"cinc2017": {"folder": str(cinc_dir), "records": len(cinc.names)},
                 "mitdb": {"folder": str(mit_dir) if mit_dir else None,
                           "records": sorted(mit),
                           "windows": int(sum(len(r.starts) for r in mit.values()))}}
    if folds_to_run is None:
        folds_to_run = list(range(cfg.folds)) if cfg.folds > 1 else []
    for k in folds_to_run:
        assert cfold is not None
        fdir = out / "folds" / str(k)
        test_idx = np.flatnonzero(cfold == k)
        train_idx, val_idx = split_validation(cinc.label, np.flatnonzero(cfold != k),
                                              cfg.val_share, cfg.seed + k)
        mit_train = [r for n, r in mit.items() if mfold[n] != k]
        mit_test = [r for n, r in mit.items() if mfold[n] == k]
        log.info("fold %d: CinC train %d, val %d, test %d; MIT-BIH train %d, test %s", k,
                 len(train_idx), len(val_idx), len(test_idx), len(mit_train),
                 [r.name for r in mit_test])
        model, thr, history = train_one(cfg, cinc, train_idx, val_idx, mit_train,
                                        f"fold {k}", cfg.seed + 100 * k)
        probs = record_probabilities(model, [cinc.signals[i] for i in test_idx], cfg.precision)
        scores = cinc_scores(cinc.label[test_idx], probs, thr)
        log.info("fold %d test (CinC, %d records): %s", k, len(test_idx), scores)
        mit_out, mit_true, mit_probs = {}, [], []
        for r in mit_test:
            s, e, p = mit_window_probabilities(model, r, cfg.precision)
            mit_out[f"{r.name}/start_s"], mit_out[f"{r.name}/end_s"] = s, e
            mit_out[f"{r.name}/probs"] = p
            # window-level scores on the 2.5-s-stride labelled windows
            mit_true.append(r.target)
            runner = RhythmModel(model, LABELS, {}, {}, precision=cfg.precision, batch=512)
            mit_probs.append(runner.predict(cut_windows(r.signal, r.starts)))
        fdir.mkdir(parents=True, exist_ok=True)
        mit_scores = None
        if mit_true:
            y, p = np.concatenate(mit_true)[:, :3], np.concatenate(mit_probs)[:, :3]
            mit_scores = {k2: (round(v, 4) if isinstance(v, float) else v)
                          for k2, v in multilabel_scores(y, p, thr[:3]).items()}
            mit_scores["windows"] = int(len(y))
            af = y[:, 1].astype(bool)
            pa = p[:, 1] >= thr[1]
            mit_scores["afib_window_se"] = round(float((pa & af).sum() / max(1, af.sum())), 4)
            mit_scores["afib_window_ppv"] = round(float((pa & af).sum() / max(1, pa.sum())), 4)
            log.info("fold %d test (MIT-BIH windows, labels N/AFIB/OTHER): %s", k, mit_scores)
        np.savez_compressed(fdir / "mitdb_test_windows.npz", **mit_out)
        np.savez_compressed(fdir / "cinc_test_probs.npz", names=np.array(cinc.names)[test_idx],
                            label=cinc.label[test_idx], probs=probs, thresholds=thr)
        result = {"fold": k, "cinc_test": scores, "mitdb_test_records": [r.name for r in mit_test],
                  "mitdb_test_windows": mit_scores, "thresholds": thr.tolist(),
                  "history": history}
        save_weight_set(fdir, {"rhythm": model}, _manifest(cfg, command, thr, {
            "trained_on": f"cross-validation fold {k}: CinC folds != {k} (less 10 % validation),"
                          f" MIT-BIH records outside fold {k}",
            "data": data_info, "metrics": result}))
        (fdir / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    cv = pooled_cv(out, cfg.folds) if cfg.folds > 1 else None
    if cv:
        log.info("cross-validation (%d folds present): %s", len(cv["folds_present"]),
                 {k: v for k, v in cv.items() if k != "per_fold"})
    if not final:
        return {"cv": cv}
    all_idx = np.arange(len(cinc.names))
    train_idx, val_idx = split_validation(cinc.label, all_idx, cfg.val_share, cfg.seed)
    log.info("production model: CinC train %d, val %d; MIT-BIH %d records", len(train_idx),
             len(val_idx), len(mit))
    model, thr, history = train_one(cfg, cinc, train_idx, val_idx, list(mit.values()),
                                    "final", cfg.seed)
    val_probs = record_probabilities(model, [cinc.signals[i] for i in val_idx], cfg.precision)
    manifest = save_weight_set(out, {"rhythm": model}, _manifest(cfg, command, thr, {
        "trained_on": "all data: every CinC 2017 record except a stratified 10 % held out "
                      "for early stopping and thresholds, and every MIT-BIH record",
        "data": data_info,
        "folds": {"cinc": "stratified by class, seeded", "mitdb": mfold} if cv else None,
        "metrics": {"cross_validation": cv,
                    "validation_records": cinc_scores(cinc.label[val_idx], val_probs, thr),
                    "history": history}}))
    log.info("wrote %s in %.0f s", out, time.perf_counter() - t0)
    return manifest


def pooled_cv(out: Path, folds: int) -> dict | None:
    """Per-fold and pooled scores from the fold folders present under ``out/folds``."""
    per_fold, labels, probs, thr_rows = [], [], [], []
    for k in range(folds):
        f = out / "folds" / str(k)
        if not (f / "result.json").is_file():
            continue
        res = json.loads((f / "result.json").read_text())
        per_fold.append({"fold": k, **{key: res["cinc_test"][key] for key in (
            "records", "f1", "challenge_f1_nao", "hamming_loss", "macro_auprc", "micro_f1",
            "subset_accuracy")}, "mitdb_test_windows": res["mitdb_test_windows"]})
        z = np.load(f / "cinc_test_probs.npz")
        labels.append(z["label"])
        probs.append(z["probs"])
        thr_rows.append(np.repeat(z["thresholds"][None], len(z["label"]), axis=0))
    if not per_fold:
        return None
    y = np.concatenate(labels)
    p = np.concatenate(probs)
    t = np.concatenate(thr_rows)
    # Pooled: every record scored by its own fold's model and thresholds. The
    # per-record thresholds are applied by shifting the logits (single_class /
    # multilabel decisions are then equivalent to a common threshold of 0.5).
    from beatscope.training.rhythm_metrics import logit
    shifted = 1 / (1 + np.exp(-(logit(p) - logit(t))))
    pooled = cinc_scores(y, shifted, np.full(p.shape[1], 0.5))
    # AUPRC is threshold-free: computed on the raw pooled probabilities.
    raw = multilabel_scores(np.eye(p.shape[1], dtype=bool)[y], p, np.full(p.shape[1], 0.5))
    pooled["macro_auprc"] = round(raw["macro_auprc"], 4)
    pooled["auprc"] = raw["auprc"]
    mean = {key: round(float(np.mean([r[key] for r in per_fold])), 4)
            for key in ("challenge_f1_nao", "hamming_loss", "macro_auprc", "micro_f1",
                        "subset_accuracy")}
    mean["f1"] = {c: round(float(np.mean([r["f1"][c] for r in per_fold])), 4)
                  for c in CINC_CLASSES}
    return {"folds_present": [r["fold"] for r in per_fold], "pooled": pooled,
            "mean_of_folds": mean, "per_fold": per_fold}
