"""Polarity-consistent fiducials: what they would change, before the networks are
retrained with them.

    python bench/fiducial_polarity.py [--weights DIR] [--n 300]

Where a QRS is biphasic (R about as large as S: lead I, handheld strips, some bundle
branch blocks) the detector's largest-deflection mark (``detect.locate``) lands on the R
wave in one beat and the S wave in the next; the classifier's windows are centred on
the mark, so every other normal beat reaches it shifted by 30-50 ms, and looks
abnormal. ``locate_r_peaks(consistent_polarity=True)`` places such beats on their
deflection of the local majority's sign. It is not yet the detector's default: it
moves about 3 % of MIT-BIH's marks (bundle-branch-block, paced and ventricular records
most), so the networks must be retrained with it first.

Printed, in the same run:

* MIT-BIH (all 48 records, paced ones included): the share of marks it moves, and
  the records it moves most;
* CinC 2017 normal-rhythm recordings of the held-out fold (the seeded sample of
  ``bench/normal_false_ectopy.py``): V calls per 1,000 beats and the share of
  recordings with more than 5 % of beats called V, with the marks as shipped and
  consistent, the same weights (``--weights``, default the shipped set).
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))
sys.path.insert(0, str(ROOT / "bench"))

SHARED = ROOT.parent / "shared" / "data"


def moved_on_mitdb(db: Path) -> tuple[int, int, list[tuple[str, int, int]]]:
    from beatscope.detect import DetectorConfig, compute_feature
    from beatscope.detect.decision import decide
    from beatscope.detect.locate import locate_r_peaks
    from beatscope.io import load_record
    from beatscope.training import splits

    total = moved = 0
    per_record = []
    for name in splits.all_records():
        record = load_record(db / f"{name}.hea")
        cfg = DetectorConfig()
        feature = compute_feature(record.signals, record.fs, cfg, None)
        qrs = decide(feature.values, record.fs, cfg)
        shipped = locate_r_peaks(record.signals, record.fs, qrs, feature)
        consistent = locate_r_peaks(record.signals, record.fs, qrs, feature,
                                    consistent_polarity=True)
        n = int((shipped != consistent).sum()) if len(shipped) == len(consistent) else \
            len(np.setxor1d(shipped, consistent)) // 2
        total, moved = total + len(shipped), moved + n
        per_record.append((name, len(shipped), n))
    return total, moved, sorted(per_record, key=lambda r: -r[2])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mitdb", type=Path, default=SHARED / "mitdb")
    ap.add_argument("--cinc", type=Path, default=SHARED / "cinc2017")
    ap.add_argument("--weights", type=Path, default=None)
    ap.add_argument("--n", type=int, default=300)
    args = ap.parse_args()

    import beatscope.detect as detect
    from beatscope.training.cinc_normals import (
        HELD_OUT_FOLD,
        fold_records,
        load_reader,
        seeded_sample,
    )
    from normal_false_ectopy import score

    total, moved, per_record = moved_on_mitdb(args.mitdb)
    print(f"MIT-BIH: {moved:,} of {total:,} marks move ({100 * moved / total:.2f} %); most: "
          + ", ".join(f"{name} {n}" for name, _, n in per_record[:6]))
    # the sample normal_false_ectopy.py reports on (its seed 0)
    names = seeded_sample(fold_records(args.cinc, HELD_OUT_FOLD), args.n, 0)
    reader = load_reader(args.cinc)
    print(f"CinC 2017: {len(names)} normal-rhythm records of fold {HELD_OUT_FOLD}, weights "
          f"{args.weights or 'shipped'}")
    print("| marks | V per 1,000 | S per 1,000 | records > 5 % V | seconds |")
    print("|---|---|---|---|---|")
    shipped = detect.locate_r_peaks
    for label, locate in (("as shipped", shipped),
                          ("consistent polarity",
                           functools.partial(shipped, consistent_polarity=True))):
        detect.locate_r_peaks = locate  # what detect_r_peaks calls
        t = time.perf_counter()
        try:
            r = score(args.weights, names, reader)
        finally:
            detect.locate_r_peaks = shipped
        print(f"| {label} | {r['v_per_1000']:.1f} | {r['s_per_1000']:.1f} | "
              f"{r['over_called_pct']:.1f} % | {time.perf_counter() - t:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
