"""An earlier ``beatscope analyze`` output read back for the report (``--from DIR``):
its JSON summary holds the beats with their probabilities, the rhythm findings, the
unreadable stretches, the models' provenance and the warnings, which is all the report
needs, so a 24-h record is not analysed twice."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from beatscope.analysis.result import BeatTable, RhythmInputs
from beatscope.errors import BeatScopeError


@dataclass
class SavedResult:
    beats: BeatTable
    rhythm: dict | None
    classifier: dict | None
    rhythm_model: dict | None
    rhythm_inputs: RhythmInputs
    warnings: list[str] = field(default_factory=list)


def read_saved_result(folder: Path, record) -> SavedResult:
    """``folder/NAME.json`` as written by ``beatscope analyze`` for ``record``."""
    path = Path(folder) / f"{record.name}.json"
    try:
        summary = json.loads(path.read_text())
        beats = summary["beats"]
        sample = np.asarray(beats["sample"], np.int64)
        label = np.array(list(beats["label"]), dtype="<U1")
        probability = (None if beats.get("probability") is None
                       else np.asarray(beats["probability"], np.float32))
        unreadable = [tuple(x) for x in summary["signal_quality"].get("unreadable", [])]
    except OSError as err:
        raise BeatScopeError(f"{path}: cannot read the earlier analysis ({err.strerror})") \
            from None
    except (ValueError, KeyError, TypeError) as err:
        raise BeatScopeError(f"{path}: not a BeatScope analysis summary ({err})") from None
    if summary.get("record", {}).get("n_samples") not in (None, record.n_samples):
        raise BeatScopeError(f"{path}: analyses another recording (its sample count "
                             "differs); run the analysis again")
    return SavedResult(BeatTable(sample, label, probability), summary.get("rhythm"),
                       summary.get("models"), summary.get("rhythm_model"),
                       RhythmInputs(unreadable, None), list(summary.get("warnings") or []))
