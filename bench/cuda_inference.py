"""GPU check of the beat classifier: the same answers as on the CPU, and its speed.

Run on purpose on a machine with a CUDA GPU (not in CI, which has none):

    python bench/cuda_inference.py
    python bench/cuda_inference.py --record RECORD.hea --beats 200000

1. ``analyze`` on the record (default: the bundled MIT-BIH 208 excerpt) with the
   classifier on the CPU and on the GPU: beat labels that differ, and the largest
   probability difference. Each device runs its own "auto" precision (bf16 where
   native), so small differences are expected near class boundaries.
2. Throughput of the production ensemble on random beats: the GPU in bf16 and
   fp32 at the app's batch and at a large batch, next to the CPU measured in the
   same run (bf16 where native) as the baseline.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

from beatscope.analysis import AnalysisOptions, analyze  # noqa: E402
from beatscope.analysis.classifier_cache import ClassifierSpec, load_classifier  # noqa: E402
from beatscope.io import load_record  # noqa: E402
from beatscope.models import BeatClassifier  # noqa: E402
from beatscope.models.inference import DEFAULT_BATCH  # noqa: E402


def rate(clf: BeatClassifier, windows: np.ndarray, rr: np.ndarray) -> float:
    clf.classify(windows[:min(len(windows), 2 * clf.batch_size)], rr[:2 * clf.batch_size])
    if clf.device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    clf.classify(windows, rr)  # returns numpy: the GPU work is finished
    return len(windows) / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--record", type=Path,
                    default=ROOT / "resources" / "samples" / "mitdb_208_10min.hea")
    ap.add_argument("--beats", type=int, default=100_000, help="random beats for the GPU rates")
    ap.add_argument("--cpu-beats", type=int, default=20_000)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA GPU: nothing to check")
        return 1
    print(f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}")

    record = load_record(args.record)
    results = {}
    for device in ("cpu", "cuda"):
        clf = load_classifier(ClassifierSpec(device=device, required=True))
        t0 = time.perf_counter()
        results[device] = analyze(record, AnalysisOptions(classifier=clf))
        print(f"analyze {args.record.name} on {device} ({clf.precision}): "
              f"{len(results[device].beats)} beats in {time.perf_counter() - t0:.2f} s")
    a, b = results["cpu"].beats, results["cuda"].beats
    assert np.array_equal(a.sample, b.sample), "the beats themselves differ"
    differ = int(np.sum(a.label != b.label))
    dp = float(np.abs(a.probability - b.probability).max())
    print(f"labels that differ, CPU vs GPU: {differ} of {len(a)}; "
          f"max |probability difference| {dp:.4f}")
    counts = {c: int(np.sum(b.label == c)) for c in "NSVFQ"}
    print(f"GPU labels: {counts}")

    base = load_classifier(ClassifierSpec(device="cpu", required=True))
    rng = np.random.default_rng(0)
    windows = rng.standard_normal((args.beats, base.in_leads, 400)).astype(np.float32)
    rr = rng.uniform(0.5, 1.5, (args.beats, base.n_rr)).astype(np.float32)
    cpu = rate(base, windows[:args.cpu_beats], rr[:args.cpu_beats])
    print(f"CPU ensemble ({base.precision}, {torch.get_num_threads()} threads, batch "
          f"{DEFAULT_BATCH}): {cpu:,.0f} beats/s  (baseline, 1.00x)")
    ws = base.weight_set
    for precision in ("bf16", "fp32"):
        for batch in (DEFAULT_BATCH, 4096):
            clf = BeatClassifier(ws, device="cuda", precision=precision, batch_size=batch)
            r = rate(clf, windows, rr)
            print(f"GPU ensemble ({precision}, batch {batch}): {r:,.0f} beats/s "
                  f"({r / cpu:.1f}x the CPU); 100,000 beats in {1e5 / r:.2f} s")
    return 0 if differ <= max(1, len(a) // 200) else 2


if __name__ == "__main__":
    raise SystemExit(main())
