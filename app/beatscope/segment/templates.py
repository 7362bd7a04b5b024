"""Morphology templates: a record's beats grouped by shape, within each class.

A Holter reviewer does not read 100,000 beats; they read a few dozen templates and
relabel a whole template at once. Templates are made in three steps:

1. **Beat shape** (:func:`beat_shapes`): each beat's QRS complex and the start of
   its T wave, a fixed window around the R peak on the denoised 360-Hz signal of
   the model leads, its PR-segment level subtracted, scaled by the record's
   typical QRS size. Fixed, not the classifier's RR-dependent window: two beats of
   one shape must look alike whatever their rate.
2. **Embedding** (:func:`embed`): the shapes' principal components (fitted on the
   record itself), beside the beat's **prematurity** (its pre-RR against the local
   rhythm) and its post/pre RR ratio (shape alone cannot tell a premature atrial
   beat from a sinus beat: their QRS are the same), and the classifier's class
   probabilities (its mistakes gather among the beats it was unsure of).
3. **Clustering** (:func:`cluster_templates`), within each class the classifier
   gave: k-means (scikit-learn's MiniBatchKMeans) into micro-clusters, then
   micro-clusters merged (complete linkage) while their median shapes correlate at
   least :data:`MERGE_CORRELATION` and their prematurity differs by less than
   :data:`MERGE_PREMATURITY`. Complete linkage: every pair in a template meets the
   criterion, not only a chain of neighbours.

The embedding is kept with the result: the review uses it to find beats like the
ones a reviewer corrected (``review/propagate.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from beatscope.aami import AAMI_CLASSES

#: Sampling rate the shapes are taken at (the engine's resampled signal).
FS = 360.0
#: Shape window around the R peak (s): the QRS and the ST segment.
SHAPE_BEFORE_S, SHAPE_AFTER_S = 0.10, 0.20
#: Every other sample: 180 Hz is ample for a QRS and halves the work.
SHAPE_STEP = 2
#: PR-segment level subtracted from each beat: median of this span before R (s).
BASELINE_SPAN_S = (0.10, 0.06)
#: The card's waveform: a longer window (P to T) at a reduced rate.
WAVE_BEFORE_S, WAVE_AFTER_S, WAVE_FS = 0.25, 0.45, 90.0
#: Principal components of the shape kept in the embedding.
COMPONENTS = 12
#: Beats the PCA and each micro-cluster's median are estimated from (at most).
FIT_SAMPLE = 20_000
MEDIAN_SAMPLE = 300
#: Weight of the rhythm coordinates against the first principal component's spread:
#: a beat 30 % early is as far from its sinus twin as one standard deviation of
#: shape (chosen on DS1: 1, 2, 3 and 4 tried; bench/review_effort.py).
RR_WEIGHT = 3.0
#: Micro-clusters per class: about 2 sqrt(count), within these bounds (chosen on
#: DS1 against sqrt(count): finer micro-clusters, merged again, are purer).
MICRO_PER_ROOT, MICRO_MIN, MICRO_MAX = 2.0, 1, 150
#: Weight of the classifier's probabilities in the embedding, against the same spread.
PROBABILITY_WEIGHT = 6.0
#: Merge criterion (chosen on DS1, bench/review_effort.py).
MERGE_CORRELATION = 0.95
MERGE_PREMATURITY = 0.12
#: Recorded with the templates so that a saved set can be told from a newer definition.
TEMPLATES_VERSION = "shape-rr-kmeans/1"


@dataclass
class Template:
    id: int
    label: str  # the class of most of its beats when it was made
    count: int
    class_counts: dict[str, int]
    mean_probability: float | None  # members' mean probability of their class
    purity: float  # members' mean correlation to the median shape
    typical_beat: int  # index of the member closest to the centroid
    prematurity: float  # members' median pre-RR / local RR
    waveform: np.ndarray  # (leads, L) median P-to-T waveform at WAVE_FS, mV


@dataclass
class TemplateSet:
    """Templates of one record: ``beat_template[i]`` is beat i's template id."""

    templates: list[Template]
    beat_template: np.ndarray  # (n_beats,) int32
    embedding: np.ndarray  # (n_beats, d) float32
    seconds: float = 0.0

    def members(self, template_id: int) -> np.ndarray:
        return np.flatnonzero(self.beat_template == template_id)

    def by_id(self, template_id: int) -> Template:
        for t in self.templates:
            if t.id == template_id:
                return t
        raise KeyError(template_id)

    def to_json(self, lead_names: list[str]) -> dict:
        return {
            "version": TEMPLATES_VERSION,
            "waveform_fs": WAVE_FS,
            "waveform_start_s": -WAVE_BEFORE_S,
            "templates": [{
                "id": t.id, "class": t.label, "count": t.count,
                "class_counts": t.class_counts,
                "mean_probability": None if t.mean_probability is None
                else round(t.mean_probability, 4),
                "purity": round(t.purity, 4), "prematurity": round(t.prematurity, 3),
                "typical_beat": t.typical_beat,
                "median": {name: np.round(t.waveform[k], 4).tolist()
                           for k, name in enumerate(lead_names[:len(t.waveform)])},
            } for t in self.templates],
        }


