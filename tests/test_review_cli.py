"""Headless review: ``beatscope review --apply EDITS.csv`` and ``beatscope export``,
read back with ``wfdb.rdann`` and the ``csv`` module."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import wfdb

from beatscope.cli.main import main
from beatscope.io import load_record
from beatscope.review.sidecar import FOLDER_ENV, open_review, review_path
from conftest import copy_record

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def reviews_beside_the_record(monkeypatch):
    """These tests check where the sidecar goes: beside the record, as shipped."""
    monkeypatch.delenv(FOLDER_ENV, raising=False)


@pytest.fixture()
def record_copy(tmp_path) -> Path:
    return copy_record("mitdb_119", tmp_path)


def write_edits(path: Path, rows: list[tuple]) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sample", "action", "label", "note"])
        w.writerows(rows)
    return path


def test_review_apply_then_export(record_copy, tmp_path, capsys):
    record = load_record(record_copy)
    ref = record.annotations.sample[[s in "NV" for s in record.annotations.symbol]]
    edits = write_edits(tmp_path / "edits.csv", [
        (ref[3] + 5, "relabel", "S", ""),  # 5 samples off the R peak: matched to it
        (ref[4], "delete", "", ""),
        (ref[5], "note", "", "bundle branch aberrancy?"),
        (int(ref[6] + ref[7]) // 2, "insert", "V", ""),
    ])
    assert main(["review", str(record_copy), "--apply", str(edits), "--reviewer", "dr. a"]) == 0
    out = capsys.readouterr().out
    assert "4 edits applied" in out and "reviewed: 3 of" in out
    sidecar = record_copy.with_name("mitdb_119.beatscope.sqlite")
    assert sidecar.is_file()

    assert main(["export", str(record_copy), "--out", str(tmp_path / "out")]) == 0
    rev = wfdb.rdann(str(tmp_path / "out" / "mitdb_119"), "rev")
    ai = wfdb.rdann(str(tmp_path / "out" / "mitdb_119"), "ai")
    beats_rev = [i for i, s in enumerate(rev.symbol) if s != "+"]
    assert len(beats_rev) == len(ai.sample)  # one inserted, one deleted
    by_sample = dict(zip(rev.sample, rev.symbol, strict=True))
    near = lambda s: min(by_sample, key=lambda x: abs(int(x) - int(s)))  # noqa: E731
    assert by_sample[near(ref[3])] == "S"
    assert abs(int(near(ref[4])) - int(ref[4])) > 50  # deleted: not in rev
    assert "bundle branch aberrancy?" in rev.aux_note
    assert any(s == "+" and a.startswith("(") for s, a in zip(rev.symbol, rev.aux_note,
                                                                strict=True))
    with open(tmp_path / "out" / "mitdb_119_beats.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(ai.sample) + 1
    edited = [r for r in rows if r["reviewer"] == "dr. a"]
    # a note leaves the label (and so its source) as the model gave it
    assert sorted(r["source"] for r in edited) == ["model", "reviewer", "reviewer", "reviewer"]
    assert sum(r["deleted"] == "1" for r in rows) == 1
    assert sum(r["inserted"] == "1" for r in rows) == 1
    assert all(r["time"].count(":") == 2 for r in rows)

    # the review reopens with its history: the last edit (the insertion) undoes
    review = open_review(record, review_path(record))
    assert review.stack.undo_text == "Undo insert a beat (V)"
    review.stack.undo()
    review.close()


def test_a_bad_row_stops_the_import_and_keeps_the_rows_before(record_copy, tmp_path, capsys):
    record = load_record(record_copy)
    ref = record.annotations.sample
    edits = write_edits(tmp_path / "edits.csv", [
        (ref[3], "relabel", "V", ""), (ref[4], "relabel", "X", ""), (ref[5], "delete", "", "")])
    assert main(["review", str(record_copy), "--apply", str(edits)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "edits.csv line 3" in err and "'X'" in err
    review = open_review(record, review_path(record))
    assert review.stack.history() == ["relabel 1 beat N \u2192 V"]
    assert not review.store.rows.deleted.any()
    review.close()


def test_export_without_a_review_and_a_foreign_sidecar(record_copy, tmp_path, capsys):
    assert main(["export", str(record_copy), "--out", str(tmp_path / "o")]) == 1
    assert "no review yet" in capsys.readouterr().err
    sidecar = record_copy.with_name("mitdb_119.beatscope.sqlite")
    sidecar.write_bytes(b"garbage" * 50)
    edits = write_edits(tmp_path / "e.csv", [])
    assert main(["review", str(record_copy), "--apply", str(edits)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "mitdb_119.beatscope.sqlite" in err
    assert sidecar.read_bytes() == b"garbage" * 50
