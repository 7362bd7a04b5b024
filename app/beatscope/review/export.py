"""Exports of a review: WFDB annotations for WAVE/LightWAVE and wfdb, and a beat CSV.

* ``NAME.rev``: the current (reviewed) label of every beat that is not deleted, as
  AAMI letters, notes in ``aux_note``; the rhythm episodes as ``+`` annotations whose
  ``aux_note`` is ``(LABEL`` at the start and ``(N`` at the end, as MIT-BIH writes them;
* ``NAME.ai``: the model's own labels on the beats it found;
* ``NAME_beats.csv``: time (hh:mm:ss.mmm), sample, model label and probability,
  reviewer label, source, reviewer, edited-at (ISO 8601, UTC), note, deleted, inserted.

Every file is written under a temporary name and renamed into place.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import os
import tempfile
from pathlib import Path

import numpy as np

from beatscope.aami import AAMI_CLASSES
from beatscope.fileio import atomic_write_bytes
from beatscope.review.store import SOURCES, ReviewStore

FORMATS = ("wfdb", "csv", "edf")  # edf: see export_edf.py


def _clock(t: float) -> str:
    ms = int(round(t * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    return f"{h:02d}:{m:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _write_annotations(out_dir: Path, name: str, extension: str, fs: float,
                       sample: np.ndarray, symbol: list[str], aux: list[str]) -> Path:
    import wfdb

    path = out_dir / f"{name}.{extension}"
    order = np.argsort(sample, kind="stable")
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=f".{extension}-") as tmp:
        if len(sample):
            wfdb.wrann(name, extension, np.asarray(sample, np.int64)[order],
                       symbol=[symbol[i] for i in order], aux_note=[aux[i] for i in order],
                       fs=fs, write_dir=tmp)
            os.replace(Path(tmp) / path.name, path)
        else:
            atomic_write_bytes(path, b"\x00\x00")  # rdann reads it as no annotations
    return path


def write_wfdb(store: ReviewStore, name: str, out_dir: Path,
               rhythm: dict | None = None) -> list[Path]:
    r = store.rows
    live = ~r.deleted
    sample = list(r.sample[live])
    symbol = [str(c) for c in r.label[live]]
    aux = [str(n) for n in r.note[live]]
    for episode in (rhythm or {}).get("episodes", []):
        start = int(round(episode["start_s"] * store.fs))
        end = int(round(episode["end_s"] * store.fs))
        sample += [start, end]
        symbol += ["+", "+"]
        aux += [f"({episode['label']}", "(N"]
    found = ~r.inserted
    return [
        _write_annotations(out_dir, name, "rev", store.fs, np.array(sample, np.int64),
                           symbol, aux),
        _write_annotations(out_dir, name, "ai", store.fs, r.sample[found],
                           [str(c) for c in r.model_label[found]], [""] * int(found.sum())),
    ]


def write_csv(store: ReviewStore, name: str, out_dir: Path) -> Path:
    r = store.rows
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["time", "sample", "model_label", "model_probability", "reviewer_label",
                "label", "source", "reviewer", "edited_at", "note", "deleted", "inserted"])
    index = {c: i for i, c in enumerate(AAMI_CLASSES)}
    for i in range(len(r)):
        p = r.probability[i, index.get(str(r.model_label[i]), 0)]
        at = r.edited_at[i]
        w.writerow([
            _clock(r.sample[i] / store.fs), int(r.sample[i]), r.model_label[i],
            "" if np.isnan(p) else f"{p:.4f}", r.reviewer_label[i],
            "" if r.deleted[i] else r.label[i], SOURCES[int(r.source[i])], r.reviewer[i],
            "" if np.isnan(at) else _dt.datetime.fromtimestamp(at, _dt.UTC).isoformat(
                timespec="seconds"),
            r.note[i], int(r.deleted[i]), int(r.inserted[i])])
    path = out_dir / f"{name}_beats.csv"
    atomic_write_bytes(path, buf.getvalue().encode())
    return path
