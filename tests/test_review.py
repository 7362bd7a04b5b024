"""The review core (Qt-free): commands with undo, events after commit, the SQLite
review database (round trip, history, refusals) and re-analysis keeping the review."""

from __future__ import annotations

import json
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
    RestoreBeats,
    ReviewDatabase,
    ReviewDatabaseError,
    ReviewStore,
    SetNote,
    Stamp,
)
from beatscope.review.commands import SetTextNote
from beatscope.review.merge import merge_review
from beatscope.review.serialise import _rows_payload, rows_from_blob

FS = 360.0


def model_rows(n: int = 50, seed: int = 0) -> BeatRows:
    rng = np.random.default_rng(seed)
    sample = 200 + np.arange(n) * 300
    label = np.where(rng.random(n) < 0.2, "V", "N")
    prob = rng.dirichlet(np.ones(5), n).astype(np.float32)
    return BeatRows.from_model(sample, label, prob)


def new_review(path, rows: BeatRows) -> tuple[ReviewDatabase, ReviewStore]:
    """A review database at ``path`` with ``rows`` as its analysis, and its store."""
    db = ReviewDatabase.open(path, "fp", FS)
    db.save_analysis(rows.sample, rows.model_label, rows.probability)
    return db, ReviewStore(FS, db.load_rows())


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
            RestoreBeats(s[[3]], stamp),
            InsertBeat(int(s[5]) + 150, "V", "N", [0.6, 0.1, 0.2, 0.05, 0.05], stamp),
            SetNote(s[[7]], "aberrant conduction?", stamp),
            Relabel(s[[1]], "V", stamp, source="propagated")]


@pytest.mark.parametrize("which", range(6))
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
    db, store = new_review(path, rows)
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


def test_a_second_opener_is_refused_in_one_line_and_the_first_keeps_editing(tmp_path):
    path = tmp_path / "r.sqlite"
    rows = model_rows()
    db, store = new_review(path, rows)
    stack = db.stack(store)
    stack.push(Relabel(store.sample[[0]], "V"))
    with pytest.raises(ReviewDatabaseError, match="open in another window") as err:
        ReviewDatabase.open(path, "fp", FS)  # the same record in a second window
    assert "\n" not in str(err.value)
    other = sqlite3.connect(path, timeout=0.1)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("SELECT COUNT(*) FROM review").fetchone()  # not even a reader
    other.close()
    stack.push(Relabel(store.sample[[1]], "S"))
    db.close()
    reopened = ReviewDatabase.open(path, "fp", FS)  # released on close
    assert ReviewStore(FS, reopened.load_rows()).label[:2].tolist() == ["V", "S"]
    reopened.close()


class FullDisk:
    """A journal whose commits fail as SQLite's do when the disk fills up."""

    def __init__(self, db: ReviewDatabase):
        self.db, self.full = db, False

    def record(self, command, store, action) -> None:
        if self.full:
            raise sqlite3.OperationalError("database or disk is full")
        self.db.record(command, store, action)


def test_an_edit_that_cannot_be_saved_is_not_applied_nor_announced(tmp_path):
    rows = model_rows()
    db, store = new_review(tmp_path / "r.sqlite", rows)
    journal = FullDisk(db)
    stack = CommandStack(store, journal)
    stack.push(Relabel(store.sample[[0]], "V"))
    saved = store.rows.copy()
    heard = []
    store.events.labels_changed.connect(heard.append)
    journal.full = True
    for command in (Relabel(store.sample[[3]], "F"), DeleteBeats(store.sample[[4]]),
                    InsertBeat(int(store.sample[5]) + 100, "S"), SetNote(store.sample[[6]], "x")):
        with pytest.raises(sqlite3.OperationalError, match="disk is full"):
            stack.push(command)
    with pytest.raises(sqlite3.OperationalError):
        stack.undo()
    assert same_rows(store.rows, saved) and heard == []
    assert stack.undo_text.startswith("Undo relabel 1 beat")  # the history is as it was
    journal.full = False
    stack.undo()
    assert store.label[0] == rows.model_label[0]
    db.close()
    reopened = ReviewDatabase.open(tmp_path / "r.sqlite", "fp", FS)
    assert same_rows(ReviewStore(FS, reopened.load_rows()).rows, rows)
    reopened.close()


