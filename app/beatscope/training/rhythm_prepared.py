"""The rhythm training data, prepared once into one file.

Loading the databases resamples 7,249 CinC records and 48 MIT-BIH records to the
model's 100 Hz and labels the MIT-BIH windows from the rhythm annotations (15-20 s
here, and it needs wfdb). The prepared file holds exactly what training
reads: each CinC signal and label, each MIT-BIH record's signal, window starts,
multi-hot targets and masks. It loads in a second and is small enough (about
25 MB) to carry to a GPU machine that has neither the databases nor wfdb.

Signals are stored in steps of 5 uV, MIT-BIH's own ADC step (CinC's is 1 uV; the
rounding adds 1.4 uV rms, and the model z-scores every window), as int16 first
differences, compressed: 5-uV steps take the file from 36 to about 25
MB. The differences are taken and summed in wrapping int16 arithmetic, which is
exactly reversible, so the only loss is the rounding and the clip at +-163 mV.
The file records where it came from; its sha256 goes into the training manifest.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from beatscope.training.rhythm_data import CincData, MitRecord

FORMAT = "beatscope-rhythm-prepared-1"
#: Storage steps per mV (one step = 5 uV).
STEPS_PER_MV = 200.0


def _encode(signals: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    q = [np.clip(np.round(np.asarray(s, np.float64) * STEPS_PER_MV), -32767, 32767)
         .astype(np.int16) for s in signals]
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in q])]).astype(np.int64)
    flat = np.concatenate(q) if q else np.zeros(0, np.int16)
    diff = np.empty_like(flat)
    with np.errstate(over="ignore"):
        for i in range(len(q)):  # per signal: each one starts from its own first sample
            a, b = offsets[i], offsets[i + 1]
            diff[a:b] = np.diff(flat[a:b], prepend=np.int16(0))
    return diff, offsets


def _decode(diff: np.ndarray, offsets: np.ndarray, steps_per_mv: float) -> list[np.ndarray]:
    out = []
    with np.errstate(over="ignore"):
        for i in range(len(offsets) - 1):
            q = np.cumsum(diff[offsets[i]:offsets[i + 1]], dtype=np.int16)
            out.append((q / steps_per_mv).astype(np.float32))
    return out


def save_prepared(path: Path, cinc: CincData, mit: dict[str, MitRecord],
                  source: dict) -> str:
    """Write the prepared file; returns its sha256."""
    names = sorted(mit)
    recs = [mit[n] for n in names]
    cinc_diff, cinc_off = _encode(cinc.signals)
    mit_diff, mit_off = _encode([r.signal for r in recs])
    win_off = np.concatenate([[0], np.cumsum([len(r.starts) for r in recs])]).astype(np.int64)

    def cat(arrays: list[np.ndarray], empty_shape: tuple, dtype) -> np.ndarray:
        return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(empty_shape, dtype)

    meta = {"format": FORMAT, "source": source, "steps_per_mv": STEPS_PER_MV,
            "mit_fs": [float(r.fs) for r in recs],
            "mit_duration_s": [float(r.duration_s) for r in recs]}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as fh:
        np.savez_compressed(
            fh, meta=np.array(json.dumps(meta)),
            cinc_names=np.array(cinc.names), cinc_label=np.asarray(cinc.label, np.int64),
            cinc_diff=cinc_diff, cinc_offsets=cinc_off,
            mit_names=np.array(names, dtype=str), mit_diff=mit_diff, mit_offsets=mit_off,
            mit_window_offsets=win_off,
            mit_starts=cat([r.starts for r in recs], (0,), np.int64),
            mit_target=cat([r.target for r in recs], (0, 4), np.float32),
            mit_mask=cat([r.mask for r in recs], (0, 4), np.float32))
    tmp.replace(path)
    return file_sha256(path)


def load_prepared(path: Path) -> tuple[CincData, dict[str, MitRecord], dict]:
    """(CinC data, MIT-BIH records by name, meta with the file's sha256)."""
    with np.load(Path(path), allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: not a prepared rhythm file ({meta.get('format')!r})")
        cinc = CincData([str(n) for n in z["cinc_names"]], z["cinc_label"].astype(np.int64),
                        _decode(z["cinc_diff"], z["cinc_offsets"], meta["steps_per_mv"]))
        signals = _decode(z["mit_diff"], z["mit_offsets"], meta["steps_per_mv"])
        woff = z["mit_window_offsets"]
        starts, target, mask = z["mit_starts"], z["mit_target"], z["mit_mask"]
        mit = {}
        for i, name in enumerate(str(n) for n in z["mit_names"]):
            a, b = woff[i], woff[i + 1]
            mit[name] = MitRecord(name, signals[i], starts[a:b].copy(), target[a:b].copy(),
                                  mask[a:b].copy(), duration_s=meta["mit_duration_s"][i],
                                  fs=meta["mit_fs"][i])
    meta["sha256"] = file_sha256(path)
    return cinc, mit, meta


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
