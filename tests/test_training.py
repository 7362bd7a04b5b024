"""Training pieces: protocols, labelled beats, augmentation, a tiny run, scoring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from beatscope.evaluate.classification import score_classification
from beatscope.evaluate.labelled import CLASS_INDEX, extract_record, load_beats
from beatscope.training import splits
from beatscope.training.augment import R_INDEX, AugmentConfig, Augmenter
from beatscope.training.trainer import BeatArrays, TrainConfig, train_member

DATA = Path(__file__).parent / "data"


def test_inter_patient_sets_are_disjoint_and_exclude_paced() -> None:
    assert not set(splits.DS1) & set(splits.DS2)
    assert len(splits.DS1) == len(splits.DS2) == 22
    assert not set(splits.PACED) & (set(splits.DS1) | set(splits.DS2))
    assert set(splits.DS1_VALIDATION) <= set(splits.DS1)
    assert len(splits.all_records()) == 48


def test_ds1_cross_validation_folds_partition_ds1_without_leaks() -> None:
    folds = splits.DS1_CV_FOLDS
    flat = [r for f in folds for r in f]
    assert sorted(flat) == sorted(splits.DS1) and len(flat) == len(set(flat))
    for k in range(len(folds)):
        train, val, test = splits.ds1_cv_split(k)
        assert set(test) == set(folds[k]) and val and train
        assert not (set(train) & set(val)) and not (set(train) | set(val)) & set(test)
        assert sorted(train + val + test) == sorted(splits.DS1)
        assert not set(train + val + test) & set(splits.DS2)
    # the S-rich records are spread: no fold tests two of the three richest
    for f in folds:
        assert len(set(f) & {"209", "201", "207"}) <= 1


def test_labelled_beats_follow_the_reference() -> None:
    beats = extract_record(DATA / "mitdb_119.hea")
    assert beats.windows.shape == (len(beats), 2, 400)
    assert beats.rr.shape == (len(beats), 8)
    labels = beats.label[beats.label >= 0]
    # mitdb_119's excerpt: 104 N and 26 V beats (tests/data/README.md).
    assert (labels == CLASS_INDEX["N"]).sum() == 104
    assert (labels == CLASS_INDEX["V"]).sum() == 26


def test_cache_round_trip(tmp_path: Path) -> None:
    (a,) = load_beats(DATA, ["mitdb_100"], tmp_path)
    assert list(tmp_path.glob("mitdb_100-*.npz"))
    (b,) = load_beats(DATA, ["mitdb_100"], tmp_path)
    assert np.array_equal(a.sample, b.sample) and np.array_equal(a.label, b.label)
    assert np.array_equal(a.windows, b.windows)


def test_augmentation_keeps_shape_and_r_position() -> None:
    g = torch.Generator().manual_seed(0)
    noise = {"ma": np.random.default_rng(0).standard_normal((5000, 2)).astype(np.float32)}
    aug = Augmenter(AugmentConfig(p=1.0, noise_ma=0.0, offset=0.0, slope=0.0), noise, g)
    x = torch.zeros(8, 2, 400)
    x[:, :, R_INDEX] = 5.0
    y = aug(x)
    assert y.shape == x.shape
    # Scaling and warping move nothing at the R peak: it is still the maximum.
    assert torch.all(y.argmax(dim=2) == R_INDEX)


def test_augmentation_is_seeded() -> None:
    x = torch.randn(4, 2, 400)
    noise = {"bw": np.random.default_rng(1).standard_normal((5000, 2)).astype(np.float32)}
    a = Augmenter(AugmentConfig(), noise, torch.Generator().manual_seed(3))(x)
    b = Augmenter(AugmentConfig(), noise, torch.Generator().manual_seed(3))(x)
    assert torch.equal(a, b)


def test_tiny_training_run_lowers_the_loss() -> None:
    beats = load_beats(DATA, ["mitdb_119", "mitdb_208", "mitdb_100"], None)
    data = BeatArrays.stack(beats)
    cfg = TrainConfig(models=("slap",), epochs=4, samples_per_epoch=512, batch=64,
                      lr=3e-3, patience=10, precision="fp32", threads=1)
    _, kwargs, history = train_member("slap", cfg, data, data, {})
    assert kwargs["use_rr"] is True
    assert history[-1]["loss"] < history[0]["loss"]


def test_confusion_matrix_and_missed_beats() -> None:
    ref = np.array([0, 0, 0, 1, 1, 2, -1])
    pred = np.array([0, 0, 1, 1, 0, 2, 2])
    s = score_classification(ref, pred, missed=np.array([2]))
    assert s.confusion[0, 0] == 2 and s.confusion[0, 1] == 1
    assert s.confusion[2, 5] == 1  # the missed V beat
    assert s.n_beats == 7  # the unmatched detection (-1) is not a beat
    assert s.sensitivity(2) == pytest.approx(50.0)  # 1 of 2 V beats, one missed
    assert s.ppv(2) == pytest.approx(100.0)  # the -1 detection is not counted
    assert s.accuracy == pytest.approx(100 * 4 / 7)
    assert s.f1(1) == pytest.approx(50.0)


def test_train_takes_a_fixed_ensemble_weight_and_refuses_one_out_of_range(capsys) -> None:
    from beatscope.cli.main import build_parser, main

    args = build_parser().parse_args(["train", "--out", "x", "--ensemble-weight", "0.792",
                                      "--patience", "8"])
    assert args.ensemble_weight == 0.792 and args.patience == 8
    assert build_parser().parse_args(["train", "--out", "x"]).ensemble_weight is None
    assert main(["train", "--out", "x", "--ensemble-weight", "1.5"]) == 1
    assert "--ensemble-weight 1.5: must be in [0, 1]" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--lead-copy", "--polarity"])
def test_train_refuses_an_augmentation_probability_out_of_range(capsys, flag: str) -> None:
    from beatscope.cli.main import main

    assert main(["train", "--out", "x", flag, "1.5"]) == 1
    assert f"{flag} 1.5: must be in [0, 1]" in capsys.readouterr().err
