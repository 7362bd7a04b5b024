"""The PDF report's time and size at 24 h.

    python bench/report.py [--mitdb ../shared/data/mitdb] [--cache runs/holter24.pkl] [--keep DIR]

Builds the 48 MITDB records joined into one 24-h record (bench/long_record.py's join),
analyses it once (or reads bench/review_viewer.py's ``--cache``), opens a review with
a few hundred edits, and times the report from the analysed record to the PDF on
disk: the model (numbers, trend, hourly table, strips, the rhythm rules again on the
reviewed beats) and the rendering, separately; the PDF's size and pages. Baseline,
same run: the 30-min MITDB 100. ``--keep DIR`` keeps the PDFs (to look at them).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))
sys.path.insert(0, str(ROOT / "bench"))


def one(path: Path, cache: Path | None, folder: Path, keep: Path | None) -> dict:
    import numpy as np
    import pypdf

    from beatscope.report.model import build_report, counted_beats
    from beatscope.report.pdf import render_pdf
    from beatscope.review.session import ReviewSession
    from review_viewer import analysed

    record, result = analysed(path, cache)
    review = ReviewSession.open(record, folder / f"{record.name}.sqlite", result, "bench")
    v = result.beats.sample[result.beats.label == "V"]
    review.relabel(v[::50], "N")  # a reviewer's corrections, a few hundred at 24 h
    review.text_note("record", "Benchmark conclusion.")
    t = time.perf_counter()
    report = build_report(record, result, review)
    model_s = time.perf_counter() - t
    samples, labels, _ = counted_beats(result, review)
    t = time.perf_counter()
    data = render_pdf(report, record, samples, labels)
    render_s = time.perf_counter() - t
    review.close()
    if keep is not None:
        (keep / f"{record.name}.pdf").write_bytes(data)
    pages = len(pypdf.PdfReader(io.BytesIO(data)).pages)
    return {"beats": report.total_beats, "model_s": model_s, "render_s": render_s,
            "mb": len(data) / 1e6, "pages": pages, "strips": len(report.strips),
            "edits": int(np.ceil(len(v) / 50))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mitdb", type=Path, default=ROOT.parent / "shared" / "data" / "mitdb")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args()
    from long_record import build_joined

    names = sorted(p.stem for p in args.mitdb.glob("*.hea"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        holter, _ = build_joined(args.mitdb, names, folder, "mitdb24h")
        short = one(args.mitdb / "100.hea", None, folder, args.keep)
        long = one(holter, args.cache, folder, args.keep)
    print("| record | beats | reviewer edits | report model s | PDF rendering s | total s | "
          "PDF MB | pages | strips |")
    print("|---|---|---|---|---|---|---|---|---|")
    for title, r in (("30 min (MITDB 100)", short), ("24 h (48 joined)", long)):
        print(f"| {title} | {r['beats']:,} | {r['edits']} | {r['model_s']:.2f} | "
              f"{r['render_s']:.2f} | {r['model_s'] + r['render_s']:.2f} | {r['mb']:.2f} | "
              f"{r['pages']} | {r['strips']} |")
    ratio = (long["model_s"] + long["render_s"]) / (short["model_s"] + short["render_s"])
    print(f"24 h / 30 min: x{ratio:.1f} the time for x{long['beats'] / short['beats']:.0f} "
          "the beats")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
