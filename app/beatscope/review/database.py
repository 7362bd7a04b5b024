"""One review database per record: SQLite in WAL mode, every edit its own transaction.

What is stored:

* ``meta``: the record's fingerprint (so that an edited copy of a record is never
  paired with another recording's review), its sampling rate, the software version;
* ``analysis``: the model's beats of the latest analysis (samples, labels, 5-class
  probabilities) as one compressed array blob: a 100k-beat Holter reopens in one read;
* ``review``: the full state of every beat the review touched, by sample;
* ``history``: each command (JSON) with what it saved before changing (a blob of
  its beats' columns), in order, with whether it is currently done, so reopening
  restores the undo history too;
* ``notes``: notes on the record and on rhythm episodes (beat notes live in ``review``).

``synchronous=FULL``: in WAL mode NORMAL may lose the last commits on a power cut
(never corrupt the file); FULL makes a commit durable when it returns, which is the
promise the viewer makes when it shows an edit as done. ``python bench/review_store.py``
measures both: a single-beat edit takes 0.34 ms with FULL and 0.19 ms with NORMAL on
this machine (bare sqlite3 transactions: 0.13 and 0.03 ms), imperceptible either way
for a reviewer's key press; a 5,000-beat band edit is one transaction either way.

A database written by a newer BeatScope is refused and left untouched; an older
schema is migrated in one transaction (``_MIGRATIONS``).

The connection holds an exclusive lock for as long as the review is open
(``locking_mode=EXCLUSIVE``): the same record opened in a second window, or by
``beatscope review`` meanwhile, is told so at once rather than failing at its first
edit, and two writers never interleave their histories. The viewer opens the review
on a worker thread and then uses it on the GUI thread, one at a time, hence
``check_same_thread=False``.
"""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import numpy as np

from beatscope import __version__
from beatscope.errors import BeatScopeError
from beatscope.review.commands import MAX_UNDO, Command, CommandStack
from beatscope.review.merge import reviewed
from beatscope.review.serialise import (
    command_from_payload,
    command_payload,
    rows_blob,
    rows_from_blob,
)
from beatscope.review.store import BeatRows, ReviewStore

SCHEMA_VERSION = 2
#: A command that saved more rows than this keeps them as a blob, not as JSON.
BLOB_ROWS = 64
_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE analysis (id INTEGER PRIMARY KEY CHECK (id = 1), beats BLOB NOT NULL,
                       rhythm TEXT);
CREATE TABLE review (
    sample INTEGER PRIMARY KEY, model_label TEXT NOT NULL, probability BLOB,
    reviewer_label TEXT NOT NULL, source INTEGER NOT NULL, inserted INTEGER NOT NULL,
    deleted INTEGER NOT NULL, note TEXT NOT NULL, reviewer TEXT NOT NULL, edited_at REAL);
CREATE TABLE history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, done INTEGER NOT NULL, kind TEXT NOT NULL,
    text TEXT NOT NULL, payload TEXT NOT NULL, before BLOB);
