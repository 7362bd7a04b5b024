"""Training inputs that make the classifier hold away from MIT-BIH (issue 17): one
lead fed to both inputs, inverted beats, and CinC 2017's guarded normal beats."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from beatscope.evaluate.labelled import CLASS_INDEX
from beatscope.training import cinc_normals
from beatscope.training.augment import AugmentConfig, Augmenter


def _batch(b: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.randn(b, 4, 400, generator=g)  # (beat lead 0, 1, difference lead 0, 1)


def test_lead_copy_feeds_one_lead_to_both_inputs_in_beat_and_difference_alike() -> None:
    x = _batch()
    y = Augmenter(AugmentConfig(p=0.0, lead_copy=1.0), {}, torch.Generator().manual_seed(0))(x)
    # every beat: its two leads equal, and the same lead copied in both channel pairs
    assert torch.equal(y[:, 0], y[:, 1]) and torch.equal(y[:, 2], y[:, 3])
    from_lead0 = torch.all(y[:, 0] == x[:, 0], dim=1)
    from_lead1 = torch.all(y[:, 0] == x[:, 1], dim=1)
    assert torch.all(from_lead0 ^ from_lead1)
    assert torch.equal(y[from_lead0, 2], x[from_lead0, 2])
    assert torch.equal(y[from_lead1, 2], x[from_lead1, 3])
    assert 10 < int(from_lead0.sum()) < 54  # both directions are used


def test_polarity_inverts_whole_beats_at_its_rate() -> None:
    x = _batch(2000)
    y = Augmenter(AugmentConfig(p=0.0, polarity=0.25), {}, torch.Generator().manual_seed(0))(x)
    flipped = torch.all(y == -x, dim=(1, 2))
    assert torch.all(flipped | torch.all(y == x, dim=(1, 2)))
    assert 0.2 < float(flipped.float().mean()) < 0.3


def test_new_augmentations_are_off_by_default() -> None:
    x = _batch()
    y = Augmenter(AugmentConfig(p=0.0), {}, torch.Generator().manual_seed(0))(x)
    assert torch.equal(x, y)


def _recording(n: int = 40, rr: float = 0.8, fs: float = 300.0, seed: int = 0):
    """Windows (n, 2, 400) of one dominant shape with a little noise, and R samples."""
    rng = np.random.default_rng(seed)
    t = np.arange(400)
    qrs = np.exp(-0.5 * ((t - 160) / 6.0) ** 2) - 0.3 * np.exp(-0.5 * ((t - 175) / 8.0) ** 2)
    tw = 0.3 * np.exp(-0.5 * ((t - 260) / 25.0) ** 2)
    shape = qrs + tw
    windows = shape[None, None, :] + 0.02 * rng.standard_normal((n, 2, 400))
    sample = np.round(np.cumsum(np.full(n, rr)) * fs).astype(np.int64)
    return windows.astype(np.float32), sample, fs


def test_guard_keeps_the_dominant_regular_beats() -> None:
    windows, sample, fs = _recording()
    keep = cinc_normals.dominant_mask(windows, sample, fs)
    assert keep[1:-1].all() and not keep[0] and not keep[-1]  # ends have no RR pair


def test_guard_drops_a_wide_beat_and_a_premature_one_and_the_beat_after_its_pause() -> None:
    windows, sample, fs = _recording()
    t = np.arange(400)
    windows[10] = 0.8 * np.exp(-0.5 * ((t - 175) / 30.0) ** 2) - 0.5 * np.exp(
        -0.5 * ((t - 250) / 30.0) ** 2)  # wide, PVC-like
    sample[20:] -= int(0.25 * fs)  # beat 20 comes 250 ms early: a premature beat
    sample[21:] += int(0.25 * fs)  # ... and is followed by a long interval
    keep = cinc_normals.dominant_mask(windows, sample, fs)
    assert not keep[10]
    assert not keep[20]  # early
    assert not keep[19]  # its following RR is short against its preceding one
    assert keep[5] and keep[30]


def test_guard_follows_gradual_sinus_arrhythmia() -> None:
    windows, _, fs = _recording(60)
    rr = 0.8 + 0.12 * np.sin(np.arange(60) * 2 * np.pi / 12)  # breathing, +-15 %
    sample = np.round(np.cumsum(rr) * fs).astype(np.int64)
    assert cinc_normals.dominant_mask(windows, sample, fs)[1:-1].mean() > 0.9


def test_guard_gives_nothing_from_a_recording_that_is_mostly_not_dominant() -> None:
    windows, sample, fs = _recording()
    rng = np.random.default_rng(3)
    windows[::2] = rng.standard_normal((20, 2, 400))  # every other beat: another shape
    assert not cinc_normals.dominant_mask(windows, sample, fs).any()


def test_folds_are_record_wise_and_the_held_out_fold_is_never_chosen(tmp_path) -> None:
    names = [f"A{i:05d}" for i in range(1, 101)]
    (tmp_path / "REFERENCE.csv").write_text(
        "".join(f"{n},{'N' if i % 3 else 'A'}\n" for i, n in enumerate(names)))
    normal = cinc_normals.normal_records(tmp_path)
    assert len(normal) == 66
    chosen = cinc_normals.training_names(tmp_path, 1000, seed=0)
    assert chosen and all(cinc_normals.fold_of(n) != cinc_normals.HELD_OUT_FOLD
                          for n in chosen)
    assert set(chosen) == {n for n in normal
                           if cinc_normals.fold_of(n) != cinc_normals.HELD_OUT_FOLD}
    assert cinc_normals.training_names(tmp_path, 10, seed=0) == \
        cinc_normals.training_names(tmp_path, 10, seed=0)


@pytest.mark.parametrize("per_record", [3, 100])
def test_normal_beats_labelled_n_at_most_per_record(tmp_path, monkeypatch,
                                                    per_record: int) -> None:
    windows, sample, fs = _recording()

    def fake_extract(name, reader):
        from beatscope.evaluate.labelled import RecordBeats

        label = np.where(cinc_normals.dominant_mask(windows, sample, fs),
                         CLASS_INDEX["N"], -1).astype(np.int8)
        return RecordBeats(name, windows.astype(np.float16), np.ones((len(sample), 8),
                           np.float32), sample, label, np.zeros(0, np.int8), fs)

    monkeypatch.setattr(cinc_normals, "extract_normal", fake_extract)
    monkeypatch.setattr(cinc_normals, "load_reader", lambda cinc: None)
    beats = cinc_normals.load_normal_beats(tmp_path, ["A00001", "A00002"], tmp_path / "cache",
                                           per_record, seed=0)
    for b in beats:
        assert set(np.unique(b.label)) <= {-1, CLASS_INDEX["N"]}
        assert (b.label >= 0).sum() == min(per_record, 38)
        assert len(b) == len(sample)  # every beat kept for the local reference
    # the second call reads the cache and gives the same beats
    again = cinc_normals.load_normal_beats(tmp_path, ["A00001"], tmp_path / "cache",
                                           per_record, seed=0)
    assert np.array_equal(again[0].sample, beats[0].sample)
