"""Opening a 24-h ISHNE Holter file (issue 18's goal: <= 2 s, memory-mapped).

    python bench/ishne_open.py [--mitdb ../shared/data/mitdb]

Writes the 48 MITDB records joined into one 24.07-h, 2-lead, 360-Hz ISHNE file in a
temporary folder (tests/test_ishne.py's header writer), then times ``load_record`` on
it three times (the first after the file was just written: the page cache holds it;
drop the cache by hand for a cold figure). Baseline, same run: the same samples as a
WFDB record, opened by the WFDB reader.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> int:
    import wfdb

    from beatscope.io import load_record
    from long_record import build_joined
    from test_ishne import ishne_header

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mitdb", type=Path, default=ROOT.parent / "shared" / "data" / "mitdb")
    args = ap.parse_args()
    names = sorted(p.stem for p in args.mitdb.glob("*.hea"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hea, _ = build_joined(args.mitdb, names, folder, "mitdb24h")
        digital = wfdb.rdrecord(str(hea.with_suffix("")), physical=False).d_signal
        path = folder / "mitdb24h.ecg"
        with open(path, "wb") as fh:
            fh.write(ishne_header(n_samples=len(digital), n_leads=2, fs=360, specs=[6, 15],
                                  resolution_nv=[5000, 5000]))
            fh.write(digital.astype("<i2").tobytes())
        print(f"{path.stat().st_size / 1e6:.0f} MB, {len(digital):,} samples x 2 leads")
        for title, target in (("ISHNE", path), ("WFDB (baseline)", hea)):
            times = []
            for _ in range(3):
                t = time.perf_counter()
                record = load_record(target)
                times.append(time.perf_counter() - t)
                assert record.n_samples == len(digital)
            print(f"{title}: load_record {', '.join(f'{x:.2f}' for x in times)} s "
                  f"(best {min(times):.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
