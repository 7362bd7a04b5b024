"""Training machinery of the rhythm model: the prepared data file, the batch
sampler, the weight average and folds trained in parallel processes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from beatscope.rhythm.model import WINDOW_SAMPLES
from beatscope.training.rhythm_data import CincData, MitRecord
from beatscope.training.rhythm_prepared import load_prepared, save_prepared
from beatscope.training.rhythm_trainer import (
    RhythmTrainConfig,
    Sampler,
    WeightAverage,
    new_model,
    run_cv,
)


def _cinc(n: int, rng: np.random.Generator, lengths=(900, 1500, 3000)) -> CincData:
    """Record i: class i % 4, an ECG-like spike train plus noise, in mV."""
    signals, labels = [], []
    for i in range(n):
        length = lengths[i % len(lengths)]
        x = rng.normal(0, 0.05, length)
        x[::70 + 10 * (i % 4)] += 1.2
        signals.append(x.astype(np.float32))
        labels.append(i % 4)
    return CincData([f"A{i:05d}" for i in range(n)], np.array(labels), signals)


def _mit(name: str, rng: np.random.Generator) -> MitRecord:
    x = rng.normal(0, 0.3, 6000).astype(np.float32)
    starts = np.arange(0, 6000 - WINDOW_SAMPLES + 1, 250, dtype=np.int64)
    target = np.zeros((len(starts), 4), np.float32)
    target[:, 1 if name.endswith("1") else 0] = 1.0
    mask = np.ones_like(target)
    mask[:, 3] = 0.0
    return MitRecord(name, x, starts, target, mask, duration_s=60.0, fs=360.0)


def test_prepared_file_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    cinc = _cinc(9, rng)
    mit = {n: _mit(n, rng) for n in ("100", "201")}
    digest = save_prepared(tmp_path / "p.npz", cinc, mit, {"command": "test"})
    back, back_mit, meta = load_prepared(tmp_path / "p.npz")
    assert meta["sha256"] == digest and meta["source"]["command"] == "test"
    assert back.names == cinc.names and np.array_equal(back.label, cinc.label)
    for a, b in zip(cinc.signals, back.signals, strict=True):
        assert len(a) == len(b) and np.abs(a - b).max() <= 0.0025 + 1e-6  # half a 5-uV step
    assert sorted(back_mit) == ["100", "201"]
    for name, rec in mit.items():
        got = back_mit[name]
        assert np.array_equal(got.starts, rec.starts)
        assert np.array_equal(got.target, rec.target) and np.array_equal(got.mask, rec.mask)
        assert np.abs(got.signal - rec.signal).max() <= 0.0025 + 1e-6
    np.savez(tmp_path / "other.npz", meta=np.array(json.dumps({"format": "x"})))
    with pytest.raises(ValueError, match="not a prepared rhythm file"):
        load_prepared(tmp_path / "other.npz")


def test_sampler_batches_are_seeded_zscored_and_pad_short_records() -> None:
    rng = np.random.default_rng(1)
    data = _cinc(12, rng)
    mit = [_mit("100", rng), _mit("201", rng)]
    cfg = RhythmTrainConfig(mit_share=0.3)
    x1, y1, m1 = Sampler(cfg, data, np.arange(12), mit, np.random.default_rng(5)).batch(64)
    x2, _, _ = Sampler(cfg, data, np.arange(12), mit, np.random.default_rng(5)).batch(64)
    assert x1.shape == (64, 1, WINDOW_SAMPLES) and torch.equal(x1, x2)
    assert torch.all(y1.sum(dim=1) == 1)
    assert torch.all(m1[:, :3] == 1)  # MIT-BIH rows mask NOISE only
    x = x1[:, 0].numpy()
    for row in x:
        valid = np.flatnonzero(row != 0)
        n = valid[-1] + 1
        # a 900-sample record is z-scored over its 900 samples and zero-padded
        assert n in (900, WINDOW_SAMPLES)
        assert abs(row[:n].mean()) < 1e-4 and abs(row[:n].std() - 1) < 1e-3


def test_sampler_balances_classes() -> None:
    rng = np.random.default_rng(2)
    data = _cinc(40, rng)
    data = replace(data, label=np.array([0] * 34 + [1, 1, 2, 2, 3, 3]))
    even = Sampler(RhythmTrainConfig(balance_alpha=1.0), data, np.arange(40), [],
                   np.random.default_rng(0))
    _, y, _ = even.batch(4000)
    share = y.sum(dim=0).numpy() / 4000
    assert np.all(np.abs(share - 0.25) < 0.04)
    plain = Sampler(RhythmTrainConfig(balance_alpha=0.0), data, np.arange(40), [],
                    np.random.default_rng(0))
    _, y, _ = plain.batch(4000)
    assert y[:, 0].mean() > 0.8


def test_weight_average_moves_towards_the_live_weights() -> None:
    torch.manual_seed(0)
    model = new_model(RhythmTrainConfig())
    average = WeightAverage(model, decay=0.9)
    before = {k: v.clone() for k, v in average.shadow.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    model.train()
    model(torch.randn(4, 1, WINDOW_SAMPLES))  # BN running statistics and counter move
    average.update(model)
    live = model.state_dict()
    for name, value in average.shadow.state_dict().items():
        if value.dtype.is_floating_point:
            assert torch.allclose(value, 0.9 * before[name] + 0.1 * live[name], atol=1e-6)
        else:
            assert torch.equal(value, live[name])
    assert not any(p.requires_grad for p in average.shadow.parameters())


#: A 2-fold run of one epoch of a tiny network: seconds, for the run machinery's tests.
TINY = RhythmTrainConfig(folds=2, epochs=1, samples_per_epoch=64, batch=32, threads=1,
                         channels=(4, 4, 4, 4, 4), hidden=4, precision="fp32")


def _tiny_prepared(folder: Path, seed: int) -> Path:
    """A prepared data file of 24 synthetic CinC records and two MIT-BIH records."""
    rng = np.random.default_rng(seed)
    prepared = folder / "prepared.npz"
    save_prepared(prepared, _cinc(24, rng), {"201": _mit("201", rng), "100": _mit("100", rng)},
                  {"command": "test"})
    return prepared


def test_parallel_folds_write_every_fold_and_the_pooled_cv(tmp_path: Path) -> None:
    prepared = _tiny_prepared(tmp_path, seed=3)
    cfg = replace(TINY, ema=0.9)
    out = tmp_path / "out"
    manifest = run_cv(cfg, None, None, out, "beatscope train-rhythm (test)", prepared=prepared,
                      jobs=2)
    for k in (0, 1):
        result = json.loads((out / "folds" / str(k) / "result.json").read_text())
        assert result["cinc_test"]["records"] == 12
        assert (out / "folds" / str(k) / "rhythm.pt").is_file()
    cv = manifest["metrics"]["cross_validation"]
    assert cv["folds_present"] == [0, 1] and cv["pooled"]["records"] == 24
    assert manifest["data"]["prepared_file"]["sha256"] == load_prepared(prepared)[2]["sha256"]
    assert (out / "rhythm.pt").is_file() and manifest["hyper_parameters"]["ema"] == 0.9
    log = (out / "train.log").read_text()
    assert "fold 0 epoch 1" in log and "fold 1 epoch 1" in log and "final epoch 1" in log


def test_seeds_sharing_their_folds_combine_into_one_ensemble(tmp_path: Path) -> None:
    from beatscope.errors import BeatScopeError
    from beatscope.rhythm.model import RhythmModel
    from beatscope.training.rhythm_cv_scores import pooled_cv
    from beatscope.training.rhythm_ensemble import combine_rhythm
    from beatscope.training.rhythm_metrics import logit

    prepared = _tiny_prepared(tmp_path, seed=5)
    runs = {}
    for name, seed, split_seed in (("a", 0, 0), ("b", 1, 0), ("c", 1, None)):
        runs[name] = tmp_path / name
        run_cv(replace(TINY, seed=seed, split_seed=split_seed), None, None, runs[name],
               f"test seed {seed}", prepared=prepared)
    # --split-seed pins the folds: seed 1 holds out what seed 0 holds out
    held = {n: list(np.load(runs[n] / "folds" / "0" / "cinc_test_probs.npz")["names"])
            for n in runs}
    assert held["a"] == held["b"] != held["c"]
    with pytest.raises(ValueError, match="same --split-seed"):
        pooled_cv([runs["a"], runs["c"]], 2)

    out = tmp_path / "ensemble"
    manifest = combine_rhythm([runs["a"], runs["b"]], out, "test combine",
                              [runs["a"], runs["b"]], folds=2)
    assert manifest["metrics"]["cross_validation"]["pooled"]["records"] == 24
    assert set(manifest["members"]) == {"rhythm_0", "rhythm_1"}
    assert manifest["members"]["rhythm_1"]["command"] == "test seed 1"

    members = [RhythmModel.load(runs[n], precision="fp32") for n in ("a", "b")]
    ensemble = RhythmModel.load(out, precision="fp32")
    x = np.random.default_rng(0).normal(size=(6, WINDOW_SAMPLES)).astype(np.float32)
    expected = 1 / (1 + np.exp(-np.mean([logit(m.predict(x)) for m in members], axis=0)))
    np.testing.assert_allclose(ensemble.predict(x), expected, atol=1e-5)
    for label, t in ensemble.thresholds.items():
        mean = np.mean([logit(np.array(m.thresholds[label])) for m in members])
        assert t == pytest.approx(1 / (1 + np.exp(-mean)), abs=1e-4)
    with pytest.raises(BeatScopeError, match="two or more"):
        combine_rhythm([runs["a"]], tmp_path / "one", "x")
    with pytest.raises(BeatScopeError, match="same --split-seed"):
        combine_rhythm([runs["a"], runs["c"]], tmp_path / "bad", "x", [runs["a"], runs["c"]], 2)
