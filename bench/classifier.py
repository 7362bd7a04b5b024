"""Classifier benchmark: beats/s of the ResNet, SLAP and the whole ensemble on CPU.

Run on purpose, not in CI (a few minutes on 2 cores):

    python bench/classifier.py                  # 20,000 random beats, the app's batch, min of 3
    python bench/classifier.py --beats 5000 --runs 1 --skip-lstm-steps

Uses the weight set in ``model_weights/`` (or ``$BEATSCOPE_WEIGHTS``) when it has a
manifest, else randomly initialised models (speed does not depend on the weight
values). Prints, for each configuration, beats/s and the ratio to plain float32
eager ResNet measured in the same run, then:

* the SLAP step-layout comparison: 25 patches x 32 features vs 400 samples x 2
  leads (batch 512);
* the float16 storage error: max |logit| difference between a model and the
  same model saved with :func:`save_weight_set` and loaded back;
* the projected time for a 100,000-beat 24-h record through the ensemble.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

from beatscope.models import (  # noqa: E402
    SLAP,
    BeatClassifier,
    LoadedWeightSet,
    ResNet1D34,
    WeightsError,
    default_weights_dir,
    load_weight_set,
    save_weight_set,
)
from beatscope.models.inference import DEFAULT_BATCH, available_cpus, native_bf16  # noqa: E402

HOLTER_BEATS = 100_000


def random_beats(n: int, leads: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """z-scored-like windows and plausible RR features (durations ~0.5-1.5 s)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, leads, 400), dtype=np.float32)
    rr = (0.5 + rng.random((n, 8), dtype=np.float32)).astype(np.float32)
    return x, rr


def weight_set(folder: Path | None) -> tuple[LoadedWeightSet, str]:
    folder = folder or default_weights_dir()
    if (folder / "manifest.json").is_file():
        try:
            return load_weight_set(folder), f"loaded from {folder}"
        except WeightsError as err:
            print(f"warning: {err}; using random weights", file=sys.stderr)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        save_weight_set(tmp, {"resnet": ResNet1D34(), "slap": SLAP()},
                        {"model_version": "random-init",
                         "ensemble": {"weights": {"resnet": 0.5, "slap": 0.5}}})
        return load_weight_set(tmp), "random init (no manifest in model_weights/)"


def time_model(fn: Callable[[torch.Tensor, torch.Tensor], object], x: np.ndarray,
               rr: np.ndarray, batch: int, runs: int) -> float:
    """Best-of-``runs`` beats/s of ``fn`` over all beats in batches (after one warm-up batch)."""
    xt, rt = torch.from_numpy(x), torch.from_numpy(rr)
    fn(xt[:batch], rt[:batch])
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        for s in range(0, len(xt), batch):
            fn(xt[s:s + batch], rt[s:s + batch])
        best = min(best, time.perf_counter() - t)
    return len(xt) / best


def eager(model: nn.Module, bf16: bool) -> Callable[[torch.Tensor, torch.Tensor], object]:
    def run(x: torch.Tensor, rr: torch.Tensor) -> object:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return model(x, rr)
    return run


def classifier(ws: LoadedWeightSet, precision: str, batch: int, threads: int
               ) -> Callable[[torch.Tensor, torch.Tensor], object]:
    clf = BeatClassifier(ws, device="cpu", precision=precision, batch_size=batch,
                         num_threads=threads)
    return lambda x, rr: clf.classify(x.numpy(), rr.numpy())


def fp16_error(model: nn.Module, name: str, x: np.ndarray, rr: np.ndarray) -> dict:
    """Max |logit| change from storing ``model`` as float16 and loading it back."""
    with tempfile.TemporaryDirectory() as tmp:
        save_weight_set(tmp, {name: model})
        back = load_weight_set(tmp).models[name]
    xt, rt = torch.from_numpy(x), torch.from_numpy(rr)
    with torch.inference_mode():
        a, b = model.eval()(xt, rt), back(xt, rt)
    diff = float((a - b).abs().max())
    scale = float(a.abs().max())
    flips = float((a.argmax(1) != b.argmax(1)).float().mean())
    return {"max_abs_logit_diff": diff, "max_abs_logit": scale, "argmax_flip_rate": flips}


