"""The learned rhythm model (CNN + one BiLSTM layer): network, weights, training,
inference inside ``analyze`` and the shipped weights on the bundled excerpts."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch

from beatscope.analysis import AnalysisOptions, analyze
from beatscope.analysis.output import summary_dict
from beatscope.io import Record, load_record
from beatscope.models.weights_io import WeightsError, save_weight_set
from beatscope.rhythm.model import (
    LABELS,
    WINDOW_SAMPLES,
    RhythmCnnBiLstm,
    RhythmModel,
    default_rhythm_weights_dir,
    load_default_rhythm_model,
    to_model_rate,
    window_starts,
)
from beatscope.training.rhythm_data import CincData, mit_folds
from beatscope.training.rhythm_metrics import average_precision, cinc_scores
from beatscope.training.rhythm_trainer import RhythmTrainConfig, Sampler

DATA = Path(__file__).parent / "data"
SHIPPED = default_rhythm_weights_dir()


def test_network_shapes_and_determinism() -> None:
    torch.manual_seed(0)
    a = RhythmCnnBiLstm().eval()
    torch.manual_seed(0)
    b = RhythmCnnBiLstm().eval()
    x = torch.randn(3, 1, WINDOW_SAMPLES)
    with torch.inference_mode():
        ya, yb = a(x), b(x)
        assert ya.shape == (3, len(LABELS))
        assert torch.equal(ya, yb) and torch.equal(ya, a(x))
    assert a.lstm.num_layers == 1 and a.lstm.bidirectional
    assert a.config()["n_classes"] == 4


def test_windows_cover_any_length_and_rate() -> None:
    assert list(window_starts(900, 500)) == [0]
    assert list(window_starts(2300, 500)) == [0, 500, 1000, 1300]
    for fs in (100, 128, 250, 300, 360, 500, 1000):
        x = np.sin(np.arange(int(12 * fs)) / fs * 2 * np.pi * 1.2).astype(np.float32)
        y = to_model_rate(x, fs)
        assert abs(len(y) - 1200) <= 1 and y.dtype == np.float32


@pytest.mark.parametrize("fs", [100.0, 257.0, 360.0, 500.0])
def test_chunked_preprocessing_matches_one_piece(fs: float) -> None:
    x = np.random.default_rng(0).normal(size=int(95 * fs)).astype(np.float32)
    whole = to_model_rate(x, fs, chunk_s=1e9)
    chunked = to_model_rate(x, fs, chunk_s=20, margin_s=5)
    assert len(whole) == len(chunked)
    assert np.abs(whole - chunked)[500:-500].max() < 1e-3


def _weight_set(folder: Path) -> Path:
    torch.manual_seed(1)
    save_weight_set(folder, {"rhythm": RhythmCnnBiLstm()},
                    {"classes": list(LABELS), "thresholds": dict.fromkeys(LABELS, 0.5)})
    return folder


def test_weights_round_trip_and_tampered_file_refused(tmp_path: Path) -> None:
    folder = _weight_set(tmp_path / "w")
    model = RhythmModel.load(folder, precision="fp32")
    assert model.labels == LABELS and model.thresholds["AFIB"] == 0.5
    data = bytearray((folder / "rhythm.pt").read_bytes())
    data[-100] ^= 0xFF
    (folder / "rhythm.pt").write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256"):
        RhythmModel.load(folder)
    assert load_default_rhythm_model(folder) is None  # refused: rules alone, no crash
    assert load_default_rhythm_model(tmp_path / "absent") is None


def _synthetic_cinc(n: int, rng: np.random.Generator) -> CincData:
    """Class 0: regular 75 bpm spikes; class 1: irregular RR (AF-like)."""
    signals, labels = [], []
    for i in range(n):
        label = i % 2
        t, x = 0.0, np.zeros(1500, np.float32)
        while t < 14.5:
            t += 0.8 if label == 0 else rng.uniform(0.35, 1.2)
            k = int(t * 100)
            if k < 1498:
                x[k:k + 2] = 1.0
        signals.append(x + rng.normal(0, 0.02, 1500).astype(np.float32))
        labels.append(label)
    return CincData([f"s{i}" for i in range(n)], np.array(labels), signals)


def test_a_short_training_run_lowers_the_loss() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    data = _synthetic_cinc(40, rng)
    cfg = RhythmTrainConfig(precision="fp32", lr=3e-3)
    sampler = Sampler(cfg, data, np.arange(40), [], rng)
    model = RhythmCnnBiLstm(dropout=0.0)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    x, y, m = sampler.batch(64)

    def loss() -> float:  # batch statistics: a fixed batch, no parameter update
        model.train()
        with torch.no_grad():
            return float(torch.nn.functional.binary_cross_entropy_with_logits(model(x), y))

    before = loss()
    for _ in range(25):
        model.train()
        xb, yb, mb = sampler.batch(32)
        out = torch.nn.functional.binary_cross_entropy_with_logits(model(xb), yb,
                                                                   reduction="none")
        opt.zero_grad()
        ((out * mb).sum() / mb.sum()).backward()
        opt.step()
    assert loss() < 0.6 * before


def test_metrics_on_a_known_case() -> None:
    true = np.array([0, 0, 1, 2, 3])
    probs = np.eye(4)[[0, 1, 1, 2, 3]] * 0.9 + 0.05
    s = cinc_scores(true, probs, np.full(4, 0.5))
    assert s["f1"]["N"] == pytest.approx(2 / 3, abs=1e-3)
    assert s["f1"]["A"] == pytest.approx(2 / 3, abs=1e-3)
    assert s["challenge_f1_nao"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3, abs=1e-3)
    assert s["hamming_loss"] == pytest.approx(2 / 20)
    assert s["subset_accuracy"] == pytest.approx(0.8)
    assert average_precision(np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.7, 0.1])) \
        == pytest.approx((1 + 2 / 3) / 2)


def test_mit_folds_keep_one_patient_together_and_spread_af() -> None:
    names = [str(n) for n in list(range(100, 125)) + list(range(200, 235))]
    folds = mit_folds(names, 5, 0)
    assert folds["201"] == folds["202"]
    af_folds = {folds[n] for n in ("201", "203", "210", "217", "219", "221", "222")}
    assert len(af_folds) == 5


@cache
def shipped() -> RhythmModel:
    assert (SHIPPED / "manifest.json").is_file(), "shipped rhythm weights missing"
    model = RhythmModel.load(SHIPPED)
    return model


def test_shipped_manifest_records_its_training() -> None:
    manifest = json.loads((SHIPPED / "manifest.json").read_text())
    assert manifest["classes"] == list(LABELS)
    for key in ("command", "metrics", "thresholds", "trained_on", "files", "members"):
        assert key in manifest
    # an ensemble of seeds: each member keeps how it was trained
    for member in manifest["members"].values():
        for key in ("command", "git_commit", "hyper_parameters", "thresholds"):
            assert key in member
    assert manifest["metrics"]["cross_validation"]["pooled"]["records"] == 7249
    for name in manifest["files"]:
        assert (SHIPPED / name).stat().st_size < 5_000_000


def _af_probability(name: str) -> float:
    record = load_record(DATA / f"{name}.hea")
    windows = shipped().windows(record.signals, record.fs, record.lead_names)
    return float(np.mean(windows.probability["AFIB"]))


def test_shipped_model_flags_af_on_201_not_on_100() -> None:
    assert _af_probability("mitdb_201_afib") > 0.5
    assert _af_probability("mitdb_100") < 0.2


def test_analyze_fuses_the_model_into_af_episodes() -> None:
    def rhythm(name: str) -> dict:
        options = AnalysisOptions(classifier=None, rhythm_model=shipped())
        result = analyze(load_record(DATA / f"{name}.hea"), options)
        assert result.rhythm is not None
        return result.rhythm

    af, sinus = rhythm("mitdb_201_afib"), rhythm("mitdb_100")
    # the JSON says which rhythm model spoke: the shipped ensemble, by manifest sha256
    result = analyze(load_record(DATA / "mitdb_100.hea"),
                     AnalysisOptions(classifier=None, rhythm_model=shipped()))
    described = summary_dict(result)["rhythm_model"]
    assert described["manifest_sha256"] == shipped().manifest_sha256 != ""
    assert described["members"] == len(shipped().manifest["members"]) >= 2
    assert any(e["label"] == "AFIB" for e in af["episodes"])
    assert af["burden"]["af_percent"] > 50.0
    assert not any(e["label"] == "AFIB" for e in sinus["episodes"])
    assert sinus["record"]["AFIB"] < 0.5


def _twelve_lead_500hz() -> Record:
    """10 s of MITDB 100's MLII resampled to 500 Hz, as 12 leads (V leads scaled)."""
    from scipy.signal import resample_poly

    src = load_record(DATA / "mitdb_100.hea")
    lead = resample_poly(src.signals[: int(10 * src.fs), 0], 25, 18).astype(np.float32)
    names = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    gains = np.array([0.6, 1.0, 0.4, -0.8, 0.3, 0.7, -0.5, 0.8, 1.2, 1.4, 1.1, 0.9], np.float32)
    return replace(src, name="synthetic12", signals=lead[:, None] * gains[None, :], fs=500.0,
                   lead_names=names, units=["mV"] * 12, annotations=None,
                   invalid_mask=None)


