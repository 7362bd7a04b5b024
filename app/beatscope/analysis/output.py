"""Writing analysis results: a WFDB ``.beats`` annotation file and a JSON summary.

In the core, not in ``cli``: the command line, the viewer and the report all write
these.

Both are written to a temporary name in the output folder and renamed into
place, so a crash or Ctrl-C never leaves a half-written file behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from beatscope import __version__
from beatscope.aami import AAMI_CLASSES
from beatscope.analysis.result import SCHEMA_VERSION, AnalysisResult
from beatscope.fileio import atomic_write_bytes

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
        "models": result.classifier,  # None: no classifier ran, every beat is Q
        "rhythm": result.rhythm,
        "rhythm_model": result.rhythm_model,  # None: the rhythm rules ran alone
        # morphology templates; each beat's template id is in beats.template
        "templates": None if result.templates is None else result.templates.to_json(
            [result.record.lead_names[i] for i in result.model_leads]),
        "beats": beat_columns(result),
    }


def beat_columns(result: AnalysisResult) -> dict:
    """Per-beat table in columns (compact for 100k-beat Holter records)."""
    beats = result.beats
    fs = result.record.fs
    rr = np.diff(beats.sample) / fs if len(beats) > 1 else np.zeros(0)
    out = {
        "sample": beats.sample.astype(int).tolist(),
        "time_s": np.round(beats.sample / fs, 3).tolist(),
        "label": "".join(str(c) for c in beats.label),
        "rr_s": [None] + np.round(rr, 3).tolist() if len(beats) else [],
        "classes": list(AAMI_CLASSES),
        "probability": None,
    }
    if beats.probability is not None:
        out["probability"] = np.round(beats.probability.astype(np.float64), 4).tolist()
    out["template"] = (None if result.templates is None
                       else result.templates.beat_template.astype(int).tolist())
    return out


def write_summary(result: AnalysisResult, out_dir: Path) -> Path:
    path = out_dir / f"{result.record.name}.json"
    text = json.dumps(summary_dict(result), indent=2, allow_nan=False)
    atomic_write_bytes(path, text.encode())
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
            atomic_write_bytes(path, b"\x00\x00")
    return path
