"""The template clustering on a 24-hour record: time, count, purity against the reference.

    python bench/templates_24h.py [--mitdb ../shared/data/mitdb] [--cache runs/holter24.pkl]

The 48 MIT-BIH records joined into one 24-h two-lead record with their joined
reference annotations (``bench/long_record.build_joined``). The beats and labels come
from the engine (``--cache``: the result kept by bench/review_viewer.py or
bench/report.py, else analysed here, about 3 min on 2 cores; the templates are added
to a cached result that lacks them, for bench/review_viewer.py); the denoised model
leads are rebuilt as the engine makes them, then ``cluster_templates``, the
analysis's own template step, is timed. Beside it, in the same run, the plain
baseline's k-means (30 clusters, no class split, no merge) over the same embedding.
Also printed: templates per class, and the share of beats whose template's majority
reference class is their own (the purity a template relabel can reach).
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))
sys.path.insert(0, str(ROOT / "bench"))

from beatscope.aami import AAMI_CLASSES  # noqa: E402
from beatscope.evaluate.labelled import label_detected  # noqa: E402
from beatscope.io import load_record  # noqa: E402
from beatscope.segment import context_plan  # noqa: E402
from beatscope.segment.templates import cluster_templates  # noqa: E402
from long_record import build_joined  # noqa: E402
from review_effort import denoised_model_leads  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mitdb", type=Path, default=ROOT.parent / "shared" / "data" / "mitdb")
    p.add_argument("--cache", type=Path, default=ROOT / "runs" / "holter24.pkl")
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        names = sorted(h.stem for h in args.mitdb.glob("*.hea"))  # as the other 24-h benches
        path, _ = build_joined(args.mitdb, names, Path(tmp), "mitdb24h")
        record = load_record(path)
        result = _result(record, args.cache)
        r = result.beats.sample
        print(f"# 24-h joined record: {record.duration_s / 3600:.1f} h, {len(r)} beats")
        clean, r360 = denoised_model_leads(record, r)
        plan = context_plan(r, record.fs)
        local_rr = plan.median_rr_s[plan.anchor_of_beat]
        t = time.perf_counter()
        ts = cluster_templates(clean, r360, r, record.fs, local_rr, result.beats.label,
                               result.beats.probability)
        ours = time.perf_counter() - t
        from sklearn.cluster import KMeans

        t = time.perf_counter()
        plain = KMeans(n_clusters=30, n_init=3, random_state=0).fit_predict(ts.embedding)
        baseline = time.perf_counter() - t
        reference, _ = label_detected(record, r)
        if result.templates is None and args.cache is not None:
            # kept for bench/review_viewer.py, which times the Templates tab on it
            result.templates = ts
            with open(args.cache, "wb") as fh:
                pickle.dump({"n_samples": record.n_samples, "result": result}, fh)
    print(f"cluster_templates: {ours:.2f} s for {len(r)} beats "
          f"({len(r) / ours / 1000:.0f} k beats/s); plain k-means 30 over the same "
          f"embedding: {baseline:.2f} s (ratio {ours / baseline:.2f})")
    per_class = {c: sum(t.label == c for t in ts.templates) for c in AAMI_CLASSES}
    print(f"templates: {len(ts.templates)} ({', '.join(f'{c} {n}' for c, n in per_class.items())})")
    for name, groups in (("templates", ts.beat_template), ("plain k-means 30", plain)):
        print(f"{name:<18} majority-class purity {100 * _purity(groups, reference):.2f} %")
    _time_propagation(ts, r, result.beats.label, result.beats.probability, reference)
    return 0


def _time_propagation(ts, samples, labels, probability, reference) -> None:
    """A reviewer who relabelled the 5 templates a relabel helps most (to their
    majority reference class): time 'similar beats' after the last one and 'learn
    from my corrections' over the whole record, and score what they propose."""
    from beatscope.review.propagate import BeatEmbedding, learn_from_corrections, similar_beats
    from beatscope.review.store import SOURCES, BeatRows

    rows = BeatRows.from_model(samples, labels, probability)
    truth = np.where(reference >= 0, np.array(AAMI_CLASSES)[np.maximum(reference, 0)], "")
    gains = []
    for t in ts.templates:
        members = ts.members(t.id)
        known = truth[members][truth[members] != ""]
        if len(known) == 0:
            continue
        values, counts = np.unique(known, return_counts=True)
        best = values[np.argmax(counts)]
        gains.append((int(counts.max() - (known == labels[members][truth[members] != ""]).sum()),
                      t.id, str(best)))
    gains.sort(reverse=True)
    last = None
    for _, tid, label in gains[:5]:
        members = ts.members(tid)
        rows.reviewer_label[members] = label
        rows.source[members] = SOURCES.index("reviewer")
        last = (members, set(labels[members].tolist()))
    embedding = BeatEmbedding(np.asarray(samples, np.int64), ts.embedding)
    t0 = time.perf_counter()
    similar = similar_beats(embedding, rows, rows.sample[last[0]], last[1])
    t_similar = time.perf_counter() - t0
    t0 = time.perf_counter()
    learned = learn_from_corrections(embedding, rows)
    t_learn = time.perf_counter() - t0
    for name, proposal, secs in (("similar beats", similar, t_similar),
                                 ("learn from my corrections", learned, t_learn)):
        fixed = broken = 0
        for label, proposed in proposal.by_label.items():
            idx = np.searchsorted(samples, proposed)
            fixed += int((truth[idx] == label).sum())
            broken += int(((truth[idx] != label) & (truth[idx] == rows.label[idx])).sum())
        print(f"{name}: {secs:.2f} s after relabelling 5 templates "
              f"({int((rows.source == 1).sum())} beats); proposes {proposal.count} beats: "
              f"{fixed} right by the reference, {broken} that were right before")


def _purity(groups: np.ndarray, reference: np.ndarray) -> float:
    matched = reference >= 0
    right = 0
    for g in np.unique(groups[matched]):
        right += np.bincount(reference[matched & (groups == g)]).max()
    return right / max(1, matched.sum())


def _result(record, cache: Path):
    if cache.exists():
        with open(cache, "rb") as fh:
            stored = pickle.load(fh)
        if stored["n_samples"] == record.n_samples:
            return stored["result"]
    from beatscope.analysis import AnalysisOptions, analyze
    from beatscope.analysis.classifier_cache import ClassifierSpec, load_classifier

    print("analysing the 24-h record (about 3 min on 2 cores)...", flush=True)
    return analyze(record, AnalysisOptions(classifier=load_classifier(ClassifierSpec())))


if __name__ == "__main__":
    raise SystemExit(main())
