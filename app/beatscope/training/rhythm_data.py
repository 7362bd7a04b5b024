"""Data for the rhythm model: CinC 2017 records and MIT-BIH rhythm windows, and folds.

CinC 2017 (7,249 single-lead AliveCor records, 9-61 s, 300 Hz): one label per
record, N (normal sinus) / A (AF) / O (other rhythm) / ~ (too noisy), mapped to
the model labels N / AFIB / OTHER / NOISE. Training draws a random 10-s crop of a
record; evaluation scores every 10-s window (5-s stride) of the record.

MIT-BIH (48 half-hour 2-lead Holter excerpts, 360 Hz), lead MLII (the first lead
by name preference, as at inference): 10-s windows every 2.5 s, labelled from the
``+`` rhythm annotations' ``aux_note``: ``(AFIB`` -> AFIB; ``(N`` -> N, or OTHER
when the window holds an S, V or F beat (CinC's annotators put sinus rhythm with
ectopy under "other"); every other rhythm ((AFL, (B, (T, (VT, (SVTA, (NOD, (P,
(SBR, (IVR, (VFL, (BII, (AB, (PREX) -> OTHER. A label is on when its rhythm covers
at least 3 s of the window (so a window across an AF onset is AFIB and N at once:
the multi-label case). MIT-BIH has no noise labels: NOISE is masked out of the loss
for its windows.

Folds are record-wise: a CinC record's windows, and an MIT-BIH record's windows,
are never split between folds; MIT-BIH 201 and 202 (one patient) share a fold,
and the AF records are spread over the folds.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from beatscope.aami import SYMBOL_TO_AAMI
from beatscope.rhythm.model.network import MODEL_FS, WINDOW_SAMPLES
from beatscope.rhythm.model.signal import to_model_rate

LABELS = ("N", "AFIB", "OTHER", "NOISE")
CINC_TO_LABEL = {"N": 0, "A": 1, "O": 2, "~": 3}
CINC_CLASSES = ("N", "A", "O", "~")
MIT_STRIDE_S = 2.5
MIT_MIN_COVER_S = 3.0
#: MIT-BIH records with AF, and records of one patient (kept in one fold).
MIT_AF_RECORDS = ("201", "202", "203", "210", "217", "219", "221", "222")
MIT_SAME_PATIENT = (("201", "202"),)


@dataclass
class CincData:
    names: list[str]
    label: np.ndarray  # int, index into CINC_CLASSES (== model label index)
    signals: list[np.ndarray]  # float32 at 100 Hz


@dataclass
class MitRecord:
    name: str
    signal: np.ndarray  # float32 at 100 Hz, lead MLII
    starts: np.ndarray  # window starts (samples at 100 Hz)
    target: np.ndarray  # (n_windows, 4) float32 multi-hot
    mask: np.ndarray  # (n_windows, 4) float32: 0 where the label is unknown (NOISE)
    duration_s: float = 0.0
    fs: float = 360.0
    beat_samples: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    beat_symbols: list[str] = field(default_factory=list)
    ann_samples: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ann_symbols: list[str] = field(default_factory=list)
    ann_aux: list[str] = field(default_factory=list)


def _cinc_reader(folder: Path):
    spec = importlib.util.spec_from_file_location("read_cinc2017", folder / "read_cinc2017.py")
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"{folder}/read_cinc2017.py not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_cinc(folder: Path, limit: int | None = None) -> CincData:
    reader = _cinc_reader(Path(folder))
    labels = reader.load_labels()
    names = sorted(labels)[:limit] if limit else sorted(labels)
    signals = []
    for name in names:
        mv, fs = reader.load_record(name)
        signals.append(to_model_rate(mv, fs))
    return CincData(names, np.array([CINC_TO_LABEL[labels[n]] for n in names]), signals)


def _rhythm_timeline(ann_samples: np.ndarray, symbols: list[str], aux: list[str],
                     n_samples: int) -> list[tuple[int, int, str]]:
    changes = [(int(s), a.strip("\x00").strip())
               for s, sym, a in zip(ann_samples, symbols, aux, strict=True)
               if sym == "+" and a.strip("\x00").strip()]
    out = []
    for i, (start, rhythm) in enumerate(changes):
        end = changes[i + 1][0] if i + 1 < len(changes) else n_samples
        if end > start:
            out.append((start, end, rhythm))
    return out


def load_mitdb_record(folder: Path, name: str) -> MitRecord:
    import wfdb

    from beatscope.io import select_model_leads

    rec = wfdb.rdrecord(str(Path(folder) / name))
    ann = wfdb.rdann(str(Path(folder) / name), "atr")
    fs = float(rec.fs)
    lead = (select_model_leads(list(rec.sig_name), 1) or [0])[0]
    x = to_model_rate(rec.p_signal[:, lead], fs)
    n360 = rec.p_signal.shape[0]
    symbols = list(ann.symbol)
    aux = [a or "" for a in ann.aux_note]
    # Per 100-Hz sample: rhythm class (0 N, 1 AFIB, 2 OTHER, -1 none), ectopic beats.
    scale = MODEL_FS / fs
    cls = np.full(len(x), -1, np.int8)
    for start, end, rhythm in _rhythm_timeline(ann.sample, symbols, aux, n360):
        code = 1 if rhythm == "(AFIB" else 0 if rhythm == "(N" else 2
        cls[int(start * scale):int(end * scale)] = code
    ectopic = np.zeros(len(x) + 1, np.int32)
    beats = [(int(s * scale), sym) for s, sym in zip(ann.sample, symbols, strict=True)
             if sym in SYMBOL_TO_AAMI]
    for s, sym in beats:
        if SYMBOL_TO_AAMI[sym] in ("S", "V", "F") and s < len(x):
            ectopic[s + 1] += 1
    ectopic = np.cumsum(ectopic)
    stride = int(MIT_STRIDE_S * MODEL_FS)
    starts = np.arange(0, len(x) - WINDOW_SAMPLES + 1, stride, dtype=np.int64)
    target = np.zeros((len(starts), 4), np.float32)
    min_cover = MIT_MIN_COVER_S * MODEL_FS
    counts = [np.concatenate([[0], np.cumsum(cls == c)]) for c in range(3)]
    for j, s in enumerate(starts):
        e = s + WINDOW_SAMPLES
        cover = [counts[c][e] - counts[c][s] for c in range(3)]
        if cover[1] >= min_cover:
            target[j, 1] = 1
        if cover[2] >= min_cover:
            target[j, 2] = 1
        if cover[0] >= min_cover:
            target[j, 2 if ectopic[e] - ectopic[s] > 0 else 0] = 1
    mask = np.ones_like(target)
    mask[:, 3] = 0.0
    keep = target[:, :3].sum(axis=1) > 0  # windows outside any annotated rhythm: dropped
    return MitRecord(name, x, starts[keep], target[keep], mask[keep],
                     duration_s=n360 / fs, fs=fs,
                     beat_samples=np.array([s for s, sym in zip(ann.sample, symbols, strict=True)
                                            if sym in SYMBOL_TO_AAMI], np.int64),
                     beat_symbols=[sym for sym in symbols if sym in SYMBOL_TO_AAMI],
                     ann_samples=np.asarray(ann.sample), ann_symbols=symbols, ann_aux=aux)


def load_mitdb(folder: Path, names: list[str] | None = None) -> dict[str, MitRecord]:
    names = names or sorted(p.stem for p in Path(folder).glob("*.hea"))
    return {n: load_mitdb_record(folder, n) for n in names}


def cinc_folds(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold index per CinC record, stratified by label."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(labels), np.int64)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        fold[idx] = np.arange(len(idx)) % k
    return fold


def mit_folds(names: list[str], k: int, seed: int) -> dict[str, int]:
    """Fold per MIT-BIH record: patient groups, AF records spread round-robin first."""
    groups: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for g in MIT_SAME_PATIENT:
        if all(n in names for n in g):
            groups.append(g)
            seen.update(g)
    groups += [(n,) for n in names if n not in seen]
    rng = np.random.default_rng(seed + 1)
    af = [g for g in groups if any(n in MIT_AF_RECORDS for n in g)]
    other = [g for g in groups if g not in af]
    af = [af[i] for i in rng.permutation(len(af))]
    other = [other[i] for i in rng.permutation(len(other))]
    out: dict[str, int] = {}
    for i, g in enumerate(af + other):
        for n in g:
            out[n] = i % k
    return out


def split_validation(labels: np.ndarray, idx: np.ndarray, share: float,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified record split of ``idx`` into (train, validation)."""
    rng = np.random.default_rng(seed + 7)
    val = []
    for c in np.unique(labels[idx]):
        members = idx[labels[idx] == c]
        members = members[rng.permutation(len(members))]
        val.append(members[:max(1, int(round(share * len(members))))])
    v = np.sort(np.concatenate(val))
    return np.setdiff1d(idx, v), v
