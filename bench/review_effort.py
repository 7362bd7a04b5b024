"""How many reviewer actions bring a record to agreement with the cardiologists' reference.

    python bench/review_effort.py                     # MIT-BIH DS2, DS1-only weights
    python bench/review_effort.py --db DIR --records 100 101 --weights model_weights
    python bench/review_effort.py --json runs/review_effort.json --cache runs/effort

Each record is analysed as the app does (``analyze``: detection, classification and
the morphology templates), its beats matched to the reference annotations
(``--ref-ext``, 150 ms), and a simulated reviewer who knows the reference
(``evaluate/review_oracle.py``) takes, at each step, the action that fixes the most
remaining errors. Rows, all from the same analyses in the same run:

* ``beat-by-beat``: one action per error (mislabelled, missed, false beat);
* ``plain k-means 30``: the plain Holter-style baseline, 30 k-means templates per
  record over the principal components of the band-passed beat shapes plus RR
  prematurity, no class split, no merge;
* ``templates``: BeatScope's templates (``segment/templates.py``);
* ``templates + learn``: the same, the reviewer also using "learn from my
  corrections" (``review/propagate.py``) whenever it fixes more than it breaks;
* ``... + spans``: the reviewer may also relabel or delete every beat of a time span
  (the viewer's Ctrl+drag band), one action each, with either template set.

Every template row may also delete a template (artefacts) and split one (2 actions
for the part it then relabels).

On MIT-BIH, records that ``--weights`` saw in training (its manifest's train and
validation records) are reviewed with the DS1-only weights instead, so that the figure
stays inter-patient, unless ``--any-weights``.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

from beatscope.analysis import AnalysisOptions, analyze  # noqa: E402
from beatscope.analysis.pipeline import lead_view  # noqa: E402
from beatscope.analysis.prematurity import PrematurityRule  # noqa: E402
from beatscope.dsp import TARGET_FS, denoise, map_samples, resample, resolve_powerline  # noqa: E402
from beatscope.evaluate.labelled import label_detected  # noqa: E402
from beatscope.evaluate.review_oracle import (  # noqa: E402
    CHECKPOINTS,
    ReviewCase,
    pooled_summary,
    simulate,
)
from beatscope.io import load_record  # noqa: E402
from beatscope.io.leads import select_model_leads  # noqa: E402
from beatscope.io.record import Annotations  # noqa: E402
from beatscope.models import BeatClassifier, load_weight_set  # noqa: E402
from beatscope.segment import context_plan  # noqa: E402
from beatscope.segment.templates import beat_shapes, embed, rhythm_coordinates  # noqa: E402
from beatscope.training import splits  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
PLAIN_K = 30


def trained_on(weights: Path) -> set[str] | None:
    """The MIT-BIH records a weight set saw in training or early stopping (its manifest's
    ``train`` and ``val`` records): reviewing them with it would not be inter-patient.
    None where its manifest does not say."""
    try:
        records = json.loads((weights / "manifest.json").read_text())["data"]["records"]
        return set(records.get("train", [])) | set(records.get("val", []))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def denoised_model_leads(record, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The model leads denoised and at 360 Hz, and the beats ``r`` on that grid, made
    as ``analyze`` makes them (which keeps neither)."""
    from beatscope.dsp import DENOISE_DEFAULT

    leads = select_model_leads(record.lead_names, 2)
    config = replace(DENOISE_DEFAULT, powerline=resolve_powerline(record.signals, record.fs,
                                                                  DENOISE_DEFAULT))
    clean = denoise(lead_view(record.signals, leads), record.fs, config)
    fs360 = record.fs
    if record.fs != TARGET_FS:
        clean, fs360 = resample(clean, record.fs, TARGET_FS)
    return clean, map_samples(r, record.fs, fs360, clean.shape[0])


def _plain_templates(record, result, seed: int = 0) -> np.ndarray:
    """The plain baseline: k-means (30) over PCA of the band-passed beats + prematurity."""
    from sklearn.cluster import KMeans

    r = result.beats.sample
    clean, r360 = denoised_model_leads(record, r)
    plan = context_plan(r, record.fs)
    rhythm = rhythm_coordinates(r, plan.median_rr_s[plan.anchor_of_beat], record.fs)
    shapes = beat_shapes(clean, r360)
    points = embed(shapes, rhythm[:, :1], seed)  # prematurity only
    k = min(PLAIN_K, len(r))
    plain = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(points)
    return plain, shapes, rhythm