def trained_like(model: ResNet1D34, seed: int = 1) -> ResNet1D34:
    """Random BN affines/statistics in place of the zero-init residual BNs.

    Freshly initialised, every residual branch of the ResNet is zeroed (bn2 = 0),
    which makes its logits tiny and the fp16 error trivially small; a trained
    network has non-zero branches, so this is the fairer storage test.
    """
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.weight.data = 0.2 + 0.3 * torch.rand(m.weight.shape, generator=g)
            m.bias.data = 0.05 * torch.randn(m.bias.shape, generator=g)
            m.running_mean = 0.1 * torch.randn(m.running_mean.shape, generator=g)
            m.running_var = 0.5 + torch.rand(m.running_var.shape, generator=g)
    return model


def analyse_record(path: Path, ws: LoadedWeightSet, threads: int) -> None:
    """The whole engine on one record, classifier included, stage by stage."""
    import time

    from beatscope.analysis import AnalysisOptions, analyze
    from beatscope.io import load_record

    record = load_record(path)
    clf = BeatClassifier(ws, device="cpu", num_threads=threads)
    t = time.perf_counter()
    result = analyze(record, AnalysisOptions(classifier=clf))
    total = time.perf_counter() - t
    n = len(result.beats)
    cls = result.timings_s["classify"]
    print(f"\nwhole engine on {path.name} ({record.duration_s / 3600:.2f} h, {n} beats): "
          f"{total:.1f} s; " + ", ".join(f"{k} {v:.2f} s" for k, v in result.timings_s.items()))
    print(f"  classification: {cls:.1f} s for {n} beats = {n / max(cls, 1e-9):,.0f} beats/s "
          f"(precision {clf.precision})")