def test_ten_second_twelve_lead_500hz_gives_a_sensible_rhythm() -> None:
    record = _twelve_lead_500hz()
    result = analyze(record, AnalysisOptions(classifier=None, rhythm_model=shipped()))
    rhythm = result.rhythm
    assert rhythm is not None and set(rhythm) == {"record", "episodes", "events", "burden"}
    json.dumps(rhythm, allow_nan=False)
    assert rhythm["record"]["AFIB"] < 0.5
    windows = shipped().windows(record.signals, record.fs, record.lead_names)
    assert len(windows.start_s) == 1 and windows.end_s[0] == pytest.approx(10.0)


def test_a_failing_model_leaves_the_rules_alone() -> None:
    class Broken:
        def windows(self, *args, **kwargs):
            raise RuntimeError("boom")

    record = load_record(DATA / "mitdb_100.hea")
    result = analyze(record, AnalysisOptions(classifier=None, rhythm_model=Broken()))
    assert result.rhythm is not None and "rhythm model not used" in result.warnings[-1]
    rules = analyze(record, AnalysisOptions(classifier=None, rhythm_model=None))
    assert rules.rhythm == result.rhythm
    assert result.rhythm_model is None and rules.rhythm_model is None  # rules alone


def test_train_rhythm_is_a_cli_command() -> None:
    from beatscope.cli.main import _CLI_WORDS, build_parser

    assert {"train-rhythm", "combine-rhythm"} <= _CLI_WORDS
    args = build_parser().parse_args(["train-rhythm", "--out", "x", "--folds", "5",
                                      "--epochs", "3"])
    assert args.folds == 5 and args.epochs == 3


def test_fusion_needs_the_rules_to_see_irregularity() -> None:
    from beatscope.rhythm.model_input import RULE_FLOOR, fuse

    nan = np.nan
    rule = np.array([0.05, RULE_FLOOR, 0.5, 0.9, nan, 0.3, nan])
    model = np.array([0.99, 0.64, 0.02, 0.9, 0.8, nan, nan])
    fused = fuse(rule, model)
    # a regular stretch stays regular however sure the model is
    assert fused[0] == pytest.approx(0.05)
    # where the rules see irregularity, both must agree (geometric mean)
    assert fused[1] == pytest.approx(np.sqrt(RULE_FLOOR * 0.64))
    assert fused[2] == pytest.approx(0.1)  # irregular, but the model sees P waves
    assert fused[3] == pytest.approx(0.9)
    # where only one speaks, it decides; neither: NaN
    assert fused[4] == pytest.approx(0.8) and fused[5] == pytest.approx(0.3)
    assert np.isnan(fused[6])