CREATE INDEX history_done ON history (done, seq);
CREATE TABLE notes (key TEXT PRIMARY KEY, text TEXT NOT NULL);
"""
#: ``_MIGRATIONS[v]`` takes a version-``v`` database to ``v + 1``.
_MIGRATIONS = {1: "CREATE TABLE notes (key TEXT PRIMARY KEY, text TEXT NOT NULL);"
                 "ALTER TABLE history ADD COLUMN before BLOB;"}
_REVIEW_COLUMNS = ("sample", "model_label", "probability", "reviewer_label", "source",
                   "inserted", "deleted", "note", "reviewer", "edited_at")


class ReviewDatabaseError(BeatScopeError):
    """A review database that cannot be used; the message is one line for the user.
    ``other_recording``: it is intact but belongs to another recording (or this one
    was changed), so the user may set it aside and start a new review."""

    def __init__(self, message: str, other_recording: bool = False):
        super().__init__(message)
        self.other_recording = other_recording


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _blob(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _unblob(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


class ReviewDatabase:
    """The review of one record on disk. ``open`` creates it when it does not exist."""

    def __init__(self, path: Path, connection: sqlite3.Connection):
        self.path = Path(path)
        self._db = connection
        #: the history may hold undone commands (to clear on the next new command);
        #: only this connection writes it (the lock is exclusive)
        self._may_have_undone = True

    # ------------------------------------------------------------- opening
    @classmethod
    def open(cls, path: Path, fingerprint: str, fs: float) -> ReviewDatabase:
        path = Path(path)
        try:
            exists = path.exists() and path.stat().st_size > 0
            db = sqlite3.connect(path, timeout=0.5, isolation_level=None,
                                 check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise ReviewDatabaseError(f"{path.name}: cannot open the review ({exc})") from None
        try:
            db.execute("PRAGMA busy_timeout = 500")
            db.execute("PRAGMA locking_mode = EXCLUSIVE")
            try:
                db.execute("BEGIN EXCLUSIVE")  # take the lock now, or learn who has it
                db.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise ReviewDatabaseError(
                        f"{path.name}: this record's review is open in another window or "
                        "program; it is shown without editing here") from None
                raise
            if exists:
                version = cls._check(db, path, fingerprint)
                if version < SCHEMA_VERSION:
                    cls._migrate(db, version)
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            if not exists:
                # one script, one transaction: a crash leaves no half-made schema
                db.executescript(
                    "BEGIN IMMEDIATE;" + _SCHEMA
                    + "CREATE TABLE schema (version INTEGER NOT NULL);"
                    + f"INSERT INTO schema VALUES ({SCHEMA_VERSION});"
                    + "INSERT INTO meta VALUES ('fingerprint', " + _quote(fingerprint) + ");"
                    + f"INSERT INTO meta VALUES ('fs', '{float(fs)!r}');"
                    + f"INSERT INTO meta VALUES ('created_by', 'beatscope {__version__}');"
                    + "COMMIT;")
        except sqlite3.Error as exc:
            db.close()
            if exists:
                raise ReviewDatabaseError(f"{path.name}: not a BeatScope review ({exc}); it "
                                          "was left as it is") from None
            raise ReviewDatabaseError(f"{path.name}: cannot create the review ({exc})") from None
        except BaseException:
            db.close()
            raise
        return cls(path, db)

    @staticmethod
    def _check(db: sqlite3.Connection, path: Path, fingerprint: str) -> int:
        try:
            (version,) = db.execute("SELECT version FROM schema").fetchone()
            stored = dict(db.execute("SELECT key, value FROM meta").fetchall())
        except (sqlite3.Error, TypeError) as exc:
            raise ReviewDatabaseError(f"{path.name}: not a BeatScope review ({exc}); "
                                      "it was left as it is") from None
        if version > SCHEMA_VERSION:
            raise ReviewDatabaseError(
                f"{path.name}: written by a newer BeatScope (review schema {version}, this "
                f"one reads up to {SCHEMA_VERSION}); it was left as it is")
        if stored.get("fingerprint") != fingerprint:
            raise ReviewDatabaseError(
                f"{path.name}: this review belongs to another recording (or the recording "
                "was changed since); it was left as it is", other_recording=True)
        return int(version)

    @staticmethod
    def _migrate(db: sqlite3.Connection, version: int) -> None:
        script = "".join(_MIGRATIONS[v] for v in range(version, SCHEMA_VERSION))
        db.executescript(f"BEGIN IMMEDIATE;{script}"
                         f"UPDATE schema SET version = {SCHEMA_VERSION};COMMIT;")

    def close(self) -> None:
        self._db.close()

    def integrity_ok(self) -> bool:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # ------------------------------------------------------------- analysis
    def save_analysis(self, sample, label, probability, rhythm: dict | None = None) -> None:
        """The model's beats (and its rhythm findings) of the latest analysis."""
        n = len(sample)
        blob = _blob({"sample": np.asarray(sample, np.int64),
                      "label": np.asarray(label, "<U1"),
                      "probability": (np.full((n, 5), np.nan, np.float32) if probability is None
                                      else np.asarray(probability, np.float32))})
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO analysis VALUES (1, ?, ?)",
                             (blob, None if rhythm is None else json.dumps(rhythm)))

    def rhythm(self) -> dict | None:
        row = self._db.execute("SELECT rhythm FROM analysis WHERE id = 1").fetchone()
        return None if row is None or row[0] is None else json.loads(row[0])

    def has_analysis(self) -> bool:
        return self._db.execute("SELECT COUNT(*) FROM analysis").fetchone()[0] > 0

    # ------------------------------------------------------------- the review
    def load_rows(self) -> BeatRows:
        """Every beat: the stored analysis with the review's rows laid over it."""
        row = self._db.execute("SELECT beats FROM analysis WHERE id = 1").fetchone()
        if row is None:
            rows = BeatRows.empty()
        else:
            a = _unblob(row[0])
            rows = BeatRows.from_model(a["sample"], a["label"], a["probability"])
        reviewed = self._db.execute(
            f"SELECT {', '.join(_REVIEW_COLUMNS)} FROM review ORDER BY sample").fetchall()
        if not reviewed:
            return rows
        edits = _rows_from_sql(reviewed)
        at = np.searchsorted(rows.sample, edits.sample)
        present = at < len(rows)
        present[present] = rows.sample[at[present]] == edits.sample[present]
        for name in _REVIEW_COLUMNS:
            getattr(rows, name)[at[present]] = getattr(edits, name)[present]
        if (~present).any():  # inserted beats, and beats a re-analysis no longer finds
            extra = edits.take(~present)
            merged = BeatRows(**{n: np.concatenate([getattr(rows, n), getattr(extra, n)])
                                 for n in _REVIEW_COLUMNS})
            rows = merged.take(np.argsort(merged.sample, kind="stable"))
        return rows

    def load_notes(self) -> dict[str, str]:
        """Notes on the record and on rhythm episodes, by key."""
        return dict(self._db.execute("SELECT key, text FROM notes").fetchall())

    def same_analysis(self, sample, label) -> bool:
        """Whether the stored analysis found exactly these beats with these labels."""
        row = self._db.execute("SELECT beats FROM analysis WHERE id = 1").fetchone()
        if row is None:
            return False
        a = _unblob(row[0])
        return (np.array_equal(a["sample"], np.asarray(sample, np.int64))
                and np.array_equal(a["label"], np.asarray(label, "<U1")))

    def replace_analysis(self, sample, label, probability, rhythm: dict | None,
                         rows: BeatRows) -> None:
        """A new analysis with the review moved onto it (``rows``: every beat, as
        :func:`~beatscope.review.merge.merge_review` laid it out), in one transaction.
        The undo history is cleared: its commands name the old analysis's beats."""
        n = len(sample)
        blob = _blob({"sample": np.asarray(sample, np.int64),
                      "label": np.asarray(label, "<U1"),
                      "probability": (np.full((n, 5), np.nan, np.float32) if probability is None
                                      else np.asarray(probability, np.float32))})
        work = rows.take(reviewed(rows))
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO analysis VALUES (1, ?, ?)",
                             (blob, None if rhythm is None else json.dumps(rhythm)))
            self._db.execute("DELETE FROM review")
            self._db.executemany(
                f"INSERT INTO review ({', '.join(_REVIEW_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_REVIEW_COLUMNS))})", _rows_to_sql(work))
            self._db.execute("DELETE FROM history")

    def load_history(self) -> tuple[list[Command], list[Command]]:
        """(undo, redo) commands as they were when the review was last written."""
        done, undone = [], []
        for flag, payload, before in self._db.execute(
                "SELECT done, payload, before FROM history ORDER BY seq"):
            command = command_from_payload(json.loads(payload), rows_from_blob(before))
            (done if flag else undone).append(command)
        return done, list(reversed(undone))

    def record(self, command: Command, store: ReviewStore, action: str) -> None:
        """The :class:`~beatscope.review.commands.Journal` hook: one transaction."""
        affected = command.affected()
        present = store.has_beats(affected)
        key = getattr(command, "key", None)
        with self._transaction():
            if key is not None:  # a note on the record or an episode
                text = store.notes.get(key, "")
                self._db.execute("DELETE FROM notes WHERE key = ?", (key,))
                if text:
                    self._db.execute("INSERT INTO notes VALUES (?, ?)", (key, text))
            if present.any():
                state = store.snapshot(affected[present])
                self._db.executemany(
                    f"INSERT OR REPLACE INTO review ({', '.join(_REVIEW_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(_REVIEW_COLUMNS))})", _rows_to_sql(state))
            if (~present).any():  # an undone insertion: the beat is gone again
                self._db.executemany("DELETE FROM review WHERE sample = ?",
                                     [(int(s),) for s in affected[~present]])
            if action == "do":
                # a new command clears the redo history, on disk as in memory
                if self._may_have_undone:
                    self._db.execute("DELETE FROM history WHERE done = 0")
                    self._may_have_undone = False
                # a band's thousands of saved rows as a column blob (JSON took 30 ms
                # for 5,000); a few rows as JSON (an npz costs ~0.3 ms to write and to
                # read: 10,000 one-beat edits took 5 s more to reopen)
                big = command.before is not None and len(command.before) > BLOB_ROWS
                self._db.execute(
                    "INSERT INTO history (done, kind, text, payload, before) "
                    "VALUES (1, ?, ?, ?, ?)",
                    (command.kind, command.text,
                     json.dumps(command_payload(command, with_before=not big)),
                     rows_blob(command.before) if big else None))
            else:
                # undo flips the newest done row; redo flips the oldest undone row
                pick = ("SELECT MAX(seq) FROM history WHERE done = 1" if action == "undo"
                        else "SELECT MIN(seq) FROM history WHERE done = 0")
                self._db.execute(f"UPDATE history SET done = ? WHERE seq = ({pick})",
                                 (0 if action == "undo" else 1,))
                self._may_have_undone = True

    def _transaction(self):
        return _Transaction(self._db)

    # ------------------------------------------------------------- helpers
    def stack(self, store: ReviewStore, max_undo: int | None = None) -> CommandStack:
        """A command stack on ``store`` that writes here, with the saved history."""
        stack = CommandStack(store, journal=self, max_undo=max_undo or MAX_UNDO)
        done, undone = self.load_history()
        stack._undo.extend(done)
        stack._redo.extend(undone)
        return stack


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, tb) -> None:
        if kind is None:
            self._db.execute("COMMIT")
        else:
            self._db.execute("ROLLBACK")