def time_context(n: int, runs: int) -> dict[str, float]:
    """Seconds to build the template channels of ``n`` beats: the local references as
    the engine streams them, and the old one-median-per-block baseline."""
    from beatscope.segment import context_plan, iter_with_local_template

    rng = np.random.default_rng(1)
    peaks = np.cumsum(rng.normal(0.8, 0.05, n) * 360).astype(np.int64)
    w = rng.standard_normal((n, 2, 400), dtype=np.float32)
    block = 8192
    local = baseline = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        plan = context_plan(peaks, 360.0)
        for _ in iter_with_local_template((w[i:i + block] for i in range(0, n, block)), plan):
            pass
        local = min(local, time.perf_counter() - t)
        t = time.perf_counter()
        for i in range(0, n, block):
            part = w[i:i + block]
            np.concatenate([part, part - np.median(part, axis=0, keepdims=True)], axis=1)
        baseline = min(baseline, time.perf_counter() - t)
    return {"local_s": round(local, 3), "block_median_s": round(baseline, 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--beats", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=DEFAULT_BATCH,
                    help=f"beats per forward pass (default: the app's, {DEFAULT_BATCH})")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--weights", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads (default: every CPU this process may use, as the app)")
    ap.add_argument("--skip-lstm-steps", action="store_true",
                    help="skip the 400-step vs 25-patch SLAP comparison")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--record", type=Path, default=None,
                    help="also run the whole engine with the classifier on this record (e.g. "
                         "the 24-h join of bench/detection.py) and report each stage")
    args = ap.parse_args()

    threads = args.threads or available_cpus()
    torch.set_num_threads(threads)
    ws, origin = weight_set(args.weights)
    resnet, slap = ws.models["resnet"], ws.models["slap"]
    # The shipped models take 4 channels (2 leads + their difference from the
    # patient template); the fresh models below take the paper's 2.
    x, rr = random_beats(args.beats, leads=int(getattr(resnet, "in_leads", 2)))
    x2 = np.ascontiguousarray(x[:, :2])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"native bf16: {native_bf16(torch.device('cpu'))}; weights: {origin}")
    print(f"{args.beats} random beats, batch {args.batch}, best of {args.runs} runs\n")

    rows: list[tuple[str, float]] = []
    configs: list[tuple[str, Callable[[torch.Tensor, torch.Tensor], object]]] = [
        ("ResNet fp32 eager", eager(resnet, False)),
        ("ResNet bf16 autocast", eager(resnet, True)),
        ("SLAP fp32 eager", eager(slap, False)),
        ("SLAP bf16 autocast", eager(slap, True)),
        ("Ensemble (BeatClassifier fp32)", classifier(ws, "fp32", args.batch, threads)),
        ("Ensemble (BeatClassifier bf16)", classifier(ws, "bf16", args.batch, threads)),
    ]
    base = None
    for name, fn in configs:
        bps = time_model(fn, x, rr, args.batch, args.runs)
        base = base or bps
        rows.append((name, bps))
        print(f"  {name:<34s} {bps:9,.0f} beats/s  x{bps / base:5.2f}", flush=True)
    best_ens = max(b for n, b in rows if n.startswith("Ensemble"))
    print(f"\n100k-beat 24-h record through the fastest ensemble: "
          f"{HOLTER_BEATS / best_ens:.1f} s (target <= 70 s; ensemble target >= 1,500 beats/s)")

    context = time_context(HOLTER_BEATS, args.runs)
    print(f"\npatient context for {HOLTER_BEATS:,} beats (24 h at 75 bpm, 2 leads), "
          f"best of {args.runs}: local references (segment.context, streamed in 8,192-beat "
          f"blocks) {context['local_s']:.2f} s; one median per 8,192-beat block (the "
          f"definition before issue 13, baseline) {context['block_median_s']:.2f} s; "
          f"ratio x{context['local_s'] / context['block_median_s']:.2f}; "
          f"{100 * context['local_s'] / (HOLTER_BEATS / best_ens):.1f} % of the "
          f"ensemble's 24-h time")

    lstm: dict[str, float] = {}
    if not args.skip_lstm_steps:
        n = min(args.beats, 4096)
        torch.manual_seed(0)
        for label, patch in (("25 steps x 32 (patch 16)", 16), ("400 steps x 2 (patch 1)", 1)):
            m = SLAP(patch=patch).eval()
            lstm[label] = time_model(eager(m, False), x2[:n], rr[:n], 512, args.runs)
        a, b = lstm.values()
        print(f"\nSLAP step layout, fp32, batch 512, {n} beats:")
        for label, bps in lstm.items():
            print(f"  {label:<26s} {bps:9,.0f} beats/s")
        print(f"  patches are {a / b:.1f}x faster")

    # Fresh float32 models: the loaded set is already float16-rounded, so storing
    # it again would be exact and say nothing.
    print("\nfloat16 storage (save_weight_set -> load_weight_set), fresh fp32 models, "
          "1024 random beats:")
    torch.manual_seed(0)
    xs, rs = x2[:1024], rr[:1024]
    errs = {
        "resnet (random init)": fp16_error(ResNet1D34(), "resnet", xs, rs),
        "resnet (random BN, trained-like)": fp16_error(trained_like(ResNet1D34()), "resnet",
                                                        xs, rs),
        "slap (random init)": fp16_error(SLAP(), "slap", xs, rs),
    }
    for name, e in errs.items():
        print(f"  {name:<34s} max|dlogit| {e['max_abs_logit_diff']:.2e} "
              f"(max|logit| {e['max_abs_logit']:.3g}), argmax flips {e['argmax_flip_rate']:.2%}")

    if args.json:
        args.json.write_text(json.dumps({
            "weights": origin, "threads": torch.get_num_threads(), "beats": args.beats,
            "batch": args.batch, "beats_per_s": dict(rows), "lstm_steps": lstm,
            "fp16_storage": errs, "context_100k_beats_s": context,
        }, indent=2))
    if args.record is not None:
        analyse_record(args.record, ws, threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