def _annotations(path: Path, ext: str, fs: float) -> Annotations | None:
    """Reference beats from another annotator than ``atr``."""
    import wfdb

    try:
        ann = wfdb.rdann(str(path.with_suffix("")), ext)
    except FileNotFoundError:
        return None
    sample = np.asarray(ann.sample, np.int64)
    if ann.fs and float(ann.fs) != fs:
        sample = np.round(sample * fs / float(ann.fs)).astype(np.int64)
    return Annotations(sample, tuple(ann.symbol), ("",) * len(sample), ext)


def prepare(path: Path, classifier, cache: Path | None, ref_ext: str = "atr") -> dict:
    """One record analysed, matched to its reference, with both template sets."""
    key = None
    if cache is not None:
        import hashlib

        import beatscope.analysis.pipeline as engine_code
        import beatscope.analysis.prematurity as rule_code
        import beatscope.segment.templates as definition
        from beatscope.evaluate.labelled import engine_key

        # the weights, the template definition, the rule and the pipeline that feeds
        # it (their sources), the engine's options and context (engine_key) and the
        # rule's parameters (not in the options' repr) make an analysis
        sha = classifier.describe()["manifest_sha256"][:12]
        code = hashlib.sha256(Path(definition.__file__).read_bytes()
                              + Path(rule_code.__file__).read_bytes()
                              + Path(engine_code.__file__).read_bytes()
                              + engine_key().encode()
                              + repr(PrematurityRule()).encode()).hexdigest()[:8]
        key = cache / f"{path.stem}-{ref_ext}-{sha}-{code}.pkl"
        if key.exists():
            return pickle.loads(key.read_bytes())
    record = load_record(path)
    if ref_ext != "atr":
        record = replace(record, annotations=_annotations(path, ref_ext, record.fs))
    if record.annotations is None:
        raise SystemExit(f"{path}: no reference annotations")
    t = time.perf_counter()
    result = analyze(record, AnalysisOptions(classifier=classifier))
    seconds = time.perf_counter() - t
    reference, missed = label_detected(record, result.beats.sample)
    plain, shapes, rhythm = _plain_templates(record, result)
    case = {"name": record.name, "sample": result.beats.sample,
            "model_label": result.beats.label, "reference": reference,
            "probability": result.beats.probability,
            "missed": int(len(missed)), "template": result.templates.beat_template,
            "embedding": result.templates.embedding,
            "n_templates": len(result.templates.templates),
            "cluster_s": result.templates.seconds, "analysis_s": seconds,
            "plain": plain, "shapes": shapes, "rhythm": rhythm}
    if key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_bytes(pickle.dumps(case))
    return case


