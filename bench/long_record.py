"""Long recordings: MIT-BIH records joined into one, scored against their joined reference.

Run on purpose, not in CI (about 13-20 min on 2 cores for both sets):

    python bench/long_record.py                 # the 48-record 24-h join and the DS2 join
    python bench/long_record.py --sets ds2      # only the inter-patient 11-h DS2 join
    python bench/long_record.py --json runs/long_record.json
    python bench/long_record.py --weights-all runs/production --weights-ds2 runs/validation-ds1
                                                # candidate weights, before they ship

A Holter record is one patient for 24 h, but its morphology still changes: the
electrodes are re-attached, the patient lies down. Joining different patients is
the hardest version of that test: a beat's label must not depend on beats hours
away. Each set is analysed twice in the same run, with the same weights:

* ``all``: the 48 records with the production weights (which trained on them: the
  comparison is join against separate, not a generalisation figure);
* ``ds2``: de Chazal's 22 DS2 records with the DS1-only weights (inter-patient).

First each record alone, through ``analyze`` as the app runs it; then the records
joined into one two-lead WFDB record (each record's leads in the order the app
picks for it, so both runs classify the same leads) with the reference annotations
joined the same way. Both are scored beat by beat against the reference (150 ms,
as ``beatscope evaluate classification``): accuracy, per-class Se/+P/F1, the
confusion matrix, the beats called per class, VT episodes (count, longest in beats)
and, for the join, the records whose accuracy moved by more than a point and the gap
on the beats farther than ``AWAY_S`` from every junction (what is not the junctions).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

from beatscope.aami import AAMI_CLASSES  # noqa: E402
from beatscope.analysis import AnalysisOptions, analyze  # noqa: E402
from beatscope.evaluate.classification import score_classification  # noqa: E402
from beatscope.evaluate.labelled import CLASS_INDEX, label_detected  # noqa: E402
from beatscope.io import load_record  # noqa: E402
from beatscope.io.leads import select_model_leads  # noqa: E402
from beatscope.models import BeatClassifier, load_weight_set  # noqa: E402
from beatscope.training import splits  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
SETS = {
    "all": ("48 MIT-BIH records, production weights", None),
    "ds2": ("DS2 (22 records), DS1-only weights", ROOT / "model_weights" / "validation-ds1"),
}
#: digital units per mV in the joined record (MIT-BIH's own gain)
GAIN = 200.0
#: Beats this far from every junction are beyond the patient context's reach (95 s)
#: and the prematurity rule's memory (90 intervals): the gap there is what does not
#: come from the junctions themselves.
AWAY_S = 120.0


def build_joined(db: Path, names: list[str], folder: Path, stem: str) -> tuple[Path, list]:
    """Write ``folder/stem.hea/.dat/.atr``: the records end to end (format 16, two leads
    in each record's model-lead order) with every reference annotation shifted by the
    record's offset. Returns the header path and each record's (name, first, end)."""
    import wfdb

    parts, spans, ann_sample, ann_symbol, ann_aux = [], [], [], [], []
    offset = 0
    fs = None
    for name in names:
        rec = wfdb.rdrecord(str(db / name))
        if fs is None:
            fs = rec.fs
        elif rec.fs != fs:
            raise ValueError(f"{name}: {rec.fs} Hz, the join is at {fs} Hz")
        order = select_model_leads(rec.sig_name, 2)
        sig = np.nan_to_num(rec.p_signal[:, order])
        parts.append(np.clip(np.round(sig * GAIN), -32767, 32767).astype("<i2"))
        ann = wfdb.rdann(str(db / name), "atr")
        ann_sample.append(ann.sample + offset)
        ann_symbol += list(ann.symbol)
        ann_aux += [a or "" for a in ann.aux_note]
        spans.append((name, offset, offset + len(sig)))
        offset += len(sig)
    np.concatenate(parts).tofile(folder / f"{stem}.dat")
    (folder / f"{stem}.hea").write_text(
        f"{stem} 2 {fs:g} {offset}\n"
        + "".join(f"{stem}.dat 16 {GAIN:g}/mV 16 0 0 0 0 ECG{i + 1}\n" for i in range(2)))
    wfdb.wrann(stem, "atr", np.concatenate(ann_sample), symbol=ann_symbol,
               aux_note=ann_aux, fs=fs, write_dir=str(folder))
    return folder / f"{stem}.hea", spans


def _vt(rhythm: dict, samples: np.ndarray, fs: float) -> tuple[int, int]:
    """VT episodes: count and the longest in beats."""
    vt = [e for e in rhythm["episodes"] if e["label"] == "VT"]
    t = samples / fs
    longest = max((int(((t >= e["start_s"]) & (t <= e["end_s"])).sum()) for e in vt), default=0)
    return len(vt), longest


def run_analysis(path: Path, options: AnalysisOptions) -> dict:
    record = load_record(path)
    t0 = time.perf_counter()
    result = analyze(record, options)
    seconds = time.perf_counter() - t0
    det = result.beats.sample
    label, missed = label_detected(record, det)
    pred = np.array([CLASS_INDEX[c] for c in result.beats.label], dtype=np.int8)
    vt, longest = _vt(result.rhythm, det, record.fs)
    return {"score": score_classification(label, pred, missed), "label": label, "pred": pred,
            "sample": det, "called": {c: int((result.beats.label == c).sum())
                                      for c in AAMI_CLASSES},
            "vt": vt, "vt_longest": longest, "seconds": seconds, "fs": record.fs}


def per_record_accuracy(label: np.ndarray, pred: np.ndarray, sample: np.ndarray,
                        first: int, end: int) -> float:
    keep = (sample >= first) & (sample < end) & (label >= 0)
    return float((label[keep] == pred[keep]).mean() * 100) if keep.any() else float("nan")


def away_from_junctions(separate: dict, joined: dict, spans: list) -> dict:
    """Both runs scored on the detected beats farther than AWAY_S from every junction
    (missed beats left out of both: their positions are not kept)."""
    none = np.zeros(0, np.int8)
    sep_parts, join_parts = [], []
    away = AWAY_S * joined["fs"]  # samples
    for k, (name, first, end) in enumerate(spans):
        lo = away if k > 0 else 0.0
        hi = (end - first) - (away if k < len(spans) - 1 else 0.0)
        alone = separate[name]
        keep = (alone["sample"] >= lo) & (alone["sample"] < hi) & (alone["label"] >= 0)
        sep_parts.append((alone["label"][keep], alone["pred"][keep]))
        at = joined["sample"] - first
        keep = (at >= lo) & (at < hi) & (joined["label"] >= 0)
        join_parts.append((joined["label"][keep], joined["pred"][keep]))
    scores = [score_classification(np.concatenate([p[0] for p in parts]),
                                   np.concatenate([p[1] for p in parts]), none)
              for parts in (sep_parts, join_parts)]
    gap = {"accuracy": scores[1].accuracy - scores[0].accuracy}
    gap.update({f"F1 {c}": scores[1].f1(k) - scores[0].f1(k)
                for k, c in enumerate(AAMI_CLASSES)})
    return {"away_s": AWAY_S, "beats": int(sum(len(p[0]) for p in sep_parts)),
            "separate": scores[0].as_dict(), "joined": scores[1].as_dict(), "gap": gap}


def row(title: str, score, called: dict, vt: int, vt_longest: int, seconds: float) -> str:
    f1 = " / ".join(f"{score.sensitivity(k):.1f} {score.ppv(k):.1f} {score.f1(k):.1f}"
                    for k in range(len(AAMI_CLASSES)))
    counts = " ".join(f"{c} {called[c]}" for c in AAMI_CLASSES)
    return (f"| {title} | {score.accuracy:.2f} | {f1} | {counts} | {vt} ({vt_longest}) "
            f"| {seconds:.0f} |")


def run_set(key: str, db: Path, keep: Path | None, only: list[str] | None = None,
            weights: Path | None = None) -> dict:
    """``weights``: another weight set than the set's own (a candidate, before it ships)."""
    title, shipped = SETS[key]
    if weights is None:
        weights = shipped
    else:
        title = f"{title.rsplit(',', 1)[0]}, weights {weights}"
    names = (sorted(p.stem for p in db.glob("*.atr")) if key == "all"
             else list(splits.DS2))
    names = [n for n in names if not only or n in only]
    options = AnalysisOptions(classifier=BeatClassifier(load_weight_set(weights), device="cpu"))
    print(f"\n## {title}: {len(names)} records", flush=True)

    separate = {}
    for name in names:
        separate[name] = run_analysis(db / f"{name}.hea", options)
        print(f"  {name}: {separate[name]['score'].accuracy:.2f} %", file=sys.stderr,
              flush=True)
    sep_score = sum((r["score"] for r in separate.values()),
                    start=score_classification(np.zeros(0, np.int8), np.zeros(0, np.int8),
                                               np.zeros(0, np.int8)))
    sep_called = {c: sum(r["called"][c] for r in separate.values()) for c in AAMI_CLASSES}

    with tempfile.TemporaryDirectory() as tmp:
        folder = keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        hea, spans = build_joined(db, names, folder, f"joined_{key}")
        joined = run_analysis(hea, options)
    hours = spans[-1][2] / joined["fs"] / 3600

    print(f"\nSe +P F1 per class ({' / '.join(AAMI_CLASSES)}); beats called per class; "
          "VT episodes (longest, beats); analysis seconds")
    print("| run | accuracy % | Se +P F1 per class | beats called | VT episodes | s |")
    print("|---|---|---|---|---|---|")
    print(row(f"{len(names)} records one by one", sep_score, sep_called,
              sum(r["vt"] for r in separate.values()),
              max(r["vt_longest"] for r in separate.values()),
              sum(r["seconds"] for r in separate.values())))
    print(row(f"joined, {hours:.1f} h", joined["score"], joined["called"], joined["vt"],
              joined["vt_longest"], joined["seconds"]))
    gap = {"accuracy": joined["score"].accuracy - sep_score.accuracy}
    gap.update({f"F1 {c}": joined["score"].f1(k) - sep_score.f1(k)
                for k, c in enumerate(AAMI_CLASSES)})
    print("joined - separate: " + ", ".join(f"{k} {v:+.2f}" for k, v in gap.items()))

    moved = []
    for name, first, end in spans:
        acc = per_record_accuracy(joined["label"], joined["pred"], joined["sample"], first, end)
        alone = separate[name]["score"].accuracy
        if abs(acc - alone) > 1.0:
            moved.append(f"{name} {alone:.1f} -> {acc:.1f}")
    print("records whose accuracy moved by more than 1 point in the join: "
          + (", ".join(moved) if moved else "none"))
    away = away_from_junctions(separate, joined, spans)
    print(f"beats farther than {AWAY_S:.0f} s from every junction ({away['beats']} detected "
          "beats, the same in both runs): joined - separate: "
          + ", ".join(f"{k} {v:+.2f}" for k, v in away["gap"].items()))
    print("\njoined confusion matrix:\n" + joined["score"].table())
    return {"title": title, "hours": round(hours, 2), "separate": sep_score.as_dict(),
            "joined": joined["score"].as_dict(), "gap": gap, "moved": moved,
            "away_from_junctions": away,
            "called": {"separate": sep_called, "joined": joined["called"]},
            "vt": {"separate": sum(r["vt"] for r in separate.values()),
                   "joined": joined["vt"], "joined_longest": joined["vt_longest"]}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, default=SHARED / "mitdb")
    ap.add_argument("--sets", default="all,ds2", help="comma-separated: all, ds2")
    ap.add_argument("--keep", type=Path, default=None,
                    help="write the joined records here instead of a temporary folder")
    ap.add_argument("--records", nargs="*", default=None,
                    help="only these records of each set (a quick check of the bench)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    ap.add_argument("--weights-all", type=Path, default=None,
                    help="score this weight set on the 48 records instead of the production set")
    ap.add_argument("--weights-ds2", type=Path, default=None,
                    help="score this DS1-only weight set on DS2 instead of the shipped one")
    args = ap.parse_args()
    other = {"all": args.weights_all, "ds2": args.weights_ds2}
    if not args.db.is_dir():
        print(f"long_record: {args.db}: not a folder (MIT-BIH is in ../shared/data/mitdb)")
        return 2
    out = {key: run_set(key, args.db, args.keep, args.records, other.get(key))
           for key in args.sets.split(",") if key}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