def _rows_to_sql(rows: BeatRows) -> list[tuple]:
    """Rows for ``executemany``, column by column (a 5,000-beat edit in a few ms)."""
    probability = rows.probability.astype(np.float32)
    unknown = np.isnan(probability).all(axis=1).tolist()
    blobs = [None if u else p.tobytes() for u, p in zip(unknown, probability, strict=True)]
    edited = [None if t != t else t for t in rows.edited_at.tolist()]  # NaN: never
    return list(zip(rows.sample.tolist(), rows.model_label.tolist(), blobs,
                    rows.reviewer_label.tolist(), rows.source.tolist(),
                    rows.inserted.astype(int).tolist(), rows.deleted.astype(int).tolist(),
                    [str(n) for n in rows.note.tolist()],
                    [str(r) for r in rows.reviewer.tolist()], edited, strict=True))


def _rows_from_sql(records: list[tuple]) -> BeatRows:
    rows = BeatRows.empty(len(records))
    for i, (sample, model, prob, reviewer_label, source, inserted, deleted, note, reviewer,
            edited_at) in enumerate(records):
        rows.sample[i] = sample
        rows.model_label[i] = model
        if prob is not None:
            rows.probability[i] = np.frombuffer(prob, np.float32)
        rows.reviewer_label[i] = reviewer_label
        rows.source[i] = source
        rows.inserted[i] = bool(inserted)
        rows.deleted[i] = bool(deleted)
        rows.note[i] = note
        rows.reviewer[i] = reviewer
        rows.edited_at[i] = np.nan if edited_at is None else edited_at
    return rows