def run_variant(cases: list[dict], templates: str, propagation: bool,
                spans: bool = False) -> dict[str, dict]:
    out = {}
    for c in cases:
        case = ReviewCase(c["sample"], c["model_label"], c["reference"], c["missed"],
                          c[templates], c["embedding"])
        outcome = simulate(case, propagation=propagation, spans=spans)
        out[c["name"]] = outcome.figures()
        out[c["name"]]["first_actions"] = outcome.actions[:8]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--db", type=Path, default=SHARED / "mitdb")
    p.add_argument("--records", nargs="*", default=None,
                   help="record names (default: DS2 for MIT-BIH, else every record)")
    p.add_argument("--weights", type=Path, default=None,
                   help="weight set (default: model_weights/validation-ds1 on MIT-BIH DS2, "
                        "else the production set)")
    p.add_argument("--any-weights", action="store_true",
                   help="allow weights trained on the records being reviewed")
    p.add_argument("--ref-ext", default="atr", help="reference annotator (default atr)")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--cache", type=Path, default=None,
                   help="keep each record's analysis here between runs")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)

    if args.records is None:
        args.records = list(splits.DS2) if args.db.name == "mitdb" else sorted(
            h.stem for h in args.db.glob("*.hea"))
    weights = args.weights or (ROOT / "model_weights" / "validation-ds1"
                               if args.db.name == "mitdb" else ROOT / "model_weights")
    seen = set()
    if args.db.name == "mitdb":
        trained = trained_on(weights)
        seen = set(args.records) if trained is None else set(args.records) & trained
    if seen and not args.any_weights:
        fallback = ROOT / "model_weights" / "validation-ds1"
        if seen & (trained_on(fallback) or seen):
            also = "" if weights.resolve() == fallback.resolve() else f", and so was {fallback}"
            print(f"review_effort: {weights} may have been trained on "
                  f"{' '.join(sorted(seen))}{also}: the figure would not be inter-patient; "
                  "--any-weights to run it anyway", file=sys.stderr)
            return 2
        print(f"{weights} may have been trained on {' '.join(sorted(seen))}: "
              f"reviewing them with the DS1-only weights ({fallback}); "
              "--any-weights to override", file=sys.stderr)
        weights = fallback
    classifier = BeatClassifier(load_weight_set(weights, device="cpu"), device="cpu",
                                num_threads=args.threads)
    print(f"# review effort: {len(args.records)} records of {args.db}, weights {weights}",
          flush=True)
    cases = []
    for name in args.records:
        cases.append(prepare(args.db / f"{name}.hea", classifier, args.cache, args.ref_ext))
        c = cases[-1]
        print(f"  {name}: {len(c['sample'])} beats, {c['n_templates']} templates "
              f"({c['cluster_s']:.2f} s clustering, {c['analysis_s']:.1f} s analysis)",
              flush=True)

    variants = {"templates": ("template", False, False),
                "templates + learn": ("template", True, False),
                "plain k-means 30": ("plain", False, False),
                "templates+learn+spans": ("template", True, True),
                "plain + spans": ("plain", False, True)}
    results = {}
    for label, (templates, propagation, spans) in variants.items():
        t = time.perf_counter()
        per_record = run_variant(cases, templates, propagation, spans)
        results[label] = {"per_record": per_record, "pooled": pooled_summary(per_record),
                          "seconds": round(time.perf_counter() - t, 2)}

    _print_table(results, cases)
    if args.json:
        main_row = results["templates + learn"]
        payload = {"records": args.records, "with_propagation": True,
                   "per_record": main_row["per_record"], "pooled": main_row["pooled"],
                   "variants": {k: {"with_propagation": variants[k][1],
                                    "with_spans": variants[k][2], **v}
                                for k, v in results.items()},
                   "weights": str(weights),
                   "command": " ".join(["python", "bench/review_effort.py", *sys.argv[1:]])}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=1))
    return 0


def _print_table(results: dict, cases: list[dict]) -> None:
    first = next(iter(results.values()))["pooled"]
    print(f"\npooled agreement before review: {first['acc_before']:.2f} %  "
          f"({sum(len(c['sample']) for c in cases)} beats, {len(cases)} records)")
    print(f"beat-by-beat to 99.5 %: total {first['total_beat_by_beat_actions']}, "
          f"median {first['median_beat_by_beat_actions']} per record\n")
    head = (f"{'reviewer':<20} {'tot 99':>7} {'tot 99.5':>8} {'tot 99.9':>8} "
            f"{'med 99.5':>8} {'worst':>6} " + " ".join(f"{'acc@' + str(c):>8}"
                                                        for c in CHECKPOINTS))
    print(head)
    print(f"{'beat-by-beat':<20} {'':>7} {first['total_beat_by_beat_actions']:>8} {'':>8} "
          f"{first['median_beat_by_beat_actions']:>8}")
    for label, r in results.items():
        pooled = r["pooled"]
        tot = pooled["total_actions_to"]
        print(f"{label:<20} {str(tot['99']):>7} {str(tot['99.5']):>8} {str(tot['99.9']):>8} "
              f"{str(pooled['median_actions_to']['99.5']):>8} "
              f"{pooled['worst_actions_to_99.5']:>6} "
              + " ".join(f"{pooled['acc_after'][str(c)]:>8.2f}" for c in CHECKPOINTS))
    print("\nper record (actions to 99.5 %): record  beat-by-beat  " +
          "  ".join(results))
    for c in cases:
        name = c["name"]
        bb = results["templates"]["per_record"][name]["beat_by_beat_to"]["99.5"]
        cells = "  ".join(f"{str(r['per_record'][name]['actions_to']['99.5']):>6}"
                          for r in results.values())
        print(f"  {name:<6} {bb:>6}  {cells}")


if __name__ == "__main__":
    raise SystemExit(main())
