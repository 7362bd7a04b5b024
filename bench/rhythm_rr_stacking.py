"""Does RR-interval information the network lacks close CinC 2017's AF gap? (stacking)

    python bench/rhythm_rr_stacking.py --cv RUN [RUN ...]     # a CV run, or an ensemble's

The rhythm network sees 10-s windows at 100 Hz; the classic AF detectors read the
RR series of the whole strip instead (irregularity, randomness, Poincare-plot
dispersion, entropy). This asks whether those features add to the network's
record decision. Every CinC record's R peaks are found by BeatScope's own detector
at 300 Hz, twelve RR features are computed per record, and a second-stage
classifier (a one-hidden-layer MLP, or a linear one) is fitted on:

* ``margins``: the ensemble's out-of-fold margins alone (logit minus threshold
  logit, the CV decision's input) -- a control: what refitting the decision gains;
* ``margins + RR``: the margins and the RR features;
* ``RR``: the RR features alone.

Stacking is cross-validated on the CV's own folds: the second stage for fold k is
fitted on the other folds' out-of-fold margins and scored on fold k, so no record
is scored by anything fitted on it. Run on purpose (reads ../shared/data, about
two minutes here).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

from beatscope.training.rhythm_cv_scores import fold_test_scores  # noqa: E402
from beatscope.training.rhythm_data import CINC_CLASSES, _cinc_reader  # noqa: E402
from beatscope.training.rhythm_metrics import confusion, f1_per_class, logit  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
FEATURES = ("beats", "heart_rate", "nrmssd", "cv", "median_abs_drr", "pnn50",
            "drr_over_10pct", "turning_points", "lorenz_occupancy", "lorenz_origin",
            "premature_fraction", "two_cluster_residual", "cosen", "assessable")


def rr_features(peaks: np.ndarray, fs: float) -> np.ndarray:
    """One strip's row of :data:`FEATURES`: its beat count, twelve RR features (NaN
    when it has fewer than 5 beats) and whether they could be computed."""
    rr = np.diff(peaks) / fs
    if len(rr) < 4:
        return np.array([len(peaks), *([np.nan] * 12), 0.0])
    d = np.diff(rr)
    ad = np.abs(d)
    median_rr = np.median(rr)
    trimmed = np.sort(d ** 2)[: max(1, int(len(d) * 15 / 16))]  # as the RR rules trim
    a, b = d[1:], d[:-1]  # the dRR Lorenz plot (Sarkar et al. 2008), 40-ms bins
    if len(a):
        cells = np.clip(np.round(a / 0.04), -12, 12) * 100 + np.clip(np.round(b / 0.04), -12, 12)
        occupancy = len(np.unique(cells)) / len(a)
        origin = float(np.mean((np.abs(a) < 0.02) & (np.abs(b) < 0.02)))
    else:
        occupancy, origin = 0.0, 1.0
    # Ectopy is bimodal (premature + compensatory), AF is not: the residual variance
    # of the best two-cluster split of the sorted intervals.
    s = np.sort(rr)
    n = len(s)
    residual = min((np.var(s[:i]) * i + np.var(s[i:]) * (n - i)) / n
                   for i in range(2, n - 1)) / (np.var(s) + 1e-9)
    return np.array([
        len(peaks), 60.0 / median_rr, np.sqrt(np.mean(trimmed)) / np.mean(rr),
        np.std(rr) / np.mean(rr), np.median(ad) / median_rr, np.mean(ad > 0.05),
        np.mean(ad / rr[1:] > 0.1), np.sum(b * a < 0) / max(1, len(rr) - 2),
        occupancy, origin, np.mean(rr[1:] < 0.85 * rr[:-1]), residual,
        _cosen(rr, median_rr), 1.0])


def _cosen(rr: np.ndarray, median_rr: float, r: float = 0.03) -> float:
    """Coefficient of sample entropy (Lake & Moorman 2011), m = 1, r = 30 ms."""
    def matches(m: int) -> float:
        x = np.lib.stride_tricks.sliding_window_view(rr, m)
        dist = np.max(np.abs(x[:, None] - x[None]), axis=2)
        return (np.sum(dist <= r) - len(x)) / 2
    a, b = matches(2), matches(1)
    return float(-np.log((a + 1e-3) / (b + 1e-3)) - np.log(2 * r) - np.log(median_rr))


def fit_predict(x_train, y_train, x_test, hidden: int, seed: int = 0) -> np.ndarray:
    """Log-probabilities of a small MLP (``hidden`` 0: multinomial logistic regression),
    L2-penalised, fitted to convergence with L-BFGS on standardised inputs."""
    import torch

    torch.manual_seed(seed)
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-9
    a = torch.tensor((x_train - mu) / sd, dtype=torch.float32)
    b = torch.tensor((x_test - mu) / sd, dtype=torch.float32)
    t = torch.as_tensor(y_train)
    k = int(y_train.max()) + 1
    net = (torch.nn.Sequential(torch.nn.Linear(a.shape[1], hidden), torch.nn.ReLU(),
                               torch.nn.Linear(hidden, k))
           if hidden else torch.nn.Linear(a.shape[1], k))
    opt = torch.optim.LBFGS(net.parameters(), max_iter=300, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        penalty = sum((p ** 2).sum() for name, p in net.named_parameters() if "weight" in name)
        loss = torch.nn.functional.cross_entropy(net(a), t) + 1e-3 * penalty
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return torch.log_softmax(net(b), 1).numpy()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cv", type=Path, nargs="+", required=True, metavar="RUN",
                    help="`train-rhythm --folds K` output; several (one --split-seed): "
                         "the ensemble of their fold models")
    ap.add_argument("--cinc", type=Path, default=SHARED / "cinc2017")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from beatscope.detect import detect_r_peaks

    names, y, margins, fold = [], [], [], []
    for k in range(args.folds):
        try:
            fold_names, label, p, t = fold_test_scores(args.cv, k)
        except ValueError as err:
            raise SystemExit(str(err)) from None
        names += list(fold_names)
        y.append(label)
        margins.append(logit(p) - logit(t)[None, :])
        fold += [k] * len(p)
    y, margins, fold = np.concatenate(y), np.concatenate(margins).astype(np.float64), np.array(fold)

    reader = _cinc_reader(args.cinc)
    t0 = time.perf_counter()
    rows = []
    for name in names:
        mv, fs = reader.load_record(name)
        rows.append(rr_features(detect_r_peaks(mv, fs), float(fs)))
    rr = np.array(rows)
    rr = np.where(np.isnan(rr), np.nanmedian(rr, axis=0), rr)
    print(f"{len(names)} records: R peaks and RR features in "
          f"{time.perf_counter() - t0:.0f} s; {int(np.sum(rr[:, -1] == 0))} with < 5 beats")

    def table_row(label: str, pred: np.ndarray) -> dict:
        f1 = f1_per_class(y, pred, 4)
        row = {c: round(float(v), 3) for c, v in zip(CINC_CLASSES, f1, strict=True)}
        row["mean_nao"] = round(float(np.mean(f1[:3])), 3)
        conf = confusion(y, pred, 4)
        row["af_called_o"], row["o_called_af"] = int(conf[1, 2]), int(conf[2, 1])
        print(f"| {label} | " + " | ".join(f"{row[c]:.3f}" for c in CINC_CLASSES)
              + f" | **{row['mean_nao']:.3f}** | {row['af_called_o']} | {row['o_called_af']} |")
        return row

    print("| decision (pooled over the folds) | F1 N | F1 A | F1 O | F1 ~ | mean F1 (N,A,O) "
          "| AF called O | O called AF |")
    print("|---|---|---|---|---|---|---|---|")
    out = {"records": len(y), "features": list(FEATURES),
           "ensemble_cv": table_row("ensemble, the CV decision", np.argmax(margins, 1))}
    inputs = {"margins": margins, "margins + RR": np.column_stack([margins, rr]), "RR": rr}
    for input_name, x in inputs.items():
        for hidden in (0, 32):
            scores = np.zeros((len(y), 4))
            for k in range(args.folds):
                train, test = fold != k, fold == k
                scores[test] = fit_predict(x[train], y[train], x[test], hidden)
            model = "MLP, 32 hidden" if hidden else "linear"
            out[f"{input_name} / {model}"] = table_row(f"stacked on {input_name} ({model})",
                                                       np.argmax(scores, 1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
