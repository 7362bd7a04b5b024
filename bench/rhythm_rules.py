"""Rule-based AF detector on MIT-BIH: episode and duration-weighted Se / +P.

Run on purpose, not in CI:

    python bench/rhythm_rules.py                        # reference beats and labels (seconds)
    python bench/rhythm_rules.py --engine unclassified  # + the engine's beats, no classifier
    python bench/rhythm_rules.py --engine classified --weights model_weights/validation-ds1

The reference AF episodes are the stretches of the ``.atr`` rhythm annotations
(``aux_note``) that start with ``(AFIB`` and run to the next rhythm change.

* ``reference``: the rules read the reference beat positions and their AAMI
  classes (MIT-BIH symbols mapped by ``beatscope.aami``); no unreadable stretches.
* ``reference_unlabelled``: the same beat positions with every label 'Q', as
  when no classifier ran.
* ``unclassified``: the whole engine (``analyze``, quality index, detector) with
  every beat 'Q', so the AF rule sees every RR interval.
* ``classified``: the engine with the beat classifier (``--weights``; the
  production set was trained on all of MIT-BIH, so only ``validation-ds1`` on
  DS2 records is a held-out figure).

Scoring (per record and pooled over records): a reference episode is detected if a
detected AF episode overlaps it (episode Se; also for the reference episodes of
30 s or more, the clinical definition of an AF episode); a detected episode is true if it
overlaps a reference one (episode +P); duration Se is the overlapped share of the
reference AF time, duration +P the overlapped share of the detected AF time.
Also prints the record-level confusion (AF anywhere in the record) and the time
``derive_rhythm`` takes on all 48 records' reference beats joined into one
24-h sequence.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

from beatscope.aami import SYMBOL_TO_AAMI  # noqa: E402
from beatscope.rhythm import derive_rhythm  # noqa: E402

DEFAULT_DB = ROOT.parent / "shared" / "data" / "mitdb"
#: de Chazal et al. 2004 test set (the inter-patient DS2 records).
DS2 = {"100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210", "212",
       "213", "214", "219", "221", "222", "228", "231", "232", "233", "234"}


@dataclass
class Score:
    ref_episodes: int = 0
    ref_found: int = 0
    ref_long: int = 0  # reference episodes of 30 s or more (the clinical AF episode)
    ref_long_found: int = 0
    det_episodes: int = 0
    det_true: int = 0
    ref_s: float = 0.0
    det_s: float = 0.0
    overlap_s: float = 0.0

    def add(self, other: Score) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def figures(self) -> dict:
        def pct(a: float, b: float) -> float | None:
            return round(100.0 * a / b, 2) if b > 0 else None

        return {"episode_se": pct(self.ref_found, self.ref_episodes),
                "episode_se_30s": pct(self.ref_long_found, self.ref_long),
                "episode_ppv": pct(self.det_true, self.det_episodes),
                "duration_se": pct(self.overlap_s, self.ref_s),
                "duration_ppv": pct(self.overlap_s, self.det_s),
                "ref_episodes": self.ref_episodes, "ref_episodes_30s": self.ref_long,
                "det_episodes": self.det_episodes,
                "ref_af_s": round(self.ref_s, 1), "det_af_s": round(self.det_s, 1)}


def reference_af(samples: np.ndarray, symbols: list[str], aux: list[str], fs: float,
                 duration_s: float) -> np.ndarray:
    """``(k, 2)`` start/end seconds of the reference AF episodes."""
    changes = [(s / fs, a.strip("\x00").strip()) for s, sym, a in zip(samples, symbols, aux,
                                                                       strict=True)
               if sym == "+" and a.strip("\x00").strip()]
    spans = []
    for i, (start, rhythm) in enumerate(changes):
        end = changes[i + 1][0] if i + 1 < len(changes) else duration_s
        if rhythm == "(AFIB" and end > start:
            spans.append((start, end))
    return np.asarray(spans, dtype=np.float64).reshape(-1, 2)


def overlap_s(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(len(a), len(b))`` overlap in seconds between two sets of spans."""
    lo = np.maximum(a[:, None, 0], b[None, :, 0])
    hi = np.minimum(a[:, None, 1], b[None, :, 1])
    return np.clip(hi - lo, 0.0, None)


def score(reference: np.ndarray, detected: np.ndarray) -> Score:
    both = overlap_s(reference, detected)
    found = (both > 0).any(axis=1)
    long = (reference[:, 1] - reference[:, 0]) >= 30.0
    return Score(ref_episodes=len(reference), ref_found=int(found.sum()),
                 ref_long=int(long.sum()), ref_long_found=int((found & long).sum()),
                 det_episodes=len(detected), det_true=int((both > 0).any(axis=0).sum()),
                 ref_s=float(np.sum(reference[:, 1] - reference[:, 0])),
                 det_s=float(np.sum(detected[:, 1] - detected[:, 0])),
                 overlap_s=float(both.sum()))


