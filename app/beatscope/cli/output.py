"""Writing analysis results: a WFDB ``.beats`` annotation file and a JSON summary.

Both are written to a temporary name in the output folder and renamed into
place, so a crash or Ctrl-C never leaves a half-written file behind.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from pathlib import Path

import numpy as np

from beatscope import __version__
from beatscope.analysis import SCHEMA_VERSION, AnalysisResult

BEATS_EXTENSION = "beats"


def _software_versions() -> dict:
    import scipy
    import wfdb

    return {"beatscope": __version__, "numpy": np.__version__, "scipy": scipy.__version__,
            "wfdb": wfdb.__version__}


def summary_dict(result: AnalysisResult) -> dict:
    """The JSON summary of one analysis (schema ``SCHEMA_VERSION``)."""
    beats = result.beats
    classes, counts = np.unique(beats.label, return_counts=True)
    return {
        "schema_version": SCHEMA_VERSION,
        "record": result.record.metadata(),
        "beat_count": len(beats),
        "beat_classes": {str(c): int(n) for c, n in zip(classes, counts, strict=True)},
        "heart_rate": result.heart_rate,
        "signal_quality": result.quality.summary(),
        "powerline_hz": result.powerline_hz,
        "model_leads": [result.record.lead_names[i] for i in result.model_leads],
        "timings_s": result.timings_s,
        "warnings": result.warnings,
        "software": _software_versions(),
        "models": None,  # no beat classifier yet: every beat is labelled Q
    }


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    # Not mkstemp: its files are 0600, so summaries would not follow the umask
    # (and be unreadable to colleagues) while the .beats files, written by wfdb, do.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_summary(result: AnalysisResult, out_dir: Path) -> Path:
    path = out_dir / f"{result.record.name}.json"
    text = json.dumps(summary_dict(result), indent=2, allow_nan=False)
    _atomic_write_bytes(path, text.encode())
    return path


def write_beats(result: AnalysisResult, out_dir: Path) -> Path:
    """``<name>.beats``: one WFDB annotation per beat at its R peak (record's fs)."""
    import wfdb

    name = result.record.name
    path = out_dir / f"{name}.{BEATS_EXTENSION}"
    samples = np.asarray(result.beats.sample, dtype=np.int64)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".beats-") as tmp:
        if len(samples):
            wfdb.wrann(name, BEATS_EXTENSION, samples, symbol=[str(s) for s in result.beats.label],
                       fs=result.record.fs, write_dir=tmp)
            os.replace(Path(tmp) / path.name, path)
        else:
            # wrann refuses an empty annotation list; an empty file is still a
            # valid "no beats" answer that rdann reads back as zero annotations.
            _atomic_write_bytes(path, b"\x00\x00")
    return path
