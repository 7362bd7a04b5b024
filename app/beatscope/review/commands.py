"""Every review edit is a command with ``do`` and ``undo`` (glue's ``core/command.py``).

``do`` takes a snapshot of the beats it is about to change before changing them and
``undo`` puts that snapshot back, so an undo restores exactly what was there (the
model's label, an earlier reviewer's label and stamp, a note). Commands run through
one bounded :class:`CommandStack`; a new command clears the redo history.

Durability: the stack hands each change to its ``journal`` (the review database)
*inside* ``events.held()``: the store's events, which the views listen to, are
delivered only once the journal has committed. If the journal fails, the change is
rolled back in memory and never shown.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from beatscope.aami import AAMI_CLASSES
from beatscope.review.events import Events
from beatscope.review.store import SOURCES, BeatRows, ReviewStore

#: Commands kept for undo; older ones drop off (their effect stays, and is saved).
MAX_UNDO = 1000


def _samples(beats) -> np.ndarray:
    s = np.array(beats, dtype=np.int64, ndmin=1)  # a copy: the caller's array may change
    if len(s) > 1:  # (np.unique costs more than the rest of a one-beat edit)
        s = np.unique(s)
    if len(s) == 0:
        raise ValueError("a command needs at least one beat")
    return s


def _samples_with(beats, labels) -> tuple[np.ndarray, np.ndarray]:
    """Samples in order with their labels (one each), every sample once."""
    samples = np.array(beats, dtype=np.int64, ndmin=1)
    labels = np.array(labels, dtype="<U1", ndmin=1)
    if len(samples) != len(labels):
        raise ValueError("a relabel needs one label per beat")
    for label in set(labels.tolist()):
        _check_label(label)
    order = np.argsort(samples, kind="stable")
    samples, labels = samples[order], labels[order]
    if len(samples) == 0 or (len(samples) > 1 and (np.diff(samples) == 0).any()):
        raise ValueError("a relabel needs distinct beats, at least one")
    return samples, labels


def _check_label(label: str) -> str:
    if label not in AAMI_CLASSES:
        raise ValueError(f"unknown beat class {label!r} (one of {', '.join(AAMI_CLASSES)})")
    return label


@dataclass
class Stamp:
    """Who made an edit, and when (seconds since the epoch)."""

    reviewer: str = ""
    at: float = field(default_factory=time.time)


class Command:
    """Base: ``do`` saves what it changes in ``self.before`` and changes it."""

    kind = "command"
    text = "edit"
    before: BeatRows | None = None

    def do(self, store: ReviewStore) -> None:
        raise NotImplementedError

    def undo(self, store: ReviewStore) -> None:
        assert self.before is not None, "undo before do"
        store.put(self.before)

    def affected(self) -> np.ndarray:
        """Samples whose saved state this command changes (for the journal)."""
        return self.before.sample if self.before is not None else np.zeros(0, np.int64)

    def _change(self, store: ReviewStore, change) -> None:
        """The one way an edit of existing beats is done: keep their state in
        ``before``, let ``change`` edit a stamped copy, put the copy in the store."""
        self.before = store.snapshot(self.samples)
        after = _stamped(self.before.copy(), self.stamp)
        change(after)
        store.put(after)


def _count(n: int, noun: str = "beat") -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _stamped(rows: BeatRows, stamp: Stamp) -> BeatRows:
    rows.reviewer[:] = stamp.reviewer
    rows.edited_at[:] = stamp.at
    return rows


class Relabel(Command):
    """Give beats a reviewer's label (``source``: ``reviewer``, or ``propagated`` for a
    suggestion the reviewer accepted)."""

    kind = "relabel"

    def __init__(self, beats, label, stamp: Stamp | None = None,
                 source: str = "reviewer", subject: str = ""):
        if isinstance(label, str):
            self.samples = _samples(beats)
            self.label = _check_label(label)
        else:  # one label per beat: what "learn from my corrections" proposes at once
            self.samples, self.label = _samples_with(beats, label)
        if source not in SOURCES[1:]:
            raise ValueError(f"a relabel's source is reviewer or propagated, not {source!r}")
        self.source = source
        self.stamp = stamp or Stamp()
        #: what the beats are, for the history: "template 7", "similar beats"
        self.subject = subject
        self.text = f"relabel {self._what()}"

    def _what(self) -> str:
        count = _count(len(self.samples))
        return f"{self.subject} ({count})" if self.subject else count

    def do(self, store: ReviewStore) -> None:
        def relabel(after: BeatRows) -> None:
            olds = sorted(set(self.before.label.tolist()))
            news = sorted(set(np.atleast_1d(self.label).tolist()))
            self.text = f"relabel {self._what()} {'/'.join(olds)} \u2192 {'/'.join(news)}"
            after.reviewer_label[:] = self.label
            after.source[:] = SOURCES.index(self.source)
        self._change(store, relabel)


class _SetDeleted(Command):
    """Deleting and restoring beats: the same edit of the ``deleted`` flag."""

    deleted: bool

    def __init__(self, beats, stamp: Stamp | None = None, subject: str = ""):
        self.samples = _samples(beats)
        self.stamp = stamp or Stamp()
        self.subject = subject
        self.text = self._describe(len(self.samples))
        if subject:  # "delete template 7 (40 beats)"
            self.text = f"{self.kind} {subject} ({_count(len(self.samples))})"

    @staticmethod
    def _describe(n: int) -> str:
        raise NotImplementedError

    def do(self, store: ReviewStore) -> None:
        def flag(after: BeatRows) -> None:
            after.deleted[:] = self.deleted
            after.source[:] = SOURCES.index("reviewer")
        self._change(store, flag)


class DeleteBeats(_SetDeleted):
    """Mark beats as not beats (false detections); they stay in the store, flagged."""

    kind = "delete"
    deleted = True

    @staticmethod
    def _describe(n: int) -> str:
        return f"delete {_count(n)}"


class RestoreBeats(_SetDeleted):
    """Take back a deletion: the beats are beats after all (a reviewer inserting a beat
    where one was deleted restores it, with its model call)."""

    kind = "restore"
    deleted = False

    @staticmethod
    def _describe(n: int) -> str:
        return f"restore {_count(n, 'deleted beat')}"


class InsertBeat(Command):
    """Add a beat the detector missed, with the model's call on it (``probability``:
    its 5-class vector, or None) and the reviewer's label."""

    kind = "insert"

    def __init__(self, sample: int, label: str, model_label: str | None = None,
                 probability=None, stamp: Stamp | None = None):
        self.sample = int(sample)
        self.label = _check_label(label)
        self.model_label = _check_label(model_label or label)
        self.probability = None if probability is None else np.asarray(probability, np.float32)
        self.stamp = stamp or Stamp()
        self.text = f"insert a beat ({self.label})"

    def do(self, store: ReviewStore) -> None:
        if store.has_beat(self.sample):
            raise ValueError(f"there is already a beat at sample {self.sample}")
        row = _stamped(BeatRows.from_model([self.sample], [self.model_label],
                                           None if self.probability is None
                                           else self.probability[None, :]), self.stamp)
        row.reviewer_label[:] = self.label
        row.source[:] = SOURCES.index("reviewer")
        row.inserted[:] = True
        self.before = None
        store.insert(row)

    def undo(self, store: ReviewStore) -> None:
        store.remove([self.sample])

    def affected(self) -> np.ndarray:
        return np.array([self.sample], np.int64)


