"""One record's review as the viewer holds it: the store, the command stack, the
database behind them, and what the reviewer is shown about it (Qt-free).

:meth:`ReviewSession.open` pairs a finished analysis with the record's review
database: a first analysis is saved; the same analysis again (the record reopened)
finds the review and its undo history as they were; a different one (new weights,
new settings) gets the review moved onto its beats by
:func:`~beatscope.review.merge.merge_review`, and the beats that could not be
matched are listed in ``unmatched``. It runs on a worker thread (a 100k-beat review
takes about a second to read); everything else runs on the GUI thread.

Every change goes through :attr:`stack`; the helpers here only build the commands
with the reviewer's stamp.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from beatscope.review.commands import (
    CommandStack,
    DeleteBeats,
    InsertBeat,
    Relabel,
    RestoreBeats,
    SetNote,
    SetTextNote,
    Stamp,
)
from beatscope.review.database import ReviewDatabase, ReviewDatabaseError
from beatscope.review.fingerprint import record_fingerprint
from beatscope.review.merge import merge_review
from beatscope.review.store import SOURCES, BeatRows, ReviewStore


@dataclass(frozen=True)
class Disagreement:
    """A beat the review changed: ``kind`` is relabelled, inserted or deleted."""

    sample: int
    kind: str
    model_label: str
    label: str  # the current label (the reviewer's)
    note: str
    reviewer: str
    edited_at: float

    @property
    def pair(self) -> str:
        """The group it is counted in: "V → N", "inserted S", "deleted"."""
        if self.kind == "relabelled":
            return f"{self.model_label} \u2192 {self.label}"
        return "deleted" if self.kind == "deleted" else f"inserted {self.label}"


def disagreements(rows: BeatRows) -> list[Disagreement]:
    """Every beat whose reviewed state differs from the model's, in time order."""
    which = np.flatnonzero(rows.edited | rows.deleted)
    label = rows.label
    out = []
    for i in which.tolist():
        kind = ("deleted" if rows.deleted[i] else "inserted" if rows.inserted[i]
                else "relabelled")
        out.append(Disagreement(int(rows.sample[i]), kind, str(rows.model_label[i]),
                                str(label[i]), str(rows.note[i]), str(rows.reviewer[i]),
                                float(rows.edited_at[i])))
    return out


