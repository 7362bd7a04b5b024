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
from beatscope.rhythm.model.signal import cut_windows, window_starts
from beatscope.training.rhythm_cv_scores import pooled_cv
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
from beatscope.training.trainer import _git_commit, _setup_logging

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
    #: seed of the cross-validation folds; None: ``seed``. Members of an ensemble
    #: share it, so that every fold of every member holds out the same records and
    #: the ensemble's cross-validation is scored fold by fold.
    split_seed: int | None = None
    precision: str = "bf16"
    threads: int = 2
    device: str = "cpu"  # "cuda" trains on the GPU (bf16 autocast there too)
    ema: float = 0.0  # decay of a moving average of the weights (0: off); see train_one
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
    class-balanced, augmented, z-scored.

    Whole batches are drawn at once (one gather from the concatenated signals, the
    augmentations as array operations on all rows): per-crop Python work would
    keep a GPU waiting, and costs the CPU trainer a good share of its time too.
    """

    def __init__(self, cfg: RhythmTrainConfig, cinc: CincData, cinc_idx: np.ndarray,
                 mit: list[MitRecord], rng: np.random.Generator) -> None:
        self.cfg, self.cinc, self.rng = cfg, cinc, rng
        self.cinc_idx = np.asarray(cinc_idx, np.int64)
        counts = np.bincount(cinc.label[self.cinc_idx], minlength=4).astype(float)
        w = np.maximum(counts, 1) ** -cfg.balance_alpha
        p = w[cinc.label[self.cinc_idx]]
        self.cinc_p = p / p.sum()
        sigs = [cinc.signals[i] for i in self.cinc_idx]
        self.cinc_flat = np.concatenate(sigs) if sigs else np.zeros(1, np.float32)
        self.cinc_len = np.array([len(x) for x in sigs], np.int64)
        self.cinc_off = np.concatenate([[0], np.cumsum(self.cinc_len)[:-1]]).astype(np.int64)
        self.mit = mit
        pool = [(i, j) for i, r in enumerate(mit) for j in range(len(r.starts))]
        self.mit_pool = np.array(pool, np.int64).reshape(-1, 2)
        if len(self.mit_pool):
            key = np.array([1 if mit[i].target[j, 1] else 2 if mit[i].target[j, 2] else 0
                            for i, j in self.mit_pool])
            kc = np.bincount(key, minlength=3).astype(float)
            p = (np.maximum(kc, 1) ** -cfg.balance_alpha)[key]
            self.mit_p = p / p.sum()
            self.mit_flat = np.concatenate([r.signal for r in mit])
            off = np.concatenate([[0], np.cumsum([len(r.signal) for r in mit])[:-1]])
            self.mit_start = np.array([off[i] + mit[i].starts[j] for i, j in self.mit_pool],
                                      np.int64)
            self.mit_target = np.stack([mit[i].target[j] for i, j in self.mit_pool])
            self.mit_mask = np.stack([mit[i].mask[j] for i, j in self.mit_pool])

    def _augment(self, x: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Each row, with probability ``aug_p`` each: amplitude scale, a slow
        sinusoidal wander and white noise, sized by the row's own std."""
        cfg, rng = self.cfg, self.rng
        n, length = x.shape
        on = rng.random((3, n, 1)) < cfg.aug_p
        x = x * np.where(on[0], rng.uniform(*cfg.aug_scale, (n, 1)), 1.0)
        _, sd = self._row_stats(x, valid)
        sd = np.where(sd > 0, sd, 1.0)
        t = np.arange(length)[None, :] / MODEL_FS
        wander = (rng.uniform(0, cfg.aug_wander, (n, 1)) * sd
                  * np.sin(2 * np.pi * rng.uniform(0.05, 0.5, (n, 1)) * t
                           + rng.uniform(0, 2 * np.pi, (n, 1))))
        noise = rng.standard_normal((n, length)) * rng.uniform(0, cfg.aug_noise, (n, 1)) * sd
        return (x + on[1] * wander + on[2] * noise).astype(np.float32)

    @staticmethod
    def _row_stats(x: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's mean and (population) std over its valid samples, as columns."""
        count = valid.sum(axis=1, keepdims=True)
        mean = (x * valid).sum(axis=1, keepdims=True) / count
        sd = np.sqrt((((x - mean) * valid) ** 2).sum(axis=1, keepdims=True) / count)
        return mean, sd

    @classmethod
    def _zscore(cls, x: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Z-score each row over its valid samples; the rest (a short record's
        tail) stays zero, as :func:`cut_windows` pads."""
        mean, sd = cls._row_stats(x, valid)
        return ((x - mean) * valid / np.where(sd > 1e-6, sd, 1.0)).astype(np.float32)

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rng = self.rng
        n_mit = rng.binomial(n, self.cfg.mit_share) if len(self.mit_pool) else 0
        n_cinc = n - n_mit
        ramp = np.arange(WINDOW_SAMPLES)[None, :]
        ys = np.zeros((n, len(LABELS)), np.float32)
        ms = np.ones((n, len(LABELS)), np.float32)
        picks = rng.choice(len(self.cinc_idx), n_cinc, p=self.cinc_p)
        length = self.cinc_len[picks]
        start = np.floor(rng.random(n_cinc) * np.maximum(length - WINDOW_SAMPLES + 1, 1))
        pos = start.astype(np.int64)[:, None] + ramp
        valid_c = pos < length[:, None]
        idx_c = self.cinc_off[picks][:, None] + np.minimum(pos, length[:, None] - 1)
        ys[np.arange(n_cinc), self.cinc.label[self.cinc_idx[picks]]] = 1.0
        xs, valid = self.cinc_flat[idx_c], valid_c
        if n_mit:
            k = rng.choice(len(self.mit_pool), n_mit, p=self.mit_p)
            xs = np.concatenate([xs, self.mit_flat[self.mit_start[k][:, None] + ramp]])
            valid = np.concatenate([valid_c, np.ones((n_mit, WINDOW_SAMPLES), bool)])
            ys[n_cinc:], ms[n_cinc:] = self.mit_target[k], self.mit_mask[k]
        x = self._zscore(self._augment(xs.astype(np.float64), valid), valid)
        return torch.from_numpy(x)[:, None, :], torch.from_numpy(ys), torch.from_numpy(ms)


def record_probabilities(model: RhythmCnnBiLstm, signals: list[np.ndarray],
                         precision: str, device: str = "cpu") -> np.ndarray:
    """Record-level probabilities: the mean over the record's 10-s windows (5-s stride).

    The mean, not the max: a CinC label describes the whole strip, and the mean
    lets several windows vote, so one noisy or ectopic window does not decide.
    """
    runner = RhythmModel(model, LABELS, {}, {}, precision=precision, batch=512, device=device)
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


def mit_window_probabilities(model: RhythmCnnBiLstm, rec: MitRecord, precision: str,
                             device: str = "cpu"):
    stride = int(EVAL_STRIDE_S * MODEL_FS)
    starts = window_starts(len(rec.signal), stride)
    runner = RhythmModel(model, LABELS, {}, {}, precision=precision, batch=512, device=device)
    probs = runner.predict(cut_windows(rec.signal, starts))
    return starts / MODEL_FS, np.minimum(starts / MODEL_FS + WINDOW_S,
                                         len(rec.signal) / MODEL_FS), probs


class WeightAverage:
    """An exponential moving average of a model's parameters and buffers.

    Why: the validation F1 that early stopping reads jumps by several points from
    one epoch to the next (about 65 AF records in a fold's validation share), so
    the epoch it picks is partly luck; the averaged weights move smoothly, and are
    what is validated and kept when ``ema`` > 0."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.shadow = copy.deepcopy(model).eval()
        for p in self.shadow.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        live = dict(model.state_dict())
        for name, value in self.shadow.state_dict().items():
            if value.dtype.is_floating_point:
                value.mul_(self.decay).add_(live[name].detach(), alpha=1 - self.decay)
            else:
                value.copy_(live[name])


def _autocast(device: str, precision: str):
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16,
                          enabled=precision == "bf16")


def train_one(cfg: RhythmTrainConfig, cinc: CincData, train_idx: np.ndarray,
              val_idx: np.ndarray, mit_train: list[MitRecord], tag: str,
              seed: int) -> tuple[RhythmCnnBiLstm, np.ndarray, list[dict]]:
    """Train one model; early-stopped on the validation records' challenge F1.

    Returns the best model (on the CPU), its per-label thresholds (chosen on the
    validation records) and the history."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    device = cfg.device
    model = new_model(cfg).to(device)
    average = WeightAverage(model, cfg.ema) if cfg.ema > 0 else None
    sampler = Sampler(cfg, cinc, train_idx, mit_train, rng)
    steps = max(1, cfg.samples_per_epoch // cfg.batch)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr,
                                                total_steps=cfg.epochs * steps, pct_start=0.2)
    val_true = cinc.label[val_idx]
    val_y = np.eye(len(LABELS), dtype=bool)[val_true]
    val_signals = [cinc.signals[i] for i in val_idx]
    best, best_score, best_thr, bad, history = None, -1.0, np.full(len(LABELS), 0.5), 0, []
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        total = torch.zeros((), device=device)
        for _ in range(steps):
            x, y, m = (t.to(device, non_blocking=True) for t in sampler.batch(cfg.batch))
            with _autocast(device, cfg.precision):
                logits = model(x)
            loss = (F.binary_cross_entropy_with_logits(logits.float(), y, reduction="none")
                    * m).sum() / m.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if average is not None:
                average.update(model)
            total += loss.detach()  # no .item() per step: it would wait for the GPU
        judged = average.shadow if average is not None else model.eval()
        probs = record_probabilities(judged, val_signals, cfg.precision, device)
        thr = best_thresholds(val_y, probs)
        score = cinc_scores(val_true, probs, thr)
        row = {"epoch": epoch, "loss": round(float(total) / steps, 4),
               "val_challenge_f1": score["challenge_f1_nao"], "val_f1": score["f1"],
               "val_macro_auprc": score["macro_auprc"],
               "thresholds": [round(float(t), 3) for t in thr],
               "seconds": round(time.perf_counter() - t0, 1)}
        history.append(row)
        log.info("%s epoch %d: %s", tag, epoch, row)
        if score["challenge_f1_nao"] > best_score:
            best = {k: v.detach().to("cpu", copy=True) for k, v in judged.state_dict().items()}
            best_score, best_thr, bad = score["challenge_f1_nao"], thr, 0
        else:
            bad += 1
            if bad >= cfg.patience:
                log.info("%s: early stop after epoch %d (best val F1 %.4f)", tag, epoch,
                         best_score)
                break
    model = model.to("cpu")
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


def load_training_data(cinc_dir: Path | None, mit_dir: Path | None,
                       prepared: Path | None = None,
                       cinc_limit: int | None = None) -> tuple[CincData, dict, dict]:
    """(CinC data, MIT-BIH records, what the manifest says about them): from the
    databases, or from a file written by :func:`~.rhythm_prepared.save_prepared`."""
    if prepared is not None:
        from beatscope.training.rhythm_prepared import load_prepared

        cinc, mit, meta = load_prepared(prepared)
        if cinc_limit:
            cinc = CincData(cinc.names[:cinc_limit], cinc.label[:cinc_limit],
                            cinc.signals[:cinc_limit])
        source = meta.get("source", {})
        info = {"prepared_file": {"name": Path(prepared).name, "sha256": meta["sha256"],
                                  "made_by": source.get("command")}}
        cinc_dir = source.get("cinc2017")
        mit_dir = source.get("mitdb")
    else:
        assert cinc_dir is not None
        cinc = load_cinc(cinc_dir, limit=cinc_limit)
        mit = load_mitdb(mit_dir) if mit_dir is not None else {}
        info = {}
    return cinc, mit, {
        **info,
        "cinc2017": {"folder": str(cinc_dir), "records": len(cinc.names)},
        "mitdb": {"folder": str(mit_dir) if mit_dir else None, "records": sorted(mit),
                  "windows": int(sum(len(r.starts) for r in mit.values()))}}


@dataclass(frozen=True)
class _DataSource:
    """Where a training job reads its data (each worker process loads its own)."""

    cinc_dir: Path | None
    mit_dir: Path | None
    prepared: Path | None
    cinc_limit: int | None


@dataclass
class _Data:
    cinc: CincData
    mit: dict
    info: dict
    cfold: np.ndarray | None
    mfold: dict


def _load(cfg: RhythmTrainConfig, source: _DataSource) -> _Data:
    cinc, mit, info = load_training_data(source.cinc_dir, source.mit_dir, source.prepared,
                                         source.cinc_limit)
    fold_seed = cfg.seed if cfg.split_seed is None else cfg.split_seed
    cfold = cinc_folds(cinc.label, cfg.folds, fold_seed) if cfg.folds > 1 else None
    mfold = mit_folds(sorted(mit), cfg.folds, fold_seed) if cfg.folds > 1 else {}
    return _Data(cinc, mit, info, cfold, mfold)


def run_cv(cfg: RhythmTrainConfig, cinc_dir: Path | None, mit_dir: Path | None, out: Path,
           command: str, folds_to_run: list[int] | None = None, final: bool = True,
           cinc_limit: int | None = None, prepared: Path | None = None,
           jobs: int = 1) -> dict:
    """Cross-validate, then train and save the production model; returns its manifest.

    ``jobs`` > 1 trains that many folds (and the production model) at once, each in
    its own process with ``cfg.threads`` threads: on a GPU machine the batch
    sampling runs on one core per job while the GPU is shared. Every job is seeded
    as in the one-process run; only the order of the log lines differs."""
    out.mkdir(parents=True, exist_ok=True)
    _setup_process(cfg, out, append=False)
    log.info("command: %s", command)
    log.info("config: %s", asdict(cfg))
    t0 = time.perf_counter()
    source = _DataSource(cinc_dir, mit_dir, prepared, cinc_limit)
    data = _load(cfg, source)
    log.info("data loaded in %.1f s: CinC %d records %s, MIT-BIH %d records, %d windows",
             time.perf_counter() - t0, len(data.cinc.names),
             dict(zip(CINC_CLASSES, np.bincount(data.cinc.label, minlength=4).tolist(),
                      strict=True)),
             len(data.mit), sum(len(r.starts) for r in data.mit.values()))
    if folds_to_run is None:
        folds_to_run = list(range(cfg.folds)) if cfg.folds > 1 else []
    final_state = None
    if jobs > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
            pending = [pool.submit(_fold_job, cfg, source, k, out, command)
                       for k in folds_to_run]
            final_job = pool.submit(_final_job, cfg, source, out) if final else None
            for f in pending:
                f.result()
            if final_job is not None:
                final_state = final_job.result()
    else:
        for k in folds_to_run:
            _run_fold(cfg, data, k, out, command)
    cv = pooled_cv(out, cfg.folds) if cfg.folds > 1 else None
    if cv:
        log.info("cross-validation (%d folds present): %s", len(cv["folds_present"]),
                 {k: v for k, v in cv.items() if k != "per_fold"})
    if not final:
        return {"cv": cv}
    if final_state is None:
        final_state = _train_final(cfg, data)
    manifest = _save_final(cfg, data, out, command, cv, final_state)
    log.info("wrote %s in %.0f s", out, time.perf_counter() - t0)
    return manifest


def _setup_process(cfg: RhythmTrainConfig, out: Path, append: bool) -> None:
    """Logging to ``out/train.log``, torch threads and cuDNN, for the parent and
    for each ``--jobs`` worker (workers append to the parent's log)."""
    _setup_logging(out / "train.log", append=append)
    torch.set_num_threads(cfg.threads)
    if cfg.device == "cuda":
        torch.backends.cudnn.benchmark = True  # one input shape: pick the fastest kernels once


def _fold_job(cfg: RhythmTrainConfig, source: _DataSource, k: int, out: Path,
              command: str) -> None:
    """One fold in a worker process."""
    _setup_process(cfg, out, append=True)
    _run_fold(cfg, _load(cfg, source), k, out, command)


def _final_job(cfg: RhythmTrainConfig, source: _DataSource, out: Path) -> dict:
    """The production model in a worker process; its weights go back to the parent,
    which writes them once the cross-validation it reports has been pooled."""
    _setup_process(cfg, out, append=True)
    return _train_final(cfg, _load(cfg, source))


def _run_fold(cfg: RhythmTrainConfig, data: _Data, k: int, out: Path, command: str) -> None:
    from beatscope.models.weights_io import save_weight_set

    assert data.cfold is not None
    cinc, mit, mfold = data.cinc, data.mit, data.mfold
    fdir = out / "folds" / str(k)
    test_idx = np.flatnonzero(data.cfold == k)
    train_idx, val_idx = split_validation(cinc.label, np.flatnonzero(data.cfold != k),
                                          cfg.val_share, cfg.seed + k)
    mit_train = [r for n, r in mit.items() if mfold[n] != k]
    mit_test = [r for n, r in mit.items() if mfold[n] == k]
    log.info("fold %d: CinC train %d, val %d, test %d; MIT-BIH train %d, test %s", k,
             len(train_idx), len(val_idx), len(test_idx), len(mit_train),
             [r.name for r in mit_test])
    model, thr, history = train_one(cfg, cinc, train_idx, val_idx, mit_train,
                                    f"fold {k}", cfg.seed + 100 * k)
    model.to(cfg.device)
    probs = record_probabilities(model, [cinc.signals[i] for i in test_idx], cfg.precision,
                                 cfg.device)
    scores = cinc_scores(cinc.label[test_idx], probs, thr)
    log.info("fold %d test (CinC, %d records): %s", k, len(test_idx), scores)
    mit_out, mit_true, mit_probs = {}, [], []
    runner = RhythmModel(model, LABELS, {}, {}, precision=cfg.precision, batch=512,
                         device=cfg.device)
    for r in mit_test:
        s, e, p = mit_window_probabilities(model, r, cfg.precision, cfg.device)
        mit_out[f"{r.name}/start_s"], mit_out[f"{r.name}/end_s"] = s, e
        mit_out[f"{r.name}/probs"] = p
        # window-level scores on the 2.5-s-stride labelled windows
        mit_true.append(r.target)
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
    model.to("cpu")
    save_weight_set(fdir, {"rhythm": model}, _manifest(cfg, command, thr, {
        "trained_on": f"cross-validation fold {k}: CinC folds != {k} (less 10 % validation),"
                      f" MIT-BIH records outside fold {k}",
        "data": data.info, "metrics": result}))
    (fdir / "result.json").write_text(json.dumps(result, indent=2) + "\n")


def _train_final(cfg: RhythmTrainConfig, data: _Data) -> dict:
    cinc = data.cinc
    all_idx = np.arange(len(cinc.names))
    train_idx, val_idx = split_validation(cinc.label, all_idx, cfg.val_share, cfg.seed)
    log.info("production model: CinC train %d, val %d; MIT-BIH %d records", len(train_idx),
             len(val_idx), len(data.mit))
    model, thr, history = train_one(cfg, cinc, train_idx, val_idx, list(data.mit.values()),
                                    "final", cfg.seed)
    val_probs = record_probabilities(model.to(cfg.device), [cinc.signals[i] for i in val_idx],
                                     cfg.precision, cfg.device)
    model.to("cpu")
    return {"state": model.state_dict(), "thresholds": thr, "history": history,
            "validation_records": cinc_scores(cinc.label[val_idx], val_probs, thr)}


def _save_final(cfg: RhythmTrainConfig, data: _Data, out: Path, command: str,
                cv: dict | None, final: dict) -> dict:
    from beatscope.models.weights_io import save_weight_set

    model = new_model(cfg)
    model.load_state_dict(final["state"])
    model.eval()
    return save_weight_set(out, {"rhythm": model}, _manifest(cfg, command, final["thresholds"], {
        "trained_on": "all data: every CinC 2017 record except a stratified 10 % held out "
                      "for early stopping and thresholds, and every MIT-BIH record",
        "data": data.info,
        "folds": {"cinc": "stratified by class, seeded", "mitdb": data.mfold} if cv else None,
        "metrics": {"cross_validation": cv,
                    "validation_records": final["validation_records"],
                    "history": final["history"]}}))