def _offsets(before_s: float, after_s: float, step: int) -> np.ndarray:
    return np.arange(-int(round(before_s * FS)), int(round(after_s * FS)), step)


def _gather(x: np.ndarray, r: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(n, leads, len(offsets)) samples of ``x`` (samples, leads) around ``r``,
    clamped at the record's ends."""
    idx = np.clip(r[:, None] + offsets[None, :], 0, len(x) - 1)
    return np.ascontiguousarray(x[idx].transpose(0, 2, 1), dtype=np.float32)


def beat_shapes(x360: np.ndarray, r360: np.ndarray) -> np.ndarray:
    """(n, leads * L) shape vectors, baseline-free, in units of the record's typical QRS."""
    r = np.asarray(r360, np.int64)
    if len(r) == 0:
        return np.zeros((0, 0), np.float32)
    shapes = _gather(x360, r, _offsets(SHAPE_BEFORE_S, SHAPE_AFTER_S, SHAPE_STEP))
    lo, hi = (int(round(s * FS)) for s in BASELINE_SPAN_S)
    base = np.median(_gather(x360, r, np.arange(-lo, -hi)), axis=2, keepdims=True)
    shapes -= base
    # One scale for the whole record (not per beat): a large V beat must stay large.
    peak = np.abs(shapes).max(axis=2)  # (n, leads)
    scale = np.maximum(np.median(peak, axis=0), 1e-3)
    shapes /= scale[None, :, None]
    return shapes.reshape(len(r), -1)


def rhythm_coordinates(r_peaks: np.ndarray, local_rr_s: np.ndarray, fs: float) -> np.ndarray:
    """(n, 2): prematurity (pre-RR / local RR) and post-RR / pre-RR, both clipped.
    (A third, the local irregularity of the rhythm, meant to tell atrial premature
    beats from early beats of atrial fibrillation, made DS1's review longer.)"""
    r = np.asarray(r_peaks, np.int64)
    if len(r) < 2:
        return np.ones((len(r), 2), np.float32)
    rr = np.maximum(np.diff(r), 1) / float(fs)
    pre = np.concatenate([rr[:1], rr])
    post = np.concatenate([rr, rr[-1:]])
    prematurity = np.clip(pre / np.maximum(local_rr_s, 1e-3), 0.2, 2.5)
    compensation = np.clip(post / pre, 0.2, 4.0)
    return np.stack([prematurity, compensation], axis=1).astype(np.float32)


def embed(shapes: np.ndarray, rhythm: np.ndarray, seed: int = 0,
          probability: np.ndarray | None = None) -> np.ndarray:
    """(n, d) embedding: shape principal components, the rhythm coordinates, and the
    classifier's class probabilities when given."""
    from sklearn.decomposition import PCA

    n = len(shapes)
    if n == 0:
        extra = 0 if probability is None else probability.shape[1]
        return np.zeros((0, COMPONENTS + rhythm.shape[1] + extra), np.float32)
    k = min(COMPONENTS, n, shapes.shape[1])
    rng = np.random.default_rng(seed)
    fit = shapes if n <= FIT_SAMPLE else shapes[rng.choice(n, FIT_SAMPLE, replace=False)]
    if k >= 1 and len(fit) > 1:
        pca = PCA(n_components=k, svd_solver="randomized" if k < min(fit.shape) else "full",
                  random_state=seed).fit(fit)
        comps = pca.transform(shapes).astype(np.float32)
        spread = float(np.sqrt(pca.explained_variance_[0])) if k else 1.0
    else:
        comps = np.zeros((n, k), np.float32)
        spread = 1.0
    out = np.zeros((n, COMPONENTS + rhythm.shape[1]), np.float32)
    out[:, :k] = comps
    out[:, COMPONENTS:] = rhythm * (RR_WEIGHT * max(spread, 1e-3))
    if probability is not None:
        # The classifier's view (square-rooted probabilities, a Hellinger geometry):
        # beats it found ambiguous group apart from those it was sure of, which is
        # where its mistakes gather. Weight chosen on DS1 (1, 2, 4, 6, 8, 12 tried).
        p = np.sqrt(np.clip(np.nan_to_num(probability), 0.0, 1.0)).astype(np.float32)
        out = np.concatenate([out, p * (PROBABILITY_WEIGHT * max(spread, 1e-3))], axis=1)
    return out


def _correlation_matrix(a: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    norm = np.sqrt((a * a).sum(axis=1))
    a = a / np.maximum(norm, 1e-9)[:, None]
    return np.clip(a @ a.T, -1.0, 1.0)


def _micro_clusters(points: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.cluster import MiniBatchKMeans

    n = len(points)
    k = int(np.clip(round(MICRO_PER_ROOT * np.sqrt(n)), MICRO_MIN, MICRO_MAX))
    if k <= 1 or n <= k:
        return np.zeros(n, np.int64) if k <= 1 else np.arange(n)
    km = MiniBatchKMeans(n_clusters=k, random_state=seed, batch_size=2048, n_init=3,
                         max_iter=50)
    return km.fit_predict(points).astype(np.int64)


def _merge(shapes: np.ndarray, prematurity: np.ndarray, micro: np.ndarray,
           rng: np.random.Generator) -> np.ndarray:
    """Micro-cluster -> merged group, by complete linkage on the merge criterion."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    ids = np.unique(micro)
    if len(ids) == 1:
        return np.zeros(len(micro), np.int64)
    medians, prem = [], []
    for c in ids:
        members = np.flatnonzero(micro == c)
        if len(members) > MEDIAN_SAMPLE:
            members = rng.choice(members, MEDIAN_SAMPLE, replace=False)
        medians.append(np.median(shapes[members], axis=0))
        prem.append(np.median(prematurity[members]))
    corr = _correlation_matrix(np.asarray(medians))
    prem = np.asarray(prem)
    # One normalised distance: 1 means exactly at one of the two limits.
    distance = np.maximum((1.0 - corr) / (1.0 - MERGE_CORRELATION),
                          np.abs(prem[:, None] - prem[None, :]) / MERGE_PREMATURITY)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="complete")
    group_of_micro = fcluster(tree, t=1.0, criterion="distance") - 1
    lookup = np.zeros(ids.max() + 1, np.int64)
    lookup[ids] = group_of_micro
    return lookup[micro]


def cluster_templates(x360: np.ndarray, r360: np.ndarray, r_peaks: np.ndarray, fs: float,
                      local_rr_s: np.ndarray, labels: np.ndarray,
                      probability: np.ndarray | None = None, seed: int = 0) -> TemplateSet:
    """Templates of a record's beats: ``x360`` (samples, leads) the denoised model
    leads at 360 Hz, ``r360`` the R peaks on it, ``r_peaks``/``fs`` the same beats
    on the record's own grid, ``local_rr_s`` each beat's local RR (s)."""
    import time

    start = time.perf_counter()
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    shapes = beat_shapes(x360, r360)
    rhythm = rhythm_coordinates(r_peaks, local_rr_s, fs)
    embedding = embed(shapes, rhythm, seed, probability)
    group = assign_groups(shapes, rhythm, embedding, labels, seed)
    templates, beat_template = _describe(group, shapes, embedding, rhythm, labels,
                                         probability, x360, r360, rng)
    return TemplateSet(templates, beat_template, embedding,
                       round(time.perf_counter() - start, 3))


def assign_groups(shapes: np.ndarray, rhythm: np.ndarray, embedding: np.ndarray,
                  labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """(n,) group number of each beat: micro-clusters merged, within each class."""
    rng = np.random.default_rng(seed)
    group = np.full(len(labels), -1, np.int64)
    next_group = 0
    for label in AAMI_CLASSES:
        idx = np.flatnonzero(labels == label)
        if len(idx) == 0:
            continue
        micro = _micro_clusters(embedding[idx], seed)
        merged = _merge(shapes[idx], rhythm[idx, 0], micro, rng)
        group[idx] = merged + next_group
        next_group += int(merged.max()) + 1
    return group


def _describe(group, shapes, embedding, rhythm, labels, probability, x360, r360, rng
              ) -> tuple[list[Template], np.ndarray]:
    """Templates numbered by class (AAMI order) then count, largest first."""
    class_rank = {c: k for k, c in enumerate(AAMI_CLASSES)}
    # each group's members once (a mask per group and per use cost a pass over every
    # beat each time: 348 groups of 110,000 beats for 24 h)
    by_group = np.argsort(group, kind="stable")
    groups, starts = np.unique(group[by_group], return_index=True)
    member_lists = np.split(by_group, starts[1:])
    order = sorted(range(len(groups)),
                   key=lambda k: (class_rank.get(labels[member_lists[k][0]], 9),
                                  -len(member_lists[k])))
    label_column = np.zeros(len(labels), np.int64)  # each beat's class, as a column index
    for column, c in enumerate(AAMI_CLASSES):
        label_column[labels == c] = column
    wave_offsets = _offsets(WAVE_BEFORE_S, WAVE_AFTER_S, int(round(FS / WAVE_FS)))
    beat_template = np.zeros(len(group), np.int32)
    templates = []
    for new_id, k in enumerate(order, start=1):
        members = member_lists[k]
        beat_template[members] = new_id
        sample = members if len(members) <= MEDIAN_SAMPLE else np.sort(
            rng.choice(members, MEDIAN_SAMPLE, replace=False))
        median_shape = np.median(shapes[sample], axis=0)
        purity = float(np.mean(_correlation_rows(shapes[sample], median_shape)))
        centre = embedding[members].mean(axis=0)
        typical = int(members[np.argmin(((embedding[members] - centre) ** 2).sum(axis=1))])
        values, counts = np.unique(labels[members], return_counts=True)
        mean_p = None
        if probability is not None:
            mean_p = float(probability[members, label_column[members]].mean())
        waveform = np.median(_gather(x360, np.asarray(r360)[sample], wave_offsets), axis=0)
        templates.append(Template(
            id=new_id, label=str(values[np.argmax(counts)]), count=len(members),
            class_counts={str(v): int(c) for v, c in zip(values, counts, strict=True)},
            mean_probability=mean_p, purity=purity, typical_beat=typical,
            prematurity=float(np.median(rhythm[members, 0])), waveform=waveform))
    return templates, beat_template


def _correlation_rows(rows: np.ndarray, reference: np.ndarray) -> np.ndarray:
    a = rows - rows.mean(axis=1, keepdims=True)
    b = reference - reference.mean()
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum())
    return np.where(den > 0, (a @ b) / np.maximum(den, 1e-12), 0.0)
