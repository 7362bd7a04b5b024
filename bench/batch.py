"""Batch analysis throughput: the ``--jobs`` process pool against local Ray tasks
(``beatscope analyze DIR --ray``), with 1 and 2 workers, in one run.

    python bench/batch.py [--db ../shared/data/mitdb] [--records N] [--out DIR]

Each mode analyses the same records (the first ``--records`` of ``--db``, all 48
MIT-BIH records by default, classifier included) from scratch, the way ``beatscope
analyze`` runs them: the pool through ``cli.worker_pool.run_in_workers``, Ray through
``cli.batch_ray.run_in_ray`` starting and stopping its own local instance, so each
wall time includes starting the workers (and Ray), importing torch and loading the
weights in every worker. The table gives records per minute and the ratio to the
pool with one worker; Ray's overhead is its wall time minus the pool's at the same
worker count, per record, and, measured apart on a warm instance, one empty task's
round trip (submit to result) and the time to start a local instance.

Outputs go to a temporary folder (``--out`` keeps them). The runs are sequential;
on a shared machine compare the ratios, and the load average printed beside them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

MODES = [("pool", 1), ("ray", 1), ("pool", 2), ("ray", 2)]


def batch_arguments(db: Path, names: list[str], out: Path, mode: str, jobs: int):
    """What ``beatscope analyze`` hands its workers for these records, and the spec."""
    from beatscope.cli import analyze_cmd
    from beatscope.cli.batch_plan import plan_batch
    from beatscope.cli.main import build_parser

    argv = ["analyze", *(str(db / f"{n}.hea") for n in names), "--out", str(out),
            "--jobs", str(jobs), "--force", *(["--ray"] if mode == "ray" else [])]
    args = build_parser().parse_args(argv)
    options = analyze_cmd._options(args)
    spec = analyze_cmd._classifier_spec(args)
    recorded = analyze_cmd._recorded_options(args)
    items = plan_batch(args.records, out)
    return [(item.source, item.out_dir, args.fs, options, spec, False, None, recorded)
            for item in items], spec


def run_mode(db: Path, names: list[str], out: Path, mode: str, jobs: int
             ) -> tuple[float, list[float]]:
    """Wall seconds for the whole batch, and each record's own analysis seconds."""
    from beatscope.cli.analyze_cmd import analyze_one

    arguments, spec = batch_arguments(db, names, out, mode, jobs)
    began = time.perf_counter()
    if mode == "pool":
        from beatscope.cli.worker_pool import run_in_workers

        finished = run_in_workers(analyze_one, arguments, jobs,
                                  threads=None if spec is None else spec.threads)
    else:
        from beatscope.cli.batch_ray import read_weights, run_in_ray

        finished = run_in_ray(analyze_one, arguments, jobs, None, spec, read_weights(spec))
    seconds = []
    for f in finished:
        if f is None:
            continue
        if f.result is None or not f.result.ok:
            reason = f.error if f.result is None else f.result.message
            raise RuntimeError(f"{mode} x{jobs}: record {names[f.index]} failed: {reason}")
        seconds.append(f.result.seconds)
    return time.perf_counter() - began, seconds


def _empty() -> float:
    return time.time()


def ray_fixed_costs(trips: int = 50) -> tuple[float, float]:
    """Seconds to start a local instance, and the median round trip of an empty task
    (submit to result, on a warm worker), in milliseconds."""
    import logging

    import ray

    began = time.perf_counter()
    ray.init(address="local", num_cpus=1, include_dashboard=False,
             logging_level=logging.ERROR, log_to_driver=False)
    start_s = time.perf_counter() - began
    try:
        empty = ray.remote(_empty).options(num_cpus=1, max_retries=0)
        ray.get(empty.remote())  # a worker started and the function registered
        trips_ms = []
        for _ in range(trips):
            t = time.perf_counter()
            ray.get(empty.remote())
            trips_ms.append((time.perf_counter() - t) * 1000)
    finally:
        ray.shutdown()
    return start_s, statistics.median(trips_ms)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=ROOT.parent / "shared" / "data" / "mitdb",
                    help="WFDB records (default ../shared/data/mitdb)")
    ap.add_argument("--records", type=int, default=None, metavar="N",
                    help="only the first N records (default: all)")
    ap.add_argument("--out", type=Path, default=None,
                    help="where the outputs go (default: a temporary folder, removed)")
    args = ap.parse_args()
    names = sorted(p.stem for p in args.db.glob("*.hea"))[: args.records]
    if not names:
        ap.error(f"no WFDB records in {args.db}")
    try:
        import ray  # noqa: F401
    except ImportError:
        ap.error("Ray is not installed: pip install -e '.[ray]'")

    with tempfile.TemporaryDirectory(prefix="beatscope-bench-batch-") as tmp:
        out = args.out or Path(tmp)
        print(f"{len(names)} records of {args.db}, {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f} at the start")
        results: dict[tuple[str, int], tuple[float, list[float]]] = {}
        for mode, jobs in MODES:
            results[mode, jobs] = run_mode(args.db, names, out / f"{mode}{jobs}", mode, jobs)
            print(f"  {mode} x{jobs}: {results[mode, jobs][0]:.1f} s", flush=True)
        start_s, trip_ms = ray_fixed_costs()
        load = os.getloadavg()[0]

    baseline = results["pool", 1][0]
    print()
    print("| mode | workers | records | wall s | records/min | ratio to pool x1 | "
          "median s per record (its own analysis) |")
    print("|---|---|---|---|---|---|---|")
    for (mode, jobs), (wall, seconds) in results.items():
        print(f"| {mode} | {jobs} | {len(names)} | {wall:.1f} | "
              f"{len(names) / wall * 60:.1f} | x{baseline / wall:.2f} | "
              f"{statistics.median(seconds):.2f} |")
    print()
    for jobs in (1, 2):
        extra = (results["ray", jobs][0] - results["pool", jobs][0]) / len(names)
        print(f"Ray's overhead with {jobs} worker{'s' if jobs > 1 else ''}: "
              f"{extra:+.2f} s per record (Ray wall - pool wall, / records)")
    print(f"Ray fixed costs: a local instance starts in {start_s:.1f} s; an empty task's "
          f"round trip on a warm worker is {trip_ms:.1f} ms (median of 50)")
    print(f"load average {load:.1f} at the end (other work on the machine skews the "
          "ratios)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