def af_episodes(rhythm: dict) -> np.ndarray:
    spans = [(e["start_s"], e["end_s"]) for e in rhythm["episodes"] if e["label"] == "AFIB"]
    return np.asarray(spans, dtype=np.float64).reshape(-1, 2)


def reference_beats(samples: np.ndarray, symbols: list[str]) -> tuple[np.ndarray, np.ndarray]:
    keep = [i for i, s in enumerate(symbols) if s in SYMBOL_TO_AAMI]
    return samples[keep], np.array([SYMBOL_TO_AAMI[symbols[i]] for i in keep], dtype="<U1")


def engine_rhythm(path: Path, classifier: object | None) -> dict:
    from beatscope.analysis import AnalysisOptions, analyze
    from beatscope.io import load_record

    result = analyze(load_record(path.with_suffix(".hea")),
                     AnalysisOptions(classifier=classifier))
    assert result.rhythm is not None
    return result.rhythm


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=DEFAULT_DB)
    parser.add_argument("--records", nargs="*", help="record names (default: all in --db)")
    parser.add_argument("--engine", choices=["unclassified", "classified"],
                        help="also score the engine's own beats")
    parser.add_argument("--weights", type=Path, help="weight set for --engine classified")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args()

    import wfdb

    names = args.records or sorted(p.stem for p in args.db.glob("*.hea"))
    if not names:
        print(f"no records in {args.db}", file=sys.stderr)
        return 1
    classifier = None
    if args.engine == "classified":
        from beatscope.models import BeatClassifier, default_weights_dir, load_weight_set

        classifier = BeatClassifier(load_weight_set(args.weights or default_weights_dir()))

    modes = ["reference", "reference_unlabelled"] + ([args.engine] if args.engine else [])
    pooled = {mode: Score() for mode in modes}
    pooled_ds2 = {mode: Score() for mode in modes}
    record_level = {mode: {"tp": 0, "fn": 0, "fp": 0, "tn": 0} for mode in modes}
    rows = []
    all_beats, all_labels, offset_s = [], [], 0.0
    rule_seconds = 0.0
    for name in names:
        header = wfdb.rdheader(str(args.db / name))
        fs, duration_s = float(header.fs), header.sig_len / float(header.fs)
        ann = wfdb.rdann(str(args.db / name), "atr")
        reference = reference_af(ann.sample, ann.symbol, ann.aux_note, fs, duration_s)
        samples, labels = reference_beats(ann.sample, ann.symbol)
        all_beats.append(samples / fs + offset_s)
        all_labels.append(labels)
        offset_s += duration_s

        row = {"record": name, "ref_af_s": round(float(np.sum(np.diff(reference))), 1)}
        for mode in modes:
            if mode == "reference":
                t = time.perf_counter()
                rhythm = derive_rhythm(samples, labels, fs, duration_s)
                rule_seconds += time.perf_counter() - t
            elif mode == "reference_unlabelled":
                unlabelled = np.full(len(samples), "Q")
                rhythm = derive_rhythm(samples, unlabelled, fs, duration_s)
            else:
                rhythm = engine_rhythm(args.db / name, classifier)
            json.dumps(rhythm, allow_nan=False)  # the contract: plain JSON
            detected = af_episodes(rhythm)
            s = score(reference, detected)
            pooled[mode].add(s)
            if name in DS2:
                pooled_ds2[mode].add(s)
            has_ref, has_det = len(reference) > 0, len(detected) > 0
            key = {(True, True): "tp", (True, False): "fn", (False, True): "fp",
                   (False, False): "tn"}[(has_ref, has_det)]
            record_level[mode][key] += 1
            row[mode] = {**s.figures(), "af_record_prob": rhythm["record"]["AFIB"]}
        rows.append(row)
        if row["ref_af_s"] > 0 or any(row[m]["det_episodes"] for m in modes):
            print(name, json.dumps({m: row[m] for m in modes}), flush=True)

    # 24 h of beats: every record's reference beats back to back at 360 Hz.
    joined = np.concatenate(all_beats)
    joined_labels = np.concatenate(all_labels)
    t = time.perf_counter()
    derive_rhythm(np.round(joined * 360).astype(np.int64), joined_labels, 360.0, offset_s)
    joined_seconds = time.perf_counter() - t

    summary = {
        "records": len(names),
        "pooled": {m: pooled[m].figures() for m in modes},
        "pooled_ds2": {m: pooled_ds2[m].figures() for m in modes},
        "record_level": record_level,
        "rules_seconds_all_records": round(rule_seconds, 3),
        "joined": {"beats": len(joined), "hours": round(offset_s / 3600, 2),
                   "derive_rhythm_s": round(joined_seconds, 3)},
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "records": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
