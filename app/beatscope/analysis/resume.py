"""Whether a record's earlier outputs still answer today's question (resuming a batch).

A record analysed before is skipped only when its ``<name>.json`` and
``<name>.beats`` both exist and the JSON was written by the same BeatScope
version, with the same beat-classifier and rhythm-model weights and the same
analysis options. Anything else (a missing, unreadable or older output) means
"analyse again": a wrong skip would silently keep stale results, a wrong redo
only costs time.

The weights are identified the way the models describe themselves: the sha256 of
the weight set's ``manifest.json`` bytes (which pins every file's own sha256), so
hashing that one small file here needs no torch.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from beatscope import __version__
from beatscope.analysis.output import BEATS_EXTENSION, summary_dict
from beatscope.analysis.result import AnalysisResult
from beatscope.fileio import atomic_write_bytes

#: The JSON key holding the options an output was made with (beside ``software``/``models``).
OPTIONS_KEY = "analysis_options"
_MANIFEST = "manifest.json"
_BEATS_KEY = b'\n  "beats": '


@dataclass(frozen=True)
class Provenance:
    """What must match for an earlier output to be reused."""

    version: str
    classifier_manifest_sha256: str | None  # None: no classifier runs (every beat Q)
    rhythm_manifest_sha256: str | None  # None: the rhythm rules run alone
    options: dict[str, Any]


def manifest_sha256(folder: Path) -> str | None:
    """sha256 of ``folder/manifest.json``, or None when the weight set is absent."""
    try:
        return hashlib.sha256((folder / _MANIFEST).read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def current_provenance(options: dict[str, Any], classify: bool,
                       weights: Path | None) -> Provenance:
    """The provenance an analysis started now would write.

    ``weights`` is the classifier's weight set (None: the shipped one); ``options``
    are the JSON-safe settings that change results (filters, sampling rate ...).
    """
    from beatscope.weights_location import beat_weights_dir, rhythm_weights_dir

    classifier = manifest_sha256(weights or beat_weights_dir()) if classify else None
    return Provenance(__version__, classifier, manifest_sha256(rhythm_weights_dir()),
                      dict(options))


def output_paths(out_dir: Path, name: str) -> tuple[Path, Path]:
    """``(<name>.json, <name>.beats)`` in ``out_dir``."""
    return out_dir / f"{name}.json", out_dir / f"{name}.{BEATS_EXTENSION}"


def write_summary_with_options(result: AnalysisResult, out_dir: Path,
                               options: dict[str, Any]) -> dict:
    """Write ``<name>.json`` (atomically) with the options recorded; return its content."""
    summary = summary_dict(result)
    beats = summary.pop("beats")
    summary[OPTIONS_KEY] = dict(options)
    summary["beats"] = beats  # last again: a rerun reads the file only up to here
    path, _ = output_paths(out_dir, result.record.name)
    atomic_write_bytes(path, json.dumps(summary, indent=2, allow_nan=False).encode())
    return summary


def reusable_summary(out_dir: Path, name: str, wanted: Provenance) -> dict | None:
    """The earlier JSON summary of ``name`` when it can be reused as is, else None."""
    json_path, beats_path = output_paths(out_dir, name)
    if not beats_path.is_file():
        return None
    try:
        summary = _read_head(json_path)
    except (OSError, ValueError):  # missing, unreadable or not JSON: analyse again
        return None
    if not isinstance(summary, dict):
        return None
    return summary if _provenance_of(summary) == wanted else None


def _read_head(json_path: Path) -> Any:
    """The JSON summary without its per-beat table, which comes last.

    A 24-h record's JSON is ~10 MB, nearly all of it the beat table; parsing only
    the part before it keeps checking a thousand-record archive to seconds. The
    top-level ``"beats"`` key is found by its two-space indent (nested keys are
    indented further and JSON strings hold no raw newline); a file laid out
    otherwise is parsed whole.
    """
    data = bytearray()
    with open(json_path, "rb") as fh:
        while chunk := fh.read(1 << 16):
            searched = max(0, len(data) - len(_BEATS_KEY))
            data.extend(chunk)
            cut = data.find(_BEATS_KEY, searched)
            if cut >= 0:
                return json.loads(bytes(data[:cut]).rstrip().rstrip(b",") + b"\n}")
    return json.loads(data)


def _provenance_of(summary: dict) -> Provenance | None:
    software, models, rhythm = (summary.get(k) for k in ("software", "models", "rhythm_model"))
    options = summary.get(OPTIONS_KEY)
    if not isinstance(software, dict) or not isinstance(options, dict):
        return None
    classifier = models.get("manifest_sha256") if isinstance(models, dict) else None
    rhythm_sha = rhythm.get("manifest_sha256") if isinstance(rhythm, dict) else None
    return Provenance(software.get("beatscope"), classifier, rhythm_sha, options)
