"""The review state of one record's beats: the model's call and the reviewer's, per beat.

A beat is identified by its R-peak sample (in the record's own sampling rate), never
by a row: rows shift when a beat is inserted, samples do not, and a re-analysis can
find the same beats again by sample. Per beat the store keeps the model's label and
its full class-probability vector, the reviewer's label (``""``: none), where the
current label comes from (model, reviewer, or propagated from a similar beat), the
inserted and deleted flags, a note, and who edited it when.

Only commands (:mod:`beatscope.review.commands`) change the store: they take a
:class:`BeatRows` snapshot of what they are about to change and put it back on
undo. Every change is announced on ``store.events`` with the samples it touched.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from beatscope.aami import AAMI_CLASSES
from beatscope.review.events import Events

#: Where a beat's current label comes from.
SOURCES: tuple[str, ...] = ("model", "reviewer", "propagated")
N_CLASSES = len(AAMI_CLASSES)


@dataclass
class BeatRows:
    """Some beats' complete review state, in columns (a snapshot or a batch to put)."""

    sample: np.ndarray  # int64
    model_label: np.ndarray  # <U1
    probability: np.ndarray  # float32 (n, 5); NaN when no classifier ran
    reviewer_label: np.ndarray  # <U1, "" = the reviewer has not labelled it
    source: np.ndarray  # int8 index into SOURCES
    inserted: np.ndarray  # bool
    deleted: np.ndarray  # bool
    note: np.ndarray  # object (str)
    reviewer: np.ndarray  # object (str)
    edited_at: np.ndarray  # float64, seconds since the epoch; NaN = never edited

    def __len__(self) -> int:
        return len(self.sample)

    @classmethod
    def empty(cls, n: int = 0) -> BeatRows:
        return cls(np.zeros(n, np.int64), np.full(n, "Q", "<U1"),
                   np.full((n, N_CLASSES), np.nan, np.float32), np.full(n, "", "<U1"),
                   np.zeros(n, np.int8), np.zeros(n, bool), np.zeros(n, bool),
                   np.full(n, "", object), np.full(n, "", object), np.full(n, np.nan))

    @classmethod
    def from_model(cls, sample, label, probability=None) -> BeatRows:
        rows = cls.empty(len(sample))
        rows.sample[:] = sample
        rows.model_label[:] = label
        if probability is not None:
            rows.probability[:] = probability
        return rows

    def take(self, index) -> BeatRows:
        return BeatRows(**{n: getattr(self, n)[index] for n in COLUMNS})

    def copy(self) -> BeatRows:
        return BeatRows(**{n: getattr(self, n).copy() for n in COLUMNS})

    @property
    def label(self) -> np.ndarray:
        """The current label: the reviewer's where given, else the model's."""
        return np.where(self.reviewer_label != "", self.reviewer_label, self.model_label)

    @property
    def relabelled(self) -> np.ndarray:
        """True where the reviewer's label differs from the model's."""
        return (self.reviewer_label != "") & (self.reviewer_label != self.model_label)

    @property
    def edited(self) -> np.ndarray:
        """True where the reviewer relabelled or inserted the beat (what the views mark)."""
        return self.inserted | self.relabelled


#: BeatRows' column names, in order (``dataclasses.fields`` is slow on a hot path).
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(BeatRows))


