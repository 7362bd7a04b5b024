"""EDF+ export of a review: the record's leads plus the reviewed beats and rhythm
episodes as EDF+ annotations, for EDFbrowser and any other EDF+ reader.

EDFbrowser's conventions: each beat is a TAL annotation at its time (onset in
seconds from the start, no duration) whose text is its reviewed AAMI letter (N, S,
V, F, Q; deleted beats are left out); each rhythm episode is one annotation with its
onset and duration whose text is ``(LABEL`` ("(AFIB"), as MIT-BIH names rhythms.
The patient fields are left empty: an export is often shared outside the clinic.

The file is written under a temporary name in the destination folder and renamed
into place, so a reader never sees half of it.
"""

from __future__ import annotations

import math
import os
import secrets
from pathlib import Path

import numpy as np
import pyedflib

from beatscope.io.record import Record
from beatscope.review.store import ReviewStore

DIGITAL_MIN, DIGITAL_MAX = -32768, 32767
MAX_ANNOTATION_SIGNALS = 64  # edflib's limit; each holds one annotation per data record
EDF_LABEL_CHARS = 16


def _edge(value: float, up: bool) -> float:
    """``value`` rounded outwards to the most decimals (up to 3) that fit EDF's
    8-character header field, so that pyedflib need not truncate it (and clip)."""
    for decimals in (3, 2, 1, 0):
        scale = 10.0 ** decimals
        edge = round((math.ceil if up else math.floor)(value * scale) / scale, decimals)
        if len(f"{edge:.{decimals}f}".rstrip("0").rstrip(".")) <= 8:
            return edge
    return edge


def _physical_range(lead: np.ndarray) -> tuple[float, float]:
    """A range just covering ``lead`` that survives EDF's 8-character header fields."""
    low = float(np.min(lead)) if len(lead) else 0.0
    high = float(np.max(lead)) if len(lead) else 0.0
    if high - low < 0.01:  # a flat lead: any small range will do
        low, high = low - 0.005, high + 0.005
    return _edge(low - 0.001, up=False), _edge(high + 0.001, up=True)


def _annotations(store: ReviewStore, rhythm: dict | None) -> list[tuple[float, float, str]]:
    """(onset s, duration s or -1, text) for every live beat and rhythm episode."""
    r = store.rows
    live = ~r.deleted
    out = [(float(s) / store.fs, -1.0, str(label))
           for s, label in zip(r.sample[live], r.label[live], strict=True)]
    for episode in (rhythm or {}).get("episodes", []):
        start, end = float(episode["start_s"]), float(episode["end_s"])
        out.append((start, max(0.0, end - start), f"({episode['label']}"))
    out.sort(key=lambda a: a[0])
    return out


def write_edf(store: ReviewStore, record: Record, name: str, out_dir: Path,
              rhythm: dict | None = None) -> Path:
    """Write ``NAME.edf`` (EDF+) in ``out_dir``: ``record``'s leads in mV and the review's
    beats and rhythm episodes as annotations; returns its path."""
    path = Path(out_dir) / f"{name}.edf"
    tmp = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp.edf")
    signals = np.asarray(record.signals)
    annotations = _annotations(store, rhythm)
    try:
        _write(tmp, record, signals, annotations)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _write(path: Path, record: Record, signals: np.ndarray,
           annotations: list[tuple[float, float, str]]) -> None:
    n_samples, n_leads = signals.shape
    writer = pyedflib.EdfWriter(str(path), n_leads, file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        headers = []
        for i in range(n_leads):
            low, high = _physical_range(signals[:, i])
            headers.append({
                "label": str(record.lead_names[i])[:EDF_LABEL_CHARS],
                "dimension": "mV", "sample_frequency": float(record.fs),
                "physical_min": low, "physical_max": high,
                "digital_min": DIGITAL_MIN, "digital_max": DIGITAL_MAX,
                "transducer": "", "prefilter": "",
            })
        writer.setSignalHeaders(headers)
        writer.setEquipment("BeatScope_review_export")  # EDF+: no spaces
        if record.start_datetime is not None:
            writer.setStartdatetime(record.start_datetime.replace(microsecond=0))
        writer.update_header()
        per_record = int(writer.get_smp_per_record(0))
        n_records = -(-n_samples // per_record)
        writer.set_number_of_annotation_signals(
            min(MAX_ANNOTATION_SIGNALS, max(1, -(-len(annotations) // max(1, n_records)) + 1)))
        for onset, duration, text in annotations:
            writer.writeAnnotation(onset, duration, text)
        block = np.empty(per_record * n_leads, dtype=np.float64)
        for k in range(n_records):
            chunk = signals[k * per_record:(k + 1) * per_record]
            if len(chunk) < per_record:  # EDF holds whole data records: pad the last one
                chunk = np.concatenate([chunk, np.zeros((per_record - len(chunk), n_leads),
                                                        dtype=chunk.dtype)])
            block[:] = np.asarray(chunk, dtype=np.float64).T.ravel()
            writer.blockWritePhysicalSamples(block)
    finally:
        writer.close()
