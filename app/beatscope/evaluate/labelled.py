"""Beat datasets built by the engine itself, labelled from reference annotations.

Every record goes through the same ``analyze`` pipeline as at inference time:
detection, denoising, the 400-sample windows and RR features. Each detected
beat takes the AAMI class of the reference beat matched within 150 ms; detected
beats with no reference beat get label -1 (kept for evaluation, never trained
on). Reference beats the detector missed are kept too, so evaluation can count
them against their class.

Results are cached per record (float16 windows), keyed by the engine's
configuration, so repeated training runs do not redo the signal processing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from beatscope import __version__
from beatscope.aami import AAMI_CLASSES, SYMBOL_TO_AAMI
from beatscope.evaluate.detection import MATCH_WINDOW_S
from beatscope.evaluate.matching import match_beats

CLASS_INDEX = {c: i for i, c in enumerate(AAMI_CLASSES)}


@dataclass
class RecordBeats:
    """One record's beats as the engine sees them, with reference labels."""

    name: str
    windows: np.ndarray  # float16 (n, 2, 400)
    rr: np.ndarray  # float32 (n, 8)
    sample: np.ndarray  # int64 (n,) detected R peaks, record's own fs
    label: np.ndarray  # int8 (n,) AAMI class index of the matched reference beat, or -1
    missed_label: np.ndarray  # int8 (m,) classes of reference beats no detection matched
    fs: float

    def __len__(self) -> int:
        return len(self.sample)


def engine_key() -> str:
    """The key of the engine's configuration that extracted beats are cached under."""
    from beatscope.analysis import AnalysisOptions
    from beatscope.segment import CONTEXT_VERSION

    # the context version: the RR features follow the context's definition
    text = json.dumps({"version": __version__, "options": repr(AnalysisOptions()),
                       "context": CONTEXT_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def reference_classes(symbols, samples) -> tuple[np.ndarray, np.ndarray]:
    """Positions and AAMI class indices of the reference beats."""
    keep = [i for i, s in enumerate(symbols) if s in SYMBOL_TO_AAMI]
    pos = np.asarray(samples, dtype=np.int64)[keep]
    cls = np.array([CLASS_INDEX[SYMBOL_TO_AAMI[symbols[i]]] for i in keep], dtype=np.int8)
    return pos, cls


def extract_record(path: Path) -> RecordBeats:
    """Run the engine on one annotated record and label its beats."""
    from beatscope.analysis import AnalysisOptions, analyze
    from beatscope.io import load_record

    record = load_record(path)
    if record.annotations is None:
        raise ValueError(f"{path}: no reference annotations")
    result = analyze(record, AnalysisOptions(keep_windows=True))
    det = result.beats.sample
    label, missed = label_detected(record, det)
    return RecordBeats(record.name, result.windows.astype(np.float16), result.rr_features,
                       det, label, missed, record.fs)


def label_detected(record, detected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(label, missed)``: the AAMI class index of the reference beat matched to each
    detected beat within 150 ms (int8; -1: none), and the classes of the reference
    beats no detection matched. ``record`` must carry its annotations."""
    ref_pos, ref_cls = reference_classes(record.annotations.symbol, record.annotations.sample)
    match = match_beats(ref_pos, detected, int(round(MATCH_WINDOW_S * record.fs)))
    label = np.full(len(detected), -1, dtype=np.int8)
    label[match[match >= 0]] = ref_cls[match >= 0]
    return label, ref_cls[match < 0]


def cached_beats(hit: Path | None, name: str, extract) -> RecordBeats:
    """The beats cached at ``hit``, or ``extract()``'s, written there atomically (no
    cache when ``hit`` is None)."""
    if hit is not None and hit.exists():
        z = np.load(hit)
        return RecordBeats(name, z["windows"], z["rr"], z["sample"], z["label"],
                           z["missed_label"], float(z["fs"]))
    beats = extract()
    beats.name = name
    if hit is not None:
        hit.parent.mkdir(parents=True, exist_ok=True)
        tmp = hit.with_suffix(".tmp.npz")
        np.savez(tmp, **{k: v for k, v in asdict(beats).items() if k != "name"})
        tmp.replace(hit)
    return beats


def load_beats(db: Path, names: list[str] | tuple[str, ...],
               cache: Path | None) -> list[RecordBeats]:
    """``extract_record`` for each name, through an on-disk cache when given."""
    key = engine_key()
    return [cached_beats(cache / f"{name}-{key}.npz" if cache else None, name,
                         lambda name=name: extract_record(db / f"{name}.hea"))
            for name in names]


def class_counts(labels: np.ndarray) -> dict[str, int]:
    return {c: int((labels == i).sum()) for i, c in enumerate(AAMI_CLASSES)}
