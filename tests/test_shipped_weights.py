"""The weight sets shipped in model_weights/: intact, loadable, and good on real beats.

These tests use the committed weights on purpose: they fail if a weight file is
missing, corrupt or out of step with its manifest, or if the shipped model stops
finding ventricular beats in the bundled excerpts.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from beatscope.analysis import AnalysisOptions, analyze
from beatscope.evaluate.classification import score_classification
from beatscope.evaluate.labelled import CLASS_INDEX, reference_classes
from beatscope.evaluate.matching import match_beats
from beatscope.io import load_record
from beatscope.models import BeatClassifier, WeightsError, default_weights_dir, load_weight_set
from beatscope.segment import CONTEXT_COMPATIBLE, CONTEXT_VERSION

DATA = Path(__file__).parent / "data"
PRODUCTION = default_weights_dir()
VALIDATION = PRODUCTION / "validation-ds1"


@pytest.fixture(scope="module")
def classifier() -> BeatClassifier:
    torch.set_num_threads(1)
    return BeatClassifier(load_weight_set(PRODUCTION), device="cpu", num_threads=1)


@pytest.mark.parametrize("folder", [PRODUCTION, VALIDATION])
def test_manifest_records_provenance(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    for key in ("command", "protocol", "data", "hyperparameters", "metrics", "files",
                "architecture", "ensemble"):
        assert key in manifest, key
    assert manifest["hyperparameters"]["seed"] is not None
    assert set(manifest["files"]) == {"resnet.pt", "slap.pt"}
    load_weight_set(folder)  # every sha256 checks out


def test_validation_set_never_saw_ds2() -> None:
    from beatscope.training.splits import DS2

    manifest = json.loads((VALIDATION / "manifest.json").read_text())
    seen = set(manifest["data"]["records"]["train"]) | set(manifest["data"]["records"]["val"])
    assert not seen & set(DS2)


def test_tampered_shipped_file_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "weights"
    shutil.copytree(PRODUCTION, copy, ignore=shutil.ignore_patterns("validation-ds1", "*.log"))
    raw = bytearray((copy / "slap.pt").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (copy / "slap.pt").write_bytes(bytes(raw))
    with pytest.raises(WeightsError, match="slap.pt: sha256 mismatch"):
        load_weight_set(copy)


@pytest.mark.parametrize("version, loads", [
    (CONTEXT_VERSION, True),
    *((v, True) for v in CONTEXT_COMPATIBLE),
    ("whole-block median", False),  # the context before issue 13
    (None, False),
])
def test_a_set_trained_on_another_patient_context_is_refused(tmp_path: Path, version,
                                                              loads) -> None:
    copy = tmp_path / "weights"
    shutil.copytree(PRODUCTION, copy, ignore=shutil.ignore_patterns("validation-ds1", "*.log"))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["context"] = None if version is None else {**manifest["context"],
                                                        "version": version}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    if loads:
        load_weight_set(copy)
    else:
        with pytest.raises(WeightsError, match="trained on patient context .*retrain"):
            load_weight_set(copy)


@pytest.mark.parametrize("name", ["mitdb_119", "mitdb_208"])
def test_ventricular_beats_are_found(name: str, classifier: BeatClassifier) -> None:
    """The excerpts with PVCs (bigeminy in 119; multiform PVCs, couplets in 208)."""
    record = load_record(DATA / name)
    result = analyze(record, AnalysisOptions(classifier=classifier))
    ref_pos, ref_cls = reference_classes(record.annotations.symbol, record.annotations.sample)
    match = match_beats(ref_pos, result.beats.sample, int(0.15 * record.fs))
    predicted = np.array([CLASS_INDEX[c] for c in result.beats.label])
    s = score_classification(ref_cls[match >= 0], predicted[match[match >= 0]],
                             missed=ref_cls[match < 0])
    assert s.f1(CLASS_INDEX["V"]) >= 90.0, s.table()
    assert result.beats.probability is not None
    assert np.allclose(result.beats.probability.sum(axis=1), 1.0, atol=1e-4)
    assert result.classifier["models"] == ["resnet", "slap"]


def test_sinus_excerpt_stays_normal(classifier: BeatClassifier) -> None:
    record = load_record(DATA / "mitdb_100")
    result = analyze(record, AnalysisOptions(classifier=classifier))
    labels = result.beats.label
    assert np.mean(labels == "N") >= 0.97
    assert not np.any(labels == "V")


@pytest.mark.parametrize("leads", [1, 12])
def test_any_number_of_leads_is_classified(leads: int, classifier: BeatClassifier) -> None:
    """One lead feeds both model inputs; of twelve, the two best-named are used."""
    from dataclasses import replace

    record = load_record(DATA / "mitdb_119")
    x = record.signals
    if leads == 1:
        signals, names = x[:, :1].copy(), ["MLII"]
    else:
        names = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
        signals = np.repeat(x[:, :1], 12, axis=1)
        signals[:, 1], signals[:, 6] = x[:, 0], x[:, 1]  # II and V1 are the real leads
    one = replace(record, signals=np.ascontiguousarray(signals), lead_names=names,
                  units=["mV"] * leads, invalid_mask=None)
    result = analyze(one, AnalysisOptions(classifier=classifier))
    assert len(result.beats) > 100
    assert set(result.beats.label) <= set("NSVFQ")
    assert np.sum(result.beats.label == "V") >= 15  # 26 PVCs in the excerpt
