"""The beat classifier away from MIT-BIH's 360 Hz and two leads (DS2, transformed).

    python bench/classifier_robustness.py [--conditions 360 128 ... lead0 inverted] [--records ...]
    python bench/classifier_robustness.py --export DIR --conditions lead0 --records R ...

The shipped networks were trained on MIT-BIH alone: 360 Hz, two leads (MLII plus
V1/V2/V4/V5). Users open Holters at 128-250 Hz, resting ECGs at 500-1000 Hz and
single-lead strips, and electrodes get reversed. The engine brings every record to
the networks' 360 Hz and 400-sample windows itself; this measures what that costs.
Each DS2 record (patients the DS1 weight set never saw) is resampled (polyphase,
``scipy.signal.resample_poly``), cut to one lead, or inverted (both leads' polarity
reversed); its reference beats are moved to the new sample grid, and it is run
through ``analyze`` as a user's record would be (detection, denoising, windows, the
ensemble, the prematurity rule; no rhythm model). The detected beats are scored
against the reference within 150 ms, missed beats counting against their class,
exactly as ``beatscope evaluate classification`` does.

``--export DIR`` writes the records of one condition as WFDB records with their
reference annotations instead (for ``bench/ds1_cv.py --db DIR``: the same question
asked inside DS1, where choices may be made).

The first condition (360 Hz, both leads, the recording as it is) is the baseline,
measured in the same run; every other row also shows its accuracy and F1s minus the
baseline's. Run on purpose (reads ../shared/data; about a minute per condition here).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

from beatscope.evaluate.classification import score_classification  # noqa: E402
from beatscope.evaluate.labelled import CLASS_INDEX, label_detected  # noqa: E402
from beatscope.training.splits import DS2  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
CONDITIONS = ("360", "128", "250", "500", "1000", "lead0", "lead1", "inverted")


def transformed(record, condition: str):
    """``record`` (360 Hz, 2 leads, with annotations) as ``condition`` makes it: a rate
    in Hz (resampled, both leads), ``leadK`` (lead K alone) or ``inverted`` (both
    leads upside down, as with reversed electrodes)."""
    from dataclasses import replace

    from scipy.signal import resample_poly

    from beatscope.io.validate import finalise

    if condition == "inverted":
        return finalise(replace(record, signals=-np.asarray(record.signals), invalid_mask=None))
    if condition.startswith("lead"):
        k = int(condition[4:])
        return finalise(replace(record, signals=np.ascontiguousarray(record.signals[:, [k]]),
                                lead_names=[record.lead_names[k]], units=[record.units[k]],
                                invalid_mask=None))
    fs = float(condition)
    if fs == record.fs:
        return record
    ratio = Fraction(fs / record.fs).limit_denominator(1000)
    signals = resample_poly(np.asarray(record.signals, np.float64), ratio.numerator,
                            ratio.denominator, axis=0).astype(np.float32)
    sample = np.rint(np.asarray(record.annotations.sample) * fs / record.fs).astype(np.int64)
    return finalise(replace(record, signals=signals, fs=fs, invalid_mask=None,
                            annotations=replace(record.annotations, sample=sample)))


def export(db: Path, names, condition: str, out: Path) -> None:
    """Write ``condition``'s version of each record under ``out`` (16-bit, 200 adu/mV:
    MIT-BIH's own resolution, so a lead cut from it is copied exactly)."""
    import wfdb

    from beatscope.io import load_record

    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        record = transformed(load_record(db / f"{name}.hea"), condition)
        n_leads = record.signals.shape[1]
        wfdb.wrsamp(name, fs=record.fs, units=["mV"] * n_leads, sig_name=record.lead_names,
                    p_signal=np.asarray(record.signals, np.float64), fmt=["16"] * n_leads,
                    adc_gain=[200.0] * n_leads, baseline=[0] * n_leads, write_dir=str(out))
        ann = record.annotations
        wfdb.wrann(name, "atr", np.asarray(ann.sample), np.asarray(ann.symbol),
                   aux_note=list(ann.aux_note), write_dir=str(out))


def score_condition(db: Path, names, condition: str, classifier):
    from beatscope.analysis import AnalysisOptions, analyze
    from beatscope.io import load_record

    total = None
    for name in names:
        record = transformed(load_record(db / f"{name}.hea"), condition)
        result = analyze(record, AnalysisOptions(classifier=classifier, rhythm_model=None))
        label, missed = label_detected(record, result.beats.sample)
        pred = np.array([CLASS_INDEX[c] for c in result.beats.label], dtype=np.int64)
        s = score_classification(label, pred, missed)
        total = s if total is None else total + s
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=SHARED / "mitdb")
    ap.add_argument("--weights", type=Path, default=ROOT / "model_weights" / "validation-ds1",
                    help="the DS1-only set by default: DS2 is unseen by it")
    ap.add_argument("--conditions", nargs="+", default=list(CONDITIONS),
                    help="rates in Hz and/or leadK; the first is the baseline")
    ap.add_argument("--records", nargs="+", default=list(DS2))
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--export", type=Path, default=None, metavar="DIR",
                    help="write the records of the (single) condition to DIR; no scoring")
    args = ap.parse_args()
    if args.export is not None:
        if len(args.conditions) != 1:
            raise SystemExit("--export takes exactly one condition")
        export(args.db, args.records, args.conditions[0], args.export)
        print(f"wrote {len(args.records)} records ({args.conditions[0]}) to {args.export}")
        return 0

    from beatscope.analysis.classifier_cache import ClassifierSpec, load_classifier

    classifier = load_classifier(ClassifierSpec(weights=args.weights, required=True))
    rows, base = {}, None
    print(f"DS2 ({len(args.records)} records) through `analyze`, weights {args.weights.name}")
    print("| condition | beats found % | accuracy % | SVEB Se / +P / F1 | VEB Se / +P / F1 "
          "| change vs baseline (acc, SVEB F1, VEB F1) | seconds |")
    print("|---|---|---|---|---|---|---|")
    for condition in args.conditions:
        t0 = time.perf_counter()
        score = score_condition(args.db, args.records, condition, classifier)
        seconds = time.perf_counter() - t0
        sveb, veb = CLASS_INDEX["S"], CLASS_INDEX["V"]
        key = (score.accuracy, score.f1(sveb), score.f1(veb))
        base = base or key
        change = ", ".join(f"{a - b:+.2f}" for a, b in zip(key, base, strict=True))
        found = 100.0 * (1.0 - score.confusion[:, 5].sum() / max(1, score.n_beats))
        print(f"| {condition} | {found:.2f} | {score.accuracy:.2f} | "
              + " | ".join(f"{score.sensitivity(k):.1f} / {score.ppv(k):.1f} / {score.f1(k):.1f}"
                           for k in (sveb, veb))
              + f" | {change} | {seconds:.0f} |", flush=True)
        rows[condition] = {**score.as_dict(), "seconds": round(seconds, 1)}
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
