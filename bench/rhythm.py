"""Rhythm model benchmark: CinC 2017 cross-validation tables, MIT-BIH AF episodes
on held-out records, and the 24-h inference time.

Run on purpose, not in CI (it reads ../shared/data):

    python bench/rhythm.py --cv runs/rhythm-cv                 # tables from a CV run
    python bench/rhythm.py --cv runs/rhythm-cv --skip-24h
    python bench/rhythm.py --cv RUN0 RUN1 RUN2 --skip-24h      # an ensemble's members
    python bench/rhythm.py --skip-cv --weights model_weights/rhythm   # 24-h timing only

``--cv DIR`` is the ``--out`` of ``beatscope train-rhythm --folds K``: each
``DIR/folds/<k>/`` holds that fold's scores on its CinC test records and its
model's window probabilities over the MIT-BIH records of that fold (records the
model never trained on: inter-patient). Several runs (the members of an ensemble,
trained with one ``--split-seed``) are scored as ``combine-rhythm`` combines them:
mean logits, mean threshold logits. The MIT-BIH AF episodes are scored as in
``bench/rhythm_rules.py`` (same functions), with reference beats and their AAMI
labels as input, four ways: the rules alone, the rules fused with the model
(``derive_rhythm(..., model=...)``, as ``analyze`` runs it), the model alone
(hysteresis on its AFIB window probability, same episode policy), and the
rules alone / fused with every beat label 'Q'.

The 24-h record is the 48 MITDB records joined (``bench/detection.py``'s
``build_24h``); the timing covers what ``analyze`` adds for the model: lead
choice, resampling to 100 Hz, windowing and the network (best of 2 runs).
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
sys.path.insert(0, str(ROOT / "bench"))

from beatscope.rhythm import DEFAULT_CONFIG, ModelWindows, derive_rhythm  # noqa: E402
from beatscope.rhythm.episodes import hysteresis_episodes  # noqa: E402
from beatscope.rhythm.model.inference import mean_in_logits  # noqa: E402
from beatscope.rhythm.scores import sigmoid  # noqa: E402
from beatscope.training.rhythm_cv_scores import fold_test_scores  # noqa: E402
from beatscope.training.rhythm_metrics import logit  # noqa: E402
from detection import build_24h  # noqa: E402
from rhythm_rules import Score, af_episodes, reference_af, reference_beats, score  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def cv_tables(cv_dirs: list[Path], folds: int) -> dict:
    from beatscope.training.rhythm_cv_scores import pooled_cv

    cv = pooled_cv(cv_dirs, folds)
    if cv is None:
        print(f"no finished folds under {', '.join(f'{d}/folds' for d in cv_dirs)}")
        return {}
    print(f"\nCinC 2017, record-wise {folds}-fold CV, folds present: {cv['folds_present']}")
    print("| fold | records | F1 N | F1 A | F1 O | F1 ~ | mean F1 (N,A,O) | Hamming loss "
          "| macro-AUPRC | micro-F1 | subset acc. |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")

    def line(name, r):
        f = r["f1"]
        print(f"| {name} | {r.get('records', '')} | {f['N']:.3f} | {f['A']:.3f} | {f['O']:.3f} "
              f"| {f['~']:.3f} | **{r['challenge_f1_nao']:.3f}** | {r['hamming_loss']:.4f} "
              f"| {r['macro_auprc']:.3f} | {r['micro_f1']:.3f} | {r['subset_accuracy']:.3f} |")

    for r in cv["per_fold"]:
        line(str(r["fold"]), r)
    line("pooled", cv["pooled"])
    line("mean of folds", {**cv["mean_of_folds"], "records": ""})
    print("pooled confusion (rows true N A O ~, columns predicted):", cv["pooled"]["confusion"])
    print("\nMIT-BIH windows of the held-out records (labels N/AFIB/OTHER, 2.5-s stride):")
    for r in cv["per_fold"]:
        print(f"  fold {r['fold']}: {r['mitdb_test_windows']}")
    return cv


def mit_episodes(cv_dirs: list[Path], folds: int, db: Path,
                 afib_at_threshold: bool = False) -> dict:
    """``afib_at_threshold``: shift the AFIB window probability by its tuned threshold's
    logit (the threshold then reads 0.5, the episodes' entry level) before the fusion;
    by default it enters the fusion raw, as ``analyze`` does."""
    import wfdb

    modes = ["rules", "rules+model", "model", "rules_unlabelled", "rules_unlabelled+model"]
    pooled = {m: Score() for m in modes}
    per_record = []
    policy = DEFAULT_CONFIG.episodes["AFIB"]
    for k in range(folds):
        fdirs = [d / "folds" / str(k) for d in cv_dirs]
        if not all((f / "result.json").is_file() for f in fdirs):
            continue
        res = [json.loads((f / "result.json").read_text()) for f in fdirs]
        if any(r["mitdb_test_records"] != res[0]["mitdb_test_records"] for r in res):
            raise SystemExit(f"fold {k}: the runs hold out different MIT-BIH records")
        zs = [np.load(f / "mitdb_test_windows.npz") for f in fdirs]
        if afib_at_threshold:  # the fold's tuned thresholds, as the ensemble averages them
            thresholds = fold_test_scores(cv_dirs, k)[3]
        labels = list(json.loads((fdirs[0] / "manifest.json").read_text())["classes"])
        for name in res[0]["mitdb_test_records"]:
            header = wfdb.rdheader(str(db / name))
            fs, duration_s = float(header.fs), header.sig_len / float(header.fs)
            ann = wfdb.rdann(str(db / name), "atr")
            reference = reference_af(ann.sample, ann.symbol, ann.aux_note, fs, duration_s)
            samples, beat_labels = reference_beats(ann.sample, ann.symbol)
            probs = mean_in_logits([z[f"{name}/probs"] for z in zs])
            if afib_at_threshold:
                probs = sigmoid(logit(probs) - logit(thresholds)[None, :])
            windows = ModelWindows(zs[0][f"{name}/start_s"], zs[0][f"{name}/end_s"],
                                   {"AFIB": probs[:, labels.index("AFIB")].astype(np.float64)})
            q = np.full(len(samples), "Q")
            detected = {
                "rules": af_episodes(derive_rhythm(samples, beat_labels, fs, duration_s)),
                "rules+model": af_episodes(derive_rhythm(samples, beat_labels, fs, duration_s,
                                                         model=windows)),
                "model": np.array([(e.start_s, e.end_s) for e in hysteresis_episodes(
                    "AFIB", windows.track("AFIB"), policy)], np.float64).reshape(-1, 2),
                "rules_unlabelled": af_episodes(derive_rhythm(samples, q, fs, duration_s)),
                "rules_unlabelled+model": af_episodes(derive_rhythm(samples, q, fs, duration_s,
                                                                    model=windows)),
            }
            row = {"record": name, "fold": k,
                   "ref_af_s": round(float(np.sum(np.diff(reference))), 1)}
            for m in modes:
                s = score(reference, detected[m])
                pooled[m].add(s)
                row[m] = round(s.det_s, 1)
            per_record.append(row)
    if not per_record:
        return {}
    print(f"\nMIT-BIH AF episodes, {len(per_record)} records each scored by the fold model "
          f"that never saw it (reference beats as input)")
    print("| input | episode Se % (all / >= 30 s) | episode +P % | duration Se % | "
          "duration +P % | detected AF s |")
    print("|---|---|---|---|---|---|")
    out = {}
    for m in modes:
        f = pooled[m].figures()
        out[m] = f
        print(f"| {m} | {f['episode_se']} / {f['episode_se_30s']} | {f['episode_ppv']} | "
              f"{f['duration_se']} | {f['duration_ppv']} | {f['det_af_s']} |")
    print("\nper record, detected AF seconds (reference AF s in brackets), records with any:")
    print("| record (fold) | " + " | ".join(modes) + " |")
    print("|---|" + "---|" * len(modes))
    for r in per_record:
        if r["ref_af_s"] > 0 or any(r[m] for m in modes):
            print(f"| {r['record']} ({r['fold']}) [{r['ref_af_s']}] | "
                  + " | ".join(f"{r[m]:.0f}" for m in modes) + " |")
    return {"pooled": out, "per_record": per_record}


def time_24h(weights: Path | None, db: Path) -> dict:
    import torch

    from beatscope.io import load_record
    from beatscope.rhythm.model import RhythmModel

    out = {"torch_threads": torch.get_num_threads()}
    with tempfile.TemporaryDirectory() as tmp:
        rec = load_record(build_24h(db, Path(tmp)))
        out["hours"] = round(rec.duration_s / 3600, 2)
        for precision in ("bf16", "fp32"):
            model = RhythmModel.load(weights, precision=precision)
            best = float("inf")
            for _ in range(2):
                t = time.perf_counter()
                windows = model.windows(rec.signals, rec.fs, rec.lead_names)
                best = min(best, time.perf_counter() - t)
            out[precision] = {"seconds": round(best, 2), "windows": len(windows.start_s)}
            # rules + model on the joined record's reference beats (reference_af's input)
        print(f"\n24-h record ({out['hours']} h, 2 leads, 360 Hz), rhythm model inference "
              f"(lead choice, resampling, {out['bf16']['windows']} windows, network), "
              f"best of 2: bf16 {out['bf16']['seconds']} s, fp32 {out['fp32']['seconds']} s")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cv", type=Path, nargs="+", metavar="RUN",
                        help="output folder of a train-rhythm CV run; several: an ensemble")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--db", type=Path, default=SHARED / "mitdb")
    parser.add_argument("--weights", type=Path, default=None,
                        help="rhythm weight set for the 24-h timing (default: shipped)")
    parser.add_argument("--skip-cv", action="store_true")
    parser.add_argument("--skip-24h", action="store_true")
    parser.add_argument("--afib-at-threshold", action="store_true",
                        help="MIT-BIH episodes: AFIB probability shifted so that its tuned "
                             "threshold reads 0.5 (an alternative fusion; not what analyze does)")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args()
    figures: dict = {}
    if not args.skip_cv and args.cv is not None:
        figures["cinc_cv"] = cv_tables(args.cv, args.folds)
        figures["mitdb_af"] = mit_episodes(args.cv, args.folds, args.db,
                                           afib_at_threshold=args.afib_at_threshold)
    if not args.skip_24h:
        figures["inference_24h"] = time_24h(args.weights, args.db)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