def group_counts(items: list[Disagreement]) -> dict[str, int]:
    """Disagreements per (model → reviewer) pair, the largest group first."""
    counts: dict[str, int] = {}
    for d in items:
        counts[d.pair] = counts.get(d.pair, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


class ReviewSession:
    """A record's open review. ``reviewer`` stamps every edit made through it."""

    def __init__(self, database: ReviewDatabase, store: ReviewStore, stack: CommandStack,
                 reviewer: str = "", unmatched: BeatRows | None = None, notice: str = ""):
        self.database = database
        self.store = store
        self.stack = stack
        self.reviewer = reviewer
        #: reviewed beats a re-analysis no longer finds (listed for the reviewer)
        self.unmatched = unmatched if unmatched is not None else BeatRows.empty()
        #: one line on what opening found (a merged re-analysis), or ""
        self.notice = notice

    @classmethod
    def open(cls, record, path: Path, result, reviewer: str = "") -> ReviewSession:
        """Open (or create) the review at ``path`` with ``result``'s beats in it."""
        b = result.beats
        db = ReviewDatabase.open(path, record_fingerprint(record), record.fs)
        try:
            unmatched, notice = None, ""
            rhythm = getattr(result, "rhythm", None)
            if not db.has_analysis():
                db.save_analysis(b.sample, b.label, b.probability, rhythm)
            elif not db.same_analysis(b.sample, b.label):
                old = db.load_rows()
                merged = merge_review(old, BeatRows.from_model(b.sample, b.label,
                                                               b.probability), record.fs)
                db.replace_analysis(b.sample, b.label, b.probability, rhythm, merged.rows)
                unmatched = merged.unmatched
                moved = int((merged.rows.reviewer_label != "").sum()
                            + merged.rows.deleted.sum())
                if moved or len(unmatched):
                    notice = (f"the review was moved onto the new analysis ({moved:,} reviewed "
                              f"beats); {len(unmatched):,} reviewed beats were not found "
                              "again and are listed under Disagreements")
            store = ReviewStore(record.fs, db.load_rows(), db.load_notes())
            return cls(db, store, db.stack(store), reviewer, unmatched, notice)
        except sqlite3.Error as err:  # damaged inside: one line, the file left as it is
            db.close()
            raise ReviewDatabaseError(f"{Path(path).name}: the review cannot be read ({err}); "
                                      "it was left as it is") from None
        except BaseException:
            db.close()
            raise

    def close(self) -> None:
        self.database.close()

    # ----------------------------------------------------------------- edits
    def _stamp(self) -> Stamp:
        return Stamp(self.reviewer, time.time())

    def relabel(self, samples, label, subject: str = "",
                source: str = "reviewer") -> Relabel | None:
        """Give these beats the reviewer's label, one for all or one per beat (beats
        already labelled so: skipped).

        ``subject`` names them in the history ("template 7"); ``source`` is
        ``propagated`` for a suggestion the reviewer accepted: those never
        overwrite a beat the reviewer labelled."""
        samples = np.atleast_1d(np.asarray(samples, np.int64))
        if len(samples) == 0:
            return None
        labels = np.broadcast_to(np.asarray(label, dtype="<U1"), samples.shape)
        current = self.store.snapshot(samples)
        if source == "reviewer":
            todo = ((current.label != labels) | (current.reviewer_label == "")
                    | (current.source != SOURCES.index("reviewer")))
        else:
            todo = ((current.source != SOURCES.index("reviewer"))
                    & (current.label != labels) & ~current.deleted)
        if not todo.any():
            return None
        kept = labels[todo]
        uniform = bool((kept == kept[0]).all())  # one label: the command keeps a str
        return self.stack.push(Relabel(samples[todo], str(kept[0]) if uniform else kept,
                                       self._stamp(), source, subject))

    def delete(self, samples, subject: str = "") -> DeleteBeats | None:
        """Mark these beats as not beats (``subject`` names them in the history)."""
        samples = np.atleast_1d(np.asarray(samples, np.int64))
        live = samples[~self.store.snapshot(samples).deleted] if len(samples) else samples
        if len(live) == 0:
            return None
        return self.stack.push(DeleteBeats(live, self._stamp(), subject))

    def insert(self, sample: int, model_label: str, probability=None,
               label: str | None = None) -> InsertBeat:
        return self.stack.push(InsertBeat(sample, label or model_label, model_label,
                                          probability, self._stamp()))

    def deleted_near(self, sample: int, within: int) -> int | None:
        """A deleted beat within ``within`` samples of ``sample`` (nearest), if any."""
        rows = self.store.rows
        near = np.flatnonzero(rows.deleted & (np.abs(rows.sample - int(sample)) <= within))
        if not len(near):
            return None
        return int(rows.sample[near[np.argmin(np.abs(rows.sample[near] - int(sample)))]])

    def restore(self, samples) -> RestoreBeats:
        return self.stack.push(RestoreBeats(samples, self._stamp()))

    def note(self, samples, text: str) -> SetNote:
        return self.stack.push(SetNote(samples, text, self._stamp()))

    def text_note(self, key: str, text: str) -> SetTextNote:
        return self.stack.push(SetTextNote(key, text, self._stamp()))

    def undo(self):
        return self.stack.undo()

    def redo(self):
        return self.stack.redo()

    # ---------------------------------------------------------------- views
    def changed_count(self) -> int:
        return int(self.store.changed().sum())

    def summary(self) -> str:
        """The header line: "reviewed: K of N beats changed"."""
        total = int((~self.store.rows.inserted).sum())
        return f"reviewed: {self.changed_count():,} of {total:,} beats changed"

    def disagreements(self) -> list[Disagreement]:
        return disagreements(self.store.rows)

    def snapshot(self) -> ReviewSnapshot:
        """The review as it is now, for a worker thread (the PDF report) while the
        reviewer goes on editing: a copy, read-only by convention."""
        return ReviewSnapshot(ReviewStore(self.store.fs, self.store.rows, self.store.notes))


def read_review(record, path: Path) -> ReviewSnapshot | None:
    """The review at ``path`` as it stands, for a reader (the report): nothing is
    written to it, not even a re-analysis moved onto it, so a report run beside the
    viewer's work never changes that work. None when it holds no analysis yet."""
    db = ReviewDatabase.open(path, record_fingerprint(record), record.fs)
    try:
        if not db.has_analysis():
            return None
        return ReviewSnapshot(ReviewStore(record.fs, db.load_rows(), db.load_notes()))
    except sqlite3.Error as err:
        raise ReviewDatabaseError(f"{Path(path).name}: the review cannot be read ({err}); "
                                  "it was left as it is") from None
    finally:
        db.close()


class ReviewSnapshot:
    """What a reader of a review needs (the report), frozen at one moment."""

    def __init__(self, store: ReviewStore):
        self.store = store

    def changed_count(self) -> int:
        return int(self.store.changed().sum())

    def disagreements(self) -> list[Disagreement]:
        return disagreements(self.store.rows)

    def close(self) -> None:
        pass
