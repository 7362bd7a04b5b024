"""Detection benchmark: accuracy and speed on MITDB and NSTDB, against wfdb's xqrs.

Run on purpose, not in CI (it reads ../shared/data):

    python bench/detection.py                      # everything (about 5 min here)
    python bench/detection.py --skip-24h --records 100 105 203

Prints per-record and pooled Se / +P (AAMI EC57 style, 150 ms, VF episodes
excluded) for BeatScope and for ``wfdb.processing.xqrs_detect`` run in the same
process, the per-stage timings, and the 24-h Holter figures (48 MITDB records
concatenated into one WFDB record in a temporary folder), each next to its
baseline as a ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

from beatscope.analysis import analyze  # noqa: E402
from beatscope.evaluate import DetectionScore, score_detection  # noqa: E402
from beatscope.io import load_record  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
NSTDB_RECORDS = ["118e24", "118e18", "118e12", "118e06", "118e00", "118e_6",
                 "119e24", "119e18", "119e12", "119e06", "119e00", "119e_6"]
STAGES = ("quality", "denoise", "detect", "segment")


def xqrs(record) -> tuple[np.ndarray, float]:
    import wfdb.processing

    t = time.perf_counter()
    peaks = wfdb.processing.xqrs_detect(sig=record.signals[:, 0].astype(np.float64),
                                        fs=record.fs, verbose=False)
    return np.asarray(peaks, dtype=np.int64), time.perf_counter() - t


def run_database(db: Path, names: list[str], with_xqrs: bool) -> list[dict]:
    rows = []
    for name in names:
        record = load_record(db / f"{name}.hea")
        ann = record.annotations
        t = time.perf_counter()
        result = analyze(record)
        total = time.perf_counter() - t
        ours = score_detection(name, ann.sample, ann.symbol, result.beats.sample, record.fs,
                               record.n_samples)
        row = {"record": name, "ours": ours, "t_ours": total, "stages": result.timings_s}
        if with_xqrs:
            peaks, t_x = xqrs(record)
            row["xqrs"] = score_detection(name, ann.sample, ann.symbol, peaks, record.fs,
                                          record.n_samples)
            row["t_xqrs"] = t_x
        rows.append(row)
        x = row.get("xqrs")
        print(f"  {name:>7}  ours Se {ours.sensitivity:7.3f} +P {ours.ppv:7.3f} "
              f"(FN {ours.fn:3d} FP {ours.fp:3d}) {total:5.2f} s"
              + (f" | xqrs Se {x.sensitivity:7.3f} +P {x.ppv:7.3f} "
                 f"(FN {x.fn:3d} FP {x.fp:3d}) {row['t_xqrs']:5.2f} s" if x else ""),
              flush=True)
    return rows


def single_lead(db: Path, names: list[str]) -> None:
    """Each lead alone, as a one-lead device would record it."""
    from beatscope.detect import detect_r_peaks

    for lead, label in ((0, "lead 1 only (MLII)"), (1, "lead 2 only (V1/V2/V4/V5)")):
        total = DetectionScore("pooled", 0, 0, 0)
        for name in names:
            rec = load_record(db / f"{name}.hea")
            det = detect_r_peaks(rec.signals[:, lead], rec.fs)
            ann = rec.annotations
            total = total + score_detection(name, ann.sample, ann.symbol, det, rec.fs,
                                            rec.n_samples)
        print(f"MITDB {label:<26} ours Se {total.sensitivity:7.3f} +P {total.ppv:7.3f} "
              f"(FN {total.fn} FP {total.fp})")


def pooled(rows: list[dict], key: str) -> DetectionScore:
    total = DetectionScore("pooled", 0, 0, 0)
    for r in rows:
        total = total + r[key]
    return total


def print_pooled(title: str, rows: list[dict], with_xqrs: bool) -> None:
    ours = pooled(rows, "ours")
    line = (f"{title:<28} ours Se {ours.sensitivity:7.3f} +P {ours.ppv:7.3f} "
            f"(TP {ours.tp} FN {ours.fn} FP {ours.fp})")
    if with_xqrs:
        x = pooled(rows, "xqrs")
        line += (f" | xqrs Se {x.sensitivity:7.3f} +P {x.ppv:7.3f} "
                 f"(FN {x.fn} FP {x.fp}) | error ratio ours/xqrs "
                 f"{(ours.fn + ours.fp) / max(1, x.fn + x.fp):.2f}")
    print(line)


def print_timings(rows: list[dict], with_xqrs: bool) -> None:
    n = len(rows)
    stage_mean = {s: sum(r["stages"].get(s, 0.0) for r in rows) / n for s in STAGES}
    pipeline = [sum(r["stages"].get(s, 0.0) for s in STAGES) for r in rows]
    print("\nPer 30-min 2-lead record (mean over records):")
    for s in STAGES:
        print(f"  {s:<8} {stage_mean[s]:6.3f} s")
    print(f"  quality+denoise+detect+segment: mean {np.mean(pipeline):.3f} s, "
          f"max {np.max(pipeline):.3f} s, i.e. {1800 / np.mean(pipeline):,.0f}x real time")
    if with_xqrs:
        tx = np.mean([r["t_xqrs"] for r in rows])
        print(f"  xqrs_detect alone (one lead): mean {tx:.3f} s -> BeatScope's whole "
              f"pipeline takes {np.mean(pipeline) / tx:.2f}x the time of xqrs")


def build_24h(mitdb: Path, folder: Path) -> Path:
    """Concatenate the 48 MITDB records (format 212, same gain and zero) byte for byte."""
    names = sorted(p.stem for p in mitdb.glob("*.hea"))
    frames = 0
    with open(folder / "holter24.dat", "wb") as out:
        for name in names:
            data = (mitdb / f"{name}.dat").read_bytes()
            out.write(data)
            frames += len(data) // 3
    (folder / "holter24.hea").write_text(
        f"holter24 2 360 {frames}\n"
        "holter24.dat 212 200 11 1024 0 0 0 ECG1\n"
        "holter24.dat 212 200 11 1024 0 0 0 ECG2\n")
    return folder / "holter24.hea"


CHILD = """
import sys, time, resource, json
sys.path.insert(0, {app!r})
t0 = time.perf_counter()
from beatscope.io import load_record
from beatscope.analysis import analyze
t1 = time.perf_counter()
rec = load_record({path!r})
t2 = time.perf_counter()
res = analyze(rec)
t3 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "load_s": t2 - t1, "analyze_s": t3 - t2,
    "beats": len(res.beats), "stages": res.timings_s,
    "hours": rec.duration_s / 3600,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def run_24h(mitdb: Path, rows: list[dict]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        hea = build_24h(mitdb, Path(tmp))
        code = CHILD.format(app=str(ROOT / "app"), path=str(hea))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    per30 = np.mean([sum(x["stages"].get(s, 0.0) for s in STAGES) for x in rows]) if rows else 0
    print(f"\n24-h record ({r['hours']:.2f} h, 2 leads, 48 MITDB records joined):")
    print(f"  load {r['load_s']:.2f} s, analyse {r['analyze_s']:.2f} s "
          f"({', '.join(f'{k} {v:.2f}' for k, v in r['stages'].items())}), "
          f"{r['beats']} beats, peak RSS {r['peak_rss_mb']:.0f} MB")
    if per30:
        print(f"  48 x the mean 30-min pipeline time = {48 * per30:.2f} s -> 24-h scaling "
              f"ratio {r['analyze_s'] / (48 * per30):.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mitdb", type=Path, default=SHARED / "mitdb")
    ap.add_argument("--nstdb", type=Path, default=SHARED / "nstdb")
    ap.add_argument("--records", nargs="*", help="MITDB records (default: all 48)")
    ap.add_argument("--skip-xqrs", action="store_true")
    ap.add_argument("--skip-24h", action="store_true")
    ap.add_argument("--skip-nstdb", action="store_true")
    ap.add_argument("--skip-single-lead", action="store_true")
    args = ap.parse_args()
    with_x = not args.skip_xqrs
    names = args.records or sorted(p.stem for p in args.mitdb.glob("*.atr"))
    print(f"MITDB ({len(names)} records):")
    rows = run_database(args.mitdb, names, with_x)
    print()
    print_pooled(f"MITDB pooled ({len(rows)} rec)", rows, with_x)
    if not args.skip_single_lead:
        single_lead(args.mitdb, names)
    if not args.skip_nstdb:
        print("\nNSTDB (records 118, 119 with noise from minute 5):")
        nst = run_database(args.nstdb, NSTDB_RECORDS, with_x)
        print()
        for snr in ("24", "18", "12", "06", "00", "_6"):
            sel = [r for r in nst if r["record"].endswith("e" + snr)]
            print_pooled(f"NSTDB {snr.replace('_', '-')} dB", sel, with_x)
    print_timings(rows, with_x)
    if not args.skip_24h:
        run_24h(args.mitdb, rows)
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n(benchmark process peak RSS {ru:.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