def test_a_version_1_review_is_migrated_and_keeps_its_edits(tmp_path):
    path = tmp_path / "r.sqlite"
    rows = model_rows()
    db, store = new_review(path, rows)
    db.stack(store).push(Relabel(store.sample[[2]], "V"))
    db.close()
    # as schema 1 had it: no notes table, and the history's saved rows inside its JSON
    con = sqlite3.connect(path)
    (payload, blob), = con.execute("SELECT payload, before FROM history").fetchall()
    old = json.loads(payload)
    if blob is not None:
        old["before"] = _rows_payload(rows_from_blob(blob))
    con.executescript("DROP TABLE notes; ALTER TABLE history DROP COLUMN before;"
                      "UPDATE schema SET version = 1;")
    con.execute("UPDATE history SET payload = ?", (json.dumps(old),))
    con.commit()
    con.close()
    db = ReviewDatabase.open(path, "fp", FS)
    assert db._db.execute("SELECT version FROM schema").fetchone()[0] == 2
    store = ReviewStore(FS, db.load_rows(), db.load_notes())
    assert store.label[2] == "V"
    stack = db.stack(store)
    assert stack.undo_text.startswith("Undo relabel 1 beat")
    stack.undo()  # the old history's saved rows still undo it
    assert store.label[2] == rows.model_label[2]
    stack.redo()
    stack.push(SetTextNote("record", "reviewed with the patient's diary"))
    db.close()
    db = ReviewDatabase.open(path, "fp", FS)
    assert db.load_notes() == {"record": "reviewed with the patient's diary"}
    db.close()


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


def test_notes_on_the_record_and_an_episode_undo_redo_and_persist(tmp_path):
    from beatscope.review.commands import episode_key

    path = tmp_path / "r.sqlite"
    rows = model_rows()
    db, store = new_review(path, rows)
    stack = db.stack(store)
    heard = []
    store.events.note_changed.connect(heard.append)
    key = episode_key("AFIB", 1234.5)
    stack.push(SetTextNote("record", "first look"))
    stack.push(SetTextNote("record", "signed off"))
    stack.push(SetTextNote(key, "onset after a PAC"))
    assert store.notes == {"record": "signed off", key: "onset after a PAC"}
    assert heard == ["record", "record", key]
    stack.undo()
    stack.undo()
    assert store.notes == {"record": "first look"}
    stack.redo()
    assert stack.redo_history() == ["note on an episode"]
    db.close()
    db = ReviewDatabase.open(path, "fp", FS)
    again = ReviewStore(FS, db.load_rows(), db.load_notes())
    assert again.notes == {"record": "signed off"}
    stack = db.stack(again)
    stack.redo()
    assert again.notes[key] == "onset after a PAC"
    while stack.can_undo:
        stack.undo()
    assert again.notes == {}
    db.close()


def test_a_band_edit_of_many_beats_undoes_after_reopening(tmp_path):
    from beatscope.review.database import BLOB_ROWS

    path = tmp_path / "r.sqlite"
    rows = model_rows(400)
    rows.note[5] = "kept"
    db, store = new_review(path, rows)
    stack = db.stack(store)
    stack.push(SetNote(store.sample[[5]], "kept"))
    stack.push(Relabel(store.sample[:3 * BLOB_ROWS], "F", Stamp("dr. b", 1.0)))  # a blob
    stack.push(Relabel(store.sample[[399]], "S"))  # JSON
    db.close()
    db = ReviewDatabase.open(path, "fp", FS)
    again = ReviewStore(FS, db.load_rows())
    stack = db.stack(again)
    assert (again.label[:3 * BLOB_ROWS] == "F").all() and again.label[399] == "S"
    stack.undo()
    stack.undo()
    assert np.array_equal(again.label, rows.model_label) and again.rows.note[5] == "kept"
    assert np.isnan(again.rows.edited_at[10]) and again.rows.reviewer[10] == ""
    db.close()


def test_a_zero_byte_sidecar_becomes_a_new_review(tmp_path):
    path = tmp_path / "r.beatscope.sqlite"
    path.write_bytes(b"")  # an interrupted copy, a touch: nothing to lose
    db = ReviewDatabase.open(path, "fp", FS)
    rows = model_rows()
    db.save_analysis(rows.sample, rows.model_label, rows.probability)
    db.stack(ReviewStore(FS, db.load_rows())).push(Relabel(rows.sample[[1]], "F"))
    db.close()
    db = ReviewDatabase.open(path, "fp", FS)
    assert db.integrity_ok() and ReviewStore(FS, db.load_rows()).label[1] == "F"
    db.close()