class ReviewStore:
    """All beats of one record, sorted by sample, with their review state.

    Events (each with the int64 samples concerned):
    ``reset()`` (a new analysis or review was loaded), ``labels_changed(samples)``
    (the current label, the source or the note of existing beats changed),
    ``beats_changed(samples)`` (beats were inserted, removed or (un)deleted),
    ``note_changed(key)`` (a note on the record or an episode).
    """

    def __init__(self, fs: float, rows: BeatRows | None = None,
                 notes: dict[str, str] | None = None):
        self.fs = float(fs)
        self.events = Events("reset", "labels_changed", "beats_changed", "note_changed")
        self._rows = rows.copy() if rows is not None else BeatRows.empty()
        self._check_sorted(self._rows.sample)
        #: notes on the record (key "record") and on rhythm episodes, by key
        self.notes: dict[str, str] = dict(notes or {})

    # -------------------------------------------------------------- reading
    def __len__(self) -> int:
        return len(self._rows)

    @property
    def rows(self) -> BeatRows:
        """Every beat, deleted ones included (read-only by convention)."""
        return self._rows

    @property
    def sample(self) -> np.ndarray:
        return self._rows.sample

    @property
    def label(self) -> np.ndarray:
        return self._rows.label

    def index_of(self, samples) -> np.ndarray:
        """Rows of beats at exactly these samples; KeyError names the first missing."""
        samples = np.atleast_1d(np.asarray(samples, dtype=np.int64))
        rows = np.searchsorted(self._rows.sample, samples)
        found = rows < len(self._rows)
        found[found] = self._rows.sample[rows[found]] == samples[found]
        if not found.all():
            raise KeyError(f"no beat at sample {int(samples[~found][0])}")
        return rows

    def has_beat(self, sample: int) -> bool:
        i = int(np.searchsorted(self._rows.sample, sample))
        return i < len(self._rows) and int(self._rows.sample[i]) == int(sample)

    def has_beats(self, samples) -> np.ndarray:
        """Boolean per sample: a beat is there."""
        samples = np.asarray(samples, dtype=np.int64)
        rows = np.searchsorted(self._rows.sample, samples)
        found = rows < len(self._rows)
        found[found] = self._rows.sample[rows[found]] == samples[found]
        return found

    def snapshot(self, samples) -> BeatRows:
        return self._rows.take(self.index_of(samples))

    def changed(self) -> np.ndarray:
        """Boolean per beat: the review changed it (relabelled, inserted or deleted)."""
        return self._rows.edited | self._rows.deleted

    def counts(self, reviewed: bool = True) -> dict[str, int]:
        """Beats per class, deleted beats left out; ``reviewed=False``: the model's view
        (its own labels on the beats it found)."""
        r = self._rows
        if reviewed:
            labels = r.label[~r.deleted]
        else:
            labels = r.model_label[~r.inserted]
        return {c: int(np.count_nonzero(labels == c)) for c in AAMI_CLASSES}

    # ----------------------------------------------- changing (commands only)
    def replace_all(self, rows: BeatRows) -> None:
        """A new analysis or a reopened review: every beat at once."""
        self._check_sorted(rows.sample)
        self._rows = rows.copy()
        self.events.reset.emit()

    def put(self, rows: BeatRows) -> None:
        """Overwrite the state of existing beats (same samples) with ``rows``."""
        index = self.index_of(rows.sample)
        before_deleted = self._rows.deleted[index].copy()
        for name in COLUMNS:
            getattr(self._rows, name)[index] = getattr(rows, name)
        toggled = before_deleted != rows.deleted
        if toggled.any():
            self.events.beats_changed.emit(rows.sample[toggled])
        self.events.labels_changed.emit(rows.sample.copy())

    def insert(self, rows: BeatRows) -> None:
        """Add beats at samples where there is none yet."""
        if len(rows) == 0:
            return
        if any(self.has_beat(s) for s in rows.sample):
            raise ValueError("a beat already exists at one of these samples")
        order = np.argsort(rows.sample, kind="stable")
        rows = rows.take(order)
        at = np.searchsorted(self._rows.sample, rows.sample)
        merged = {name: np.insert(getattr(self._rows, name), at, getattr(rows, name), axis=0)
                  for name in COLUMNS}
        self._rows = BeatRows(**merged)
        self.events.beats_changed.emit(rows.sample.copy())

    def remove(self, samples) -> None:
        """Take beats out entirely (only an undone insertion does this: a reviewer's
        delete sets the ``deleted`` flag so that nothing is ever lost)."""
        index = self.index_of(samples)
        keep = np.ones(len(self._rows), bool)
        keep[index] = False
        self._rows = self._rows.take(keep)
        self.events.beats_changed.emit(np.atleast_1d(np.asarray(samples, np.int64)))

    def set_text_note(self, key: str, text: str) -> None:
        if text:
            self.notes[key] = text
        else:
            self.notes.pop(key, None)
        self.events.note_changed.emit(key)

    @staticmethod
    def _check_sorted(sample: np.ndarray) -> None:
        if len(sample) > 1 and not np.all(np.diff(sample) > 0):
            raise ValueError("beat samples must be strictly increasing")
