"""The review core (Qt-free): commands with undo, events after commit, the SQLite
review database (round trip, history, refusals) and re-analysis keeping the review."""

from __future__ import annotations

import sqlite3
from dataclasses import fields

import numpy as np
import pytest

from beatscope.review import (
    BeatRows,
    CommandStack,
    DeleteBeats,
    InsertBeat,
    Relabel,
    ReviewDatabase,
    ReviewDatabaseError,
    ReviewStore,
    SetNote,
    Stamp,
)
from beatscope.review.merge import merge_review

FS = 360.0


def model_rows(n: int = 50, seed: int = 0) -> BeatRows:
    rng = np.random.default_rng(seed)
    sample = 200 + np.arange(n) * 300
    label = np.where(rng.random(n) < 0.2, "V", "N")
    prob = rng.dirichlet(np.ones(5), n).astype(np.float32)
    return BeatRows.from_model(sample, label, prob)


def same_rows(a: BeatRows, b: BeatRows) -> bool:
    for f in fields(BeatRows):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if x.dtype.kind == "f":
            if not np.array_equal(x, y, equal_nan=True):
                return False
        elif not np.array_equal(x, y):
            return False
    return True


def commands(store: ReviewStore):
    s = store.sample
    stamp = Stamp("dr. test", 1_700_000_000.0)
    return [Relabel(s[[1, 4, 9]], "S", stamp), DeleteBeats(s[[2, 3]], stamp),
            InsertBeat(int(s[5]) + 150, "V", "N", [0.6, 0.1, 0.2, 0.05, 0.05], stamp),
            SetNote(s[[7]], "aberrant conduction?", stamp),
            Relabel(s[[1]], "V", stamp, source="propagated")]


@pytest.mark.parametrize("which", range(5))
def test_each_command_round_trips_through_undo_and_redo(which):
    store = ReviewStore(FS, model_rows())
    stack = CommandStack(store)
    original = store.rows.copy()
    command = commands(store)[which]
    stack.push(command)
    done = store.rows.copy()
    assert not same_rows(done, original)
    stack.undo()
    assert same_rows(store.rows, original)
    stack.redo()
    assert same_rows(store.rows, done)


def test_stack_texts_cap_and_redo_cleared():
    store = ReviewStore(FS, model_rows())
    stack = CommandStack(store, max_undo=3)
    s = store.sample
    stack.push(Relabel(s[[0, 1]], "V"))
    assert stack.undo_text == "Undo relabel 2 beats N \u2192 V"
    for i in range(2, 6):
        stack.push(Relabel(s[[i]], "S"))
    assert len(stack.history()) == 3
    stack.undo()
    assert stack.can_redo
    stack.push(DeleteBeats(s[[10]]))
    assert not stack.can_redo and stack.redo_text == "Redo"


def test_events_announce_what_changed_only_after_the_journal_commits():
    store = ReviewStore(FS, model_rows())
    seen = []
    store.events.labels_changed.connect(lambda samples: seen.append(("labels", list(samples))))
    store.events.beats_changed.connect(lambda samples: seen.append(("beats", list(samples))))

    class Failing:
        def record(self, command, store_, action):
            assert seen == []  # nothing announced before the commit
            raise OSError("disk full")

    before = store.rows.copy()
    stack = CommandStack(store, journal=Failing())
    with pytest.raises(OSError):
        stack.push(Relabel(store.sample[[3]], "V"))
    assert seen == [] and same_rows(store.rows, before) and not stack.can_undo
    CommandStack(store).push(DeleteBeats(store.sample[[3]]))
    assert seen == [("beats", [int(store.sample[3])]), ("labels", [int(store.sample[3])])]


def test_store_counts_and_changes():
    store = ReviewStore(FS, model_rows())
    stack = CommandStack(store)
    model_counts = store.counts()
    n_v = model_counts["V"]
    v = store.sample[store.label == "V"]
    stack.push(Relabel(v, "N"))
    stack.push(DeleteBeats(store.sample[[0]]))
    assert store.counts()["V"] == 0
    assert store.counts(reviewed=False) == model_counts
    assert int(store.changed().sum()) == n_v + (0 if store.rows.model_label[0] == "V" else 1)
    with pytest.raises(KeyError):
        stack.push(Relabel([7], "N"))  # no beat there
    with pytest.raises(ValueError):
        Relabel(store.sample[:1], "X")


