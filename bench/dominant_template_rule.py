"""Experiment for issue 17: would "the record's dominant morphology is its normal beat"
cut false V calls without losing true ones? Measured, not shipped.

    python bench/dominant_template_rule.py [--cinc ../shared/data/cinc2017] [--n 300]
        [--effort-cache runs/effort]

The rule tried: a template (``segment/templates.py``) called V whose median QRS-ST
shape correlates with the record's dominant N template's at least ``correlation``,
and that comes on time (median prematurity at least ``on time``), is N. Holter
systems assume the dominant morphology is the patient's normal beat unless it is
clearly ventricular; the networks call a normal beat V where the lead or the
patient's normal morphology is unusual to them. (A first form, "the largest
template is called V", never fired on the CinC normals: their false V calls are a
minority of each record's beats.)

* False V calls: CinC 2017 normal-rhythm records (single lead, 300 Hz, seeded sample
  as ``bench/normal_false_ectopy.py``; no beat model trained on them), V calls per
  1,000 beats and records over 5 % V, with and without the rule.
* True V beats lost: the MIT-BIH analyses cached by ``bench/review_effort.py
  --cache DIR`` (DS1 and DS2 with the DS1-only weights, their reference labels):
  reference V beats the rule would call N, and reference N beats it would correct.
"""

from __future__ import annotations

import argparse
import csv
import glob
import pickle
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))
sys.path.insert(0, str(ROOT / "bench"))

from beatscope.aami import AAMI_CLASSES  # noqa: E402
from normal_false_ectopy import OVER_CALLED_V, load_reader  # noqa: E402
from review_effort import _plain_templates  # noqa: E402

V, N = AAMI_CLASSES.index("V"), AAMI_CLASSES.index("N")


def like_dominant(labels: np.ndarray, template: np.ndarray, prematurity: np.ndarray,
                  shapes: np.ndarray, correlation: float, on_time: float) -> np.ndarray:
    """The labels with every V template whose median shape correlates at least
    ``correlation`` with the largest N template's, and that comes on time, called N."""
    out = labels.copy()
    n_ids, n_counts = np.unique(template[labels == "N"], return_counts=True)
    if not len(n_ids):
        return out
    dominant = np.median(shapes[template == n_ids[np.argmax(n_counts)]], axis=0)
    for t in np.unique(template[labels == "V"]):
        members = template == t
        shape = np.median(shapes[members], axis=0)
        r = np.corrcoef(shape, dominant)[0, 1]
        if r >= correlation and np.median(prematurity[members]) >= on_time:
            out[members] = "N"
    return out


def cinc(args) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    from beatscope.analysis import AnalysisOptions, analyze
    from beatscope.analysis.classifier_cache import ClassifierSpec, load_classifier
    from beatscope.io import Record
    from beatscope.segment import context_plan
    from beatscope.segment.templates import rhythm_coordinates

    with open(args.cinc / "REFERENCE.csv") as fh:
        normal = sorted(row[0] for row in csv.reader(fh) if row and row[1] == "N")
    rng = np.random.default_rng(args.seed)
    names = sorted(rng.choice(normal, size=min(args.n, len(normal)), replace=False).tolist())
    reader = load_reader(args.cinc)
    options = AnalysisOptions(classifier=load_classifier(ClassifierSpec()), rhythm_model=None)
    out = []
    for name in names:
        mv, fs = reader.load_record(name)
        record = Record(name, mv[:, None], float(fs), ["I"], ["mV"])
        result = analyze(record, options)
        r = result.beats.sample
        plan = context_plan(r, fs)
        prem = rhythm_coordinates(r, plan.median_rr_s[plan.anchor_of_beat], fs)[:, 0]
        _, shapes, _ = _plain_templates(record, result)
        out.append((result.beats.label, result.templates.beat_template, prem, shapes))
    return out


def false_v(records, **rule) -> tuple[float, float]:
    beats = v = over = 0
    for labels, template, prem, shapes in records:
        if rule:
            labels = like_dominant(labels, template, prem, shapes, **rule)
        n_v = int((labels == "V").sum())
        beats, v = beats + len(labels), v + n_v
        over += n_v / max(len(labels), 1) > OVER_CALLED_V
    return 1000.0 * v / max(beats, 1), 100.0 * over / max(len(records), 1)


def mitdb(cache: Path) -> dict[str, tuple]:
    from beatscope.segment import context_plan
    from beatscope.segment.templates import rhythm_coordinates

    out = {}
    for path in sorted(glob.glob(str(cache / "*-atr-*.pkl"))):
        c = pickle.loads(Path(path).read_bytes())
        plan = context_plan(c["sample"], 360.0)
        prem = rhythm_coordinates(c["sample"], plan.median_rr_s[plan.anchor_of_beat], 360.0)
        out[c["name"]] = (c["model_label"], c["template"], prem[:, 0], c["reference"],
                          c["shapes"])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cinc", type=Path, default=ROOT.parent / "shared" / "data" / "cinc2017")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--effort-cache", type=Path, default=ROOT / "runs" / "effort")
    args = ap.parse_args()
    records = cinc(args)
    mit = mitdb(args.effort_cache)
    base_v, base_over = false_v(records)
    print(f"CinC 2017 normal records: {len(records)}; MIT-BIH records cached: {len(mit)}")
    print("| correlation | on time | V per 1,000 (CinC normals) | records > 5 % V | "
          "MIT-BIH reference V called N | reference N called V corrected | records |")
    print("|---|---|---|---|---|---|---|")
    print(f"| (no rule) | | {base_v:.1f} | {base_over:.1f} % | 0 | 0 | |")
    for correlation in (0.8, 0.85, 0.9, 0.95):
        for on_time in (0.85, 0.9, 0.95):
            rule = {"correlation": correlation, "on_time": on_time}
            v, over = false_v(records, **rule)
            lost = fixed = 0
            where = []
            for name, (labels, template, prem, ref, shapes) in mit.items():
                after = like_dominant(labels, template, prem, shapes, **rule)
                changed = after != labels
                lost += int((changed & (ref == V)).sum())
                fixed += int((changed & (ref == N)).sum())
                if changed.any():
                    where.append(name)
            print(f"| {correlation} | {on_time} | {v:.1f} | {over:.1f} % | {lost} | {fixed} |"
                  f" {', '.join(where)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