class SetNote(Command):
    """A free-text note on beats ("" clears it)."""

    kind = "note"

    def __init__(self, beats, note: str, stamp: Stamp | None = None):
        self.samples = _samples(beats)
        self.note = str(note)
        self.stamp = stamp or Stamp()
        self.text = "clear note" if not self.note else "note"

    def do(self, store: ReviewStore) -> None:
        def annotate(after: BeatRows) -> None:
            after.note[:] = self.note
        self._change(store, annotate)


class SetTextNote(Command):
    """A free-text note on the record or on a rhythm episode (``key``: ``"record"`` or
    :func:`episode_key`); ``""`` clears it. Beat notes are :class:`SetNote`."""

    kind = "text_note"

    def __init__(self, key: str, text: str, stamp: Stamp | None = None):
        if not key:
            raise ValueError("a note needs a target")
        self.key = str(key)
        self.note = str(text)
        self.stamp = stamp or Stamp()
        self.before_text: str | None = None
        what = "the record" if self.key == "record" else "an episode"
        self.text = f"clear the note on {what}" if not self.note else f"note on {what}"

    def do(self, store: ReviewStore) -> None:
        self.before_text = store.notes.get(self.key, "")
        store.set_text_note(self.key, self.note)

    def undo(self, store: ReviewStore) -> None:
        store.set_text_note(self.key, self.before_text or "")

    def affected(self) -> np.ndarray:
        return np.zeros(0, np.int64)


def episode_key(label: str, start_s: float) -> str:
    """The note key of the rhythm episode ``label`` starting at ``start_s``."""
    return f"episode {label} {start_s:.3f}"


class Journal(Protocol):
    """Where the stack makes each change durable (the review database)."""

    def record(self, command: Command, store: ReviewStore, action: str) -> None: ...


class CommandStack:
    """The one path by which the review changes: ``push``, ``undo``, ``redo``.

    ``events.changed()`` fires after every successful push, undo or redo (after the
    store's own events), for the Undo/Redo menu texts and a history list.
    """

    def __init__(self, store: ReviewStore, journal: Journal | None = None,
                 max_undo: int = MAX_UNDO):
        self.store = store
        self.journal = journal
        self.events = Events("changed")
        self._undo: deque[Command] = deque(maxlen=max_undo)
        self._redo: list[Command] = []

    def push(self, command: Command) -> Command:
        self._apply(command, command.do, command.undo, "do")
        self._undo.append(command)
        self._redo.clear()
        self.events.changed.emit()
        return command

    def undo(self) -> Command | None:
        return self._replay(self._undo, self._redo, "undo")

    def redo(self) -> Command | None:
        return self._replay(self._redo, self._undo, "redo")

    def _replay(self, source, target, action: str) -> Command | None:
        """Undo (or redo) the newest command of ``source`` and move it to ``target``."""
        if not source:
            return None
        command = source[-1]
        if action == "undo":
            self._apply(command, command.undo, command.do, action)
        else:
            self._apply(command, command.do, command.undo, action)
        target.append(source.pop())
        self.events.changed.emit()
        return command

    def _apply(self, command: Command, forward, backward, action: str) -> None:
        with self.store.events.held():
            forward(self.store)
            if self.journal is not None:
                try:
                    self.journal.record(command, self.store, action)
                except BaseException:
                    backward(self.store)  # not durable: not done
                    raise

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_text(self) -> str:
        return f"Undo {self._undo[-1].text}" if self._undo else "Undo"

    @property
    def redo_text(self) -> str:
        return f"Redo {self._redo[-1].text}" if self._redo else "Redo"

    def history(self) -> list[str]:
        """The undoable commands' texts, oldest first."""
        return [c.text for c in self._undo]

    def redo_history(self) -> list[str]:
        """The undone commands' texts, the next to redo first."""
        return [c.text for c in reversed(self._redo)]