def test_database_round_trip_restores_the_review_and_its_history(tmp_path):
    path = tmp_path / "r.beatscope.sqlite"
    rows = model_rows(200)
    db = ReviewDatabase.open(path, "fp", FS)
    db.save_analysis(rows.sample, rows.model_label, rows.probability)
    store = ReviewStore(FS, db.load_rows())
    stack = db.stack(store)
    for c in commands(store):
        stack.push(c)
    stack.undo()  # the last relabel is undone, and can be redone after reopening
    expected = store.rows.copy()
    history = stack.history()
    db.close()

    db = ReviewDatabase.open(path, "fp", FS)
    assert db.integrity_ok()
    again = ReviewStore(FS, db.load_rows())
    assert same_rows(again.rows, expected)
    stack = db.stack(again)
    assert stack.history() == history and stack.can_redo
    stack.redo()
    stack.undo()
    while stack.can_undo:
        stack.undo()
    assert same_rows(again.rows, rows)  # every edit undone: the model's beats again
    db.close()
    db = ReviewDatabase.open(path, "fp", FS)
    assert same_rows(ReviewStore(FS, db.load_rows()).rows, rows)
    db.close()


def test_database_refuses_other_recordings_newer_schemas_and_garbage(tmp_path):
    path = tmp_path / "r.sqlite"
    ReviewDatabase.open(path, "fp", FS).close()
    with pytest.raises(ReviewDatabaseError, match="another recording"):
        ReviewDatabase.open(path, "other", FS)
    con = sqlite3.connect(path)
    con.execute("UPDATE schema SET version = 99")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(ReviewDatabaseError, match="newer BeatScope"):
        ReviewDatabase.open(path, "fp", FS)
    assert path.read_bytes() == before
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database, but somebody's file" * 100)
    with pytest.raises(ReviewDatabaseError) as err:
        ReviewDatabase.open(junk, "fp", FS)
    assert "\n" not in str(err.value)
    assert junk.read_bytes() == b"not a database, but somebody's file" * 100


def test_a_locked_database_fails_the_edit_and_keeps_the_store(tmp_path):
    path = tmp_path / "r.sqlite"
    db = ReviewDatabase.open(path, "fp", FS)
    rows = model_rows()
    db.save_analysis(rows.sample, rows.model_label, rows.probability)
    store = ReviewStore(FS, db.load_rows())
    stack = db.stack(store)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another window is writing
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        stack.push(Relabel(store.sample[[0]], "V"))
    assert same_rows(store.rows, rows)
    other.execute("ROLLBACK")
    stack.push(Relabel(store.sample[[0]], "V"))
    assert store.label[0] == "V"
    db.close()
    other.close()


def test_reanalysis_keeps_every_edit():
    old = ReviewStore(FS, model_rows(100))
    stack = CommandStack(old)
    s = old.sample
    stack.push(Relabel(s[[10, 20]], "S"))
    stack.push(DeleteBeats(s[[30, 40]]))
    stack.push(InsertBeat(int(s[50]) + 150, "V"))
    stack.push(SetNote(s[[60]], "check"))
    # the new analysis: peaks moved by a few samples, beat 20 and 40 no longer found
    new_sample = s + 4
    keep = np.ones(len(s), bool)
    keep[[20, 40]] = False
    new = BeatRows.from_model(new_sample[keep], np.full(keep.sum(), "N"))
    merged = merge_review(old.rows, new, FS)
    out = ReviewStore(FS, merged.rows)
    assert out.rows.reviewer_label[out.index_of(s[10] + 4)][0] == "S"
    assert out.rows.deleted[out.index_of(s[30] + 4)][0]
    assert out.rows.note[out.index_of(s[60] + 4)][0] == "check"
    assert out.rows.inserted[out.index_of(s[50] + 150)][0]
    # beat 20 (relabelled S) is kept as the reviewer's beat; 40 (deleted) is listed
    assert out.rows.reviewer_label[out.index_of(s[20])][0] == "S"
    assert sorted(merged.unmatched.sample.tolist()) == sorted([int(s[20]), int(s[40])])
