"""EDF+ export of a review (``beatscope export --format edf``), read back with pyedflib:
the samples, rate and lead names, each live beat's reviewed label at its time, and the
rhythm episodes as "(LABEL" annotations with their durations."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pyedflib
import pytest

from beatscope.cli.main import main
from beatscope.io import load_record
from beatscope.review.export_edf import write_edf
from beatscope.review.sidecar import FOLDER_ENV, open_review, review_path
from beatscope.review.store import BeatRows, ReviewStore

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def reviews_beside_the_record(monkeypatch):
    monkeypatch.delenv(FOLDER_ENV, raising=False)


def read_back(path: Path) -> tuple[list[str], list[float], np.ndarray, list[tuple]]:
    reader = pyedflib.EdfReader(str(path))
    try:
        n = reader.signals_in_file
        labels = [reader.getLabel(i).strip() for i in range(n)]
        rates = [float(reader.getSampleFrequency(i)) for i in range(n)]
        signals = np.stack([reader.readSignal(i) for i in range(n)], axis=1)
        onsets, durations, texts = reader.readAnnotations()
        assert reader.filetype == pyedflib.FILETYPE_EDFPLUS
    finally:
        reader.close()
    return labels, rates, signals, list(zip(onsets, durations, texts, strict=True))


def resolution(signals: np.ndarray) -> np.ndarray:
    return (signals.max(axis=0) - signals.min(axis=0) + 0.02) / 65535


def test_export_edf_after_a_review(tmp_path: Path, capsys) -> None:
    for ext in ("hea", "dat", "atr"):
        shutil.copy(DATA / f"mitdb_201_afib.{ext}", tmp_path / f"mitdb_201_afib.{ext}")
    hea = tmp_path / "mitdb_201_afib.hea"
    record = load_record(hea)
    beats = record.annotations.sample[[s == "N" for s in record.annotations.symbol]]
    with open(tmp_path / "edits.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sample", "action", "label", "note"])
        w.writerows([(beats[3], "relabel", "V", ""), (beats[4], "delete", "", "")])
    assert main(["review", str(hea), "--apply", str(tmp_path / "edits.csv")]) == 0
    assert main(["export", str(hea), "--out", str(tmp_path / "out"), "--format", "edf"]) == 0
    assert "mitdb_201_afib.edf" in capsys.readouterr().out
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["mitdb_201_afib.edf"]

    labels, rates, signals, annotations = read_back(tmp_path / "out" / "mitdb_201_afib.edf")
    assert labels == record.lead_names
    assert rates == [record.fs] * record.n_leads
    n = record.n_samples
    assert signals.shape[0] >= n and not signals[n:].any()  # whole data records
    assert (np.abs(signals[:n] - record.signals) <= resolution(record.signals)).all()

    review = open_review(record, review_path(record))
    try:
        rows, rhythm = review.store.rows, review.database.rhythm()
    finally:
        review.close()
    live = ~rows.deleted
    beat_notes = [(o, t) for o, _, t in annotations if not t.startswith("(")]
    assert [t for _, t in beat_notes] == [str(c) for c in rows.label[live]]
    assert np.allclose([o for o, _ in beat_notes], rows.sample[live] / record.fs, atol=1e-3)
    assert "V" in [t for _, t in beat_notes]
    assert not any(abs(o - beats[4] / record.fs) < 0.01 for o, _ in beat_notes)  # deleted

    episodes = [(o, d, t) for o, d, t in annotations if t.startswith("(")]
    assert rhythm and rhythm["episodes"], "the AF excerpt should give rhythm episodes"
    assert len(episodes) == len(rhythm["episodes"])
    for (onset, duration, text), episode in zip(episodes, rhythm["episodes"], strict=True):
        assert text == f"({episode['label']}"
        assert onset == pytest.approx(episode["start_s"], abs=1e-3)
        assert duration == pytest.approx(episode["end_s"] - episode["start_s"], abs=1e-3)


def test_write_edf_directly_with_more_beats_than_seconds(tmp_path: Path) -> None:
    record = load_record(DATA / "mitdb_100.hea")
    record.signals = record.signals[:3600]  # 10 s at 360 Hz, a partial last data record
    record.signals = np.ascontiguousarray(record.signals[:3500])
    sample = np.arange(10, 3500, 70)  # 50 beats in under 10 s
    store = ReviewStore(record.fs, BeatRows.from_model(sample, ["N", "S"] * 25))
    rhythm = {"episodes": [{"start_s": 1.0, "end_s": 4.5, "label": "SVTA"}]}
    path = write_edf(store, record, "short", tmp_path, rhythm)
    assert path == tmp_path / "short.edf"
    assert [p.name for p in tmp_path.iterdir()] == ["short.edf"]  # no temporary left
    labels, rates, signals, annotations = read_back(path)
    assert labels == ["MLII", "V5"] and rates == [360.0, 360.0]
    assert (np.abs(signals[:3500] - record.signals) <= resolution(record.signals)).all()
    texts = [t for _, _, t in annotations]
    assert texts.count("N") == 25 and texts.count("S") == 25
    assert ("(SVTA" in texts and
            [d for _, d, t in annotations if t == "(SVTA"] == [pytest.approx(3.5)])
