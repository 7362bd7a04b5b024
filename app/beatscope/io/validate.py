"""Checks shared by every reader, so that a bad file fails with one clear line.

``check_input_file`` runs before a reader opens anything, ``check_fs`` wherever a
sampling rate enters, and ``finalise`` after every reader: it puts the samples into
the shape and dtype the pipeline expects, turns NaN/inf into 0 plus ``invalid_mask``,
and rejects records that hold nothing usable. Conditions the pipeline can judge better
later (flat leads, a record of one second) are deliberately *not* errors here.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from beatscope.errors import RecordError
from beatscope.io.record import Annotations, Record

FS_MIN_HZ = 50.0
FS_MAX_HZ = 10_000.0


def check_input_file(path: Path) -> None:
    """Fail unless ``path`` is an existing, non-empty regular file."""
    if not path.exists():
        raise RecordError(f"{path}: no such file")
    if not path.is_file():
        raise RecordError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise RecordError(f"{path}: the file is empty (0 bytes)")


def check_fs(fs: object, where: Path | str, origin: str = "") -> float:
    """Return ``fs`` as a float if it is a plausible ECG sampling rate, else fail.

    ``origin`` says where the value came from ("header", "--fs", "time column").
    """
    source = f" ({origin})" if origin else ""
    if fs is None:
        raise RecordError(f"{where}: sampling rate unknown: pass --fs")
    try:
        value = float(fs)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RecordError(f"{where}: sampling rate {fs!r}{source} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise RecordError(f"{where}: sampling rate {value:g} Hz{source} is not valid")
    if not FS_MIN_HZ <= value <= FS_MAX_HZ:
        raise RecordError(
            f"{where}: sampling rate {value:g} Hz{source} is outside the supported "
            f"{FS_MIN_HZ:g}-{FS_MAX_HZ:g} Hz"
        )
    return value


def garbage_fraction(signals: np.ndarray, full_scale: np.ndarray, windows: int = 32,
                     width: int = 2048) -> np.ndarray:
    """Per lead, the median |sample-to-sample step| as a fraction of the ADC full scale.

    Real ECG moves by a tiny fraction of the converter range between samples (well
    under 1 %); bytes decoded with the wrong format look like uniform noise (~30 %).
    Only ``windows`` stretches of ``width`` samples spread over the record are used,
    so the check costs nothing on a 24-hour file.
    """
    n = signals.shape[0]
    if n < 3:
        return np.zeros(signals.shape[1])
    if n <= windows * width:
        sample = np.asarray(signals, dtype=np.float64)
        steps = np.abs(np.diff(sample, axis=0))
    else:
        starts = np.linspace(0, n - width, windows).astype(np.int64)
        steps = np.concatenate(
            [np.abs(np.diff(np.asarray(signals[s:s + width], dtype=np.float64), axis=0))
             for s in starts]
        )
    with warnings.catch_warnings():  # an all-NaN lead has no median: it counts as 0
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(steps, axis=0)
    return np.nan_to_num(med / np.asarray(full_scale, dtype=np.float64))


def finalise(record: Record) -> Record:
    """Validate a reader's output and bring it into the form every stage expects.

    * ``signals`` becomes float32 ``(n_samples, n_leads)``;
    * non-finite samples become 0 and are flagged in ``invalid_mask``; a lead that is
      entirely invalid is noted, a record where *every* lead is invalid is an error;
    * the sampling rate must lie in 50-10000 Hz;
    * lead names and units are padded to one per lead;
    * reference annotations outside the signal are dropped (with a comment).
    """
    where = record.source_path or record.name
    fs = check_fs(record.fs, where, "file")
    signals = np.asarray(record.signals)
    if signals.ndim == 1:
        signals = signals[:, None]
    if signals.ndim != 2:
        raise RecordError(f"{where}: expected a 2-D signal array, got shape {signals.shape}")
    if signals.shape[0] == 0 or signals.shape[1] == 0:
        raise RecordError(f"{where}: the record holds no samples")
    if signals.dtype != np.float32:
        signals = signals.astype(np.float32)
    comments = list(record.notes)
    n_leads = signals.shape[1]

    lead_names = [str(n) if str(n).strip() else f"lead{i + 1}"
                  for i, n in enumerate(record.lead_names[:n_leads])]
    lead_names += [f"lead{i + 1}" for i in range(len(lead_names), n_leads)]
    units = list(record.units[:n_leads]) + ["mV"] * max(0, n_leads - len(record.units))

    invalid_mask = record.invalid_mask
    # Cheap test first (min/max propagate NaN and show inf); the mask only when needed.
    if not (np.isfinite(signals.min()) and np.isfinite(signals.max())):
        bad = ~np.isfinite(signals)
        invalid_mask = bad if invalid_mask is None else (invalid_mask | bad)
        if bad.all():
            raise RecordError(f"{where}: no valid samples (every sample is NaN or infinite)")
        if not signals.flags.writeable:
            signals = signals.copy()
        signals[bad] = 0.0
        dead = [lead_names[i] for i in range(n_leads) if bad[:, i].all()]
        if dead:
            comments.append(f"lead(s) {', '.join(dead)} hold no valid samples (set to 0)")
        n_bad = int(bad.sum())
        comments.append(
            f"{n_bad} NaN/inf sample(s) ({100.0 * n_bad / bad.size:.3g} %) set to 0 "
            "and flagged in invalid_mask"
        )

    annotations = record.annotations
    if annotations is not None and len(annotations):
        inside = (annotations.sample >= 0) & (annotations.sample < signals.shape[0])
        if not inside.all():
            dropped = int((~inside).sum())
            annotations = Annotations(
                sample=annotations.sample[inside],
                symbol=tuple(s for s, k in zip(annotations.symbol, inside, strict=True) if k),
                aux_note=tuple(a for a, k in zip(annotations.aux_note, inside, strict=True) if k),
                extension=annotations.extension,
            )
            comments.append(f"{dropped} reference annotation(s) outside the signal dropped")

    return replace(record, signals=signals, fs=fs, lead_names=lead_names, units=units,
                   invalid_mask=invalid_mask, annotations=annotations, notes=comments,
                   comments=record.comments)
