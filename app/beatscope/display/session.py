"""The state of the viewer's open record, and what its commands do to it.

Qt-free: the window forwards the worker's reports here (``loaded``,
``add_beats``, ``finish``, ``fail``) and asks it where navigation commands
land. The session announces every change on ``events`` (napari's model/view
split): the widgets connect to those in their constructors and redraw
themselves, so nobody pushes updates into them by hand. Tests can drive a whole
session without a display.

Once an analysis has finished, the record's review
(:class:`~beatscope.review.session.ReviewSession`) is the truth for the beats: the
displayed beats are the reviewed ones (deleted beats out, the reviewer's labels),
and each committed edit updates them and is announced.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from beatscope.display.beat_store import BeatStore
from beatscope.display.decimate import MinMaxPyramid
from beatscope.display.navigation import adjacent_beat, adjacent_beat_of_class, adjacent_episode
from beatscope.review.events import Events

#: Rhythm labels that are the background rather than a finding (] and [ skip them).
BACKGROUND_RHYTHMS = frozenset({"SR"})

#: What a :class:`ViewerSession` announces (arguments in brackets):
#: ``loaded`` a new record is on screen; ``beats_reset`` the beats were replaced
#: wholesale; ``beats_added(first, count)`` a streamed block arrived;
#: ``labels_changed(index)`` these beats' labels changed in place (a review edit);
#: ``rhythm_changed`` the findings changed; ``phase_changed``; ``selection_changed``;
#: ``review_changed`` the review (its counts, history, disagreements) changed.
SESSION_EVENTS = ("loaded", "beats_reset", "beats_added", "labels_changed", "rhythm_changed",
                  "phase_changed", "selection_changed", "review_changed")


class Phase(enum.Enum):
    EMPTY = "no record"
    LOADING = "opening"
    ANALYSING = "analysing"
    DONE = "analysed"
    CANCELLED = "analysis cancelled"
    FAILED = "analysis failed"


@dataclass
class ViewerSession:
    record: object | None = None  # beatscope.io.Record
    pyramid: MinMaxPyramid | None = None
    beats: BeatStore | None = None
    result: object | None = None  # AnalysisResult once finished
    model: dict | None = None  # the classifier's describe(); None = no classifier
    phase: Phase = Phase.EMPTY
    selected_beat: int | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    #: the finished analysis a re-analysis is replacing: it stands until the new one
    #: is complete, and comes back if that one is cancelled or fails
    _previous: tuple | None = field(default=None, repr=False)
    #: the record's review once an analysis finished (None: none, or it could not be
    #: opened: the beats are then shown read-only)
    review: object | None = None  # beatscope.review.session.ReviewSession
    #: the findings derived again on the reviewed beats (None: the analysis's own)
    reviewed_rhythm: dict | None = field(default=None, repr=False)
    events: Events = field(default_factory=lambda: Events(*SESSION_EVENTS), repr=False)
    #: R-peak samples of the selected beats (the edits' target); ``selected_beat`` is
    #: the one the cursor is on (the last picked)
    selection: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)

    # ---------------------------------------------------------------- reports
    def loaded(self, record, pyramid: MinMaxPyramid) -> None:
        self._previous = None
        self._set_review(None)
        self.record, self.pyramid = record, pyramid
        self.beats = BeatStore(record.fs)
        self.result, self.model, self.selected_beat = None, None, None
        self.selection = np.zeros(0, np.int64)
        self.phase, self.error = Phase.ANALYSING, None
        self.warnings = list(record.notes)
        self.events.loaded.emit()
        self.events.beats_reset.emit()
        self.events.rhythm_changed.emit()
        self.events.phase_changed.emit()

    def restart(self) -> None:
        """Re-analysis of the open record: the beats are rebuilt from scratch, and the
        finished result (with its review) is kept aside until the new one is complete."""
        if self.record is None:
            return
        if self.result is not None:
            # the review is closed (its lock released: the new analysis's job opens
            # it again, to move it onto the new beats); the beats as reviewed stay
            # aside, shown again if the re-analysis is cancelled
            self._previous = (self.beats, self.result, self.warnings, self.reviewed_rhythm)
        self._set_review(None)
        self.reviewed_rhythm = None
        self.beats = BeatStore(self.record.fs)
        self.result, self.selected_beat, self.error = None, None, None
        self.selection = np.zeros(0, np.int64)
        self.phase = Phase.ANALYSING
        self.events.beats_reset.emit()
        self.events.rhythm_changed.emit()
        self.events.phase_changed.emit()
        self.events.review_changed.emit()

    def add_beats(self, first: int, samples, labels, probabilities) -> None:
        if self.beats is not None:
            self.beats.extend(first, samples, labels, probabilities)
            self.events.beats_added.emit(first, len(samples))

    def finish(self, result, review=None) -> bool:
        """Take the final result and the record's review (None: no review could be
        opened); True when the streamed beats had to be replaced."""
        self.result = result
        self._previous = None
        b = result.beats
        self._set_review(review)
        # the engine corrects a few streamed labels once every beat is classified
        # (``analysis.pipeline._RuleOnBlocks.finish``)
        replaced = (self.beats is None or len(self.beats) != len(b)
                    or not np.array_equal(self.beats.label, b.label)
                    or (review is not None and bool(review.store.changed().any())))
        if review is not None and replaced:
            self.beats = BeatStore.from_review(review.store.rows, result.record.fs)
        elif replaced:  # streaming is an optimisation; the result is the truth
            self.beats = BeatStore(result.record.fs)
            self.beats.extend(0, b.sample, b.label, b.probability)
        self.warnings = list(result.warnings)
        self.phase = Phase.DONE
        if replaced:
            self.events.beats_reset.emit()
        self.events.rhythm_changed.emit()
        self.events.phase_changed.emit()
        self.events.review_changed.emit()
        return replaced

    def close(self) -> None:
        """The window closes: the review is closed, its lock released. Every edit was
        committed when it was made."""
        self._previous = None
        self._set_review(None)

    def attach_review(self, review) -> bool:
        """A review opened after the result was shown (a mismatching one was set aside,
        or a cancelled re-analysis brought this result back); False when another record
        or analysis has taken over meanwhile."""
        if self.review is not None or self.result is None or self.phase is not Phase.DONE:
            return False
        self._set_review(review)
        self.beats = BeatStore.from_review(review.store.rows, self.record.fs)
        self.selected_beat, self.selection = None, np.zeros(0, np.int64)
        self.events.beats_reset.emit()
        self.events.selection_changed.emit()
        self.events.review_changed.emit()
        return True

    # ---------------------------------------------------------------- review
    def _set_review(self, review) -> None:
        old = self.review
        if old is not None and old is not review:
            old.store.events.labels_changed.disconnect(self._on_review_labels)
            old.store.events.beats_changed.disconnect(self._on_review_beats)
            old.store.events.reset.disconnect(self._on_review_beats)
            old.store.events.note_changed.disconnect(self._on_review_note)
            old.stack.events.changed.disconnect(self._on_review_note)
            old.close()
        self.review, self.reviewed_rhythm = review, None
        if review is not None:
            review.store.events.labels_changed.connect(self._on_review_labels)
            review.store.events.beats_changed.connect(self._on_review_beats)
            review.store.events.reset.connect(self._on_review_beats)
            review.store.events.note_changed.connect(self._on_review_note)
            review.stack.events.changed.connect(self._on_review_note)

    def _on_review_labels(self, samples) -> None:
        if not len(self.beats):  # every beat deleted: a note on one changes nothing shown
            self.events.review_changed.emit()
            return
        rows = self.review.store.rows
        at = np.searchsorted(self.beats.sample, samples)
        at = np.clip(at, 0, len(self.beats) - 1)
        shown = self.beats.sample[at] == samples
        index = at[shown]
        source = self.review.store.index_of(samples[shown])
        changed = rows.take(source)
        self.beats.set_labels(index, changed.label, changed.edited)
        self.events.labels_changed.emit(index)
        self.events.review_changed.emit()

    def _on_review_beats(self, *_samples) -> None:
        cursor = None if self.selected_beat is None else int(self.beats.sample[
            self.selected_beat])
        self.beats = BeatStore.from_review(self.review.store.rows, self.record.fs)
        # the selection follows its beats by sample; deleted ones drop out of it
        at = np.searchsorted(self.beats.sample, self.selection)
        ok = at < len(self.beats)
        ok[ok] = self.beats.sample[at[ok]] == self.selection[ok]
        self.selection = self.selection[ok]
        self.selected_beat = (None if cursor is None or not len(self.beats)
                              else self.beats.nearest(cursor / self.beats.fs))
        self.events.beats_reset.emit()
        self.events.selection_changed.emit()
        self.events.review_changed.emit()

    def _on_review_note(self, *_args) -> None:
        self.events.review_changed.emit()

    def set_reviewed_rhythm(self, review, rhythm: dict) -> None:
        """Findings derived on ``review``'s edited beats (ignored if another review
        has taken its place since they were asked for)."""
        if review is self.review and review is not None:
            self.reviewed_rhythm = rhythm
            self.events.rhythm_changed.emit()

    def fail(self, message: str) -> bool:
        """The analysis failed; True when a re-analysis failed and the previous
        result is back."""
        self.error = message
        if self.record is not None and self.phase in (Phase.ANALYSING, Phase.LOADING):
            if self._restore_previous():
                return True
            self.phase = Phase.FAILED
            self.events.phase_changed.emit()
        return False

    def cancel(self) -> bool:
        """The analysis was cancelled; True when a re-analysis was cancelled and the
        previous result is back (a finished result is never thrown away)."""
        if self.phase in (Phase.ANALYSING, Phase.LOADING):
            if self._restore_previous():
                return True
            self.phase = Phase.CANCELLED if self.record is not None else Phase.EMPTY
            self.events.phase_changed.emit()
        return False

    def _restore_previous(self) -> bool:
        if self._previous is None:
            return False
        self.beats, self.result, self.warnings, rhythm = self._previous
        self._previous, self.selected_beat = None, None
        self.selection = np.zeros(0, np.int64)
        self.reviewed_rhythm = rhythm  # the review itself is opened again by the window
        self.phase = Phase.DONE
        self.events.beats_reset.emit()
        self.events.rhythm_changed.emit()
        self.events.phase_changed.emit()
        self.events.review_changed.emit()
        return True

    # ------------------------------------------------------------ properties
    @property
    def duration_s(self) -> float:
        return 0.0 if self.record is None else float(self.record.duration_s)

    @property
    def rhythm(self) -> dict | None:
        """The findings on screen: on the reviewed beats once derived again after an
        edit, else the analysis's."""
        if self.reviewed_rhythm is not None:
            return self.reviewed_rhythm
        return None if self.result is None else getattr(self.result, "rhythm", None)

    @property
    def episodes(self) -> list[dict]:
        return list((self.rhythm or {}).get("episodes") or [])

    def beat_time(self, index: int) -> float:
        return float(self.beats.sample[index] / self.beats.fs)

    # ------------------------------------------------------------ navigation
    def step_beat(self, step: int) -> int | None:
        if self.beats is None:
            return None
        self._select([adjacent_beat(self.beats.sample, self.selected_beat, step)])
        return self.selected_beat

    def jump_to_class(self, cls: str, t: float, forward: bool) -> int | None:
        """Select the next (previous) beat of ``cls`` after (before) time ``t``."""
        if self.beats is None:
            return None
        index = adjacent_beat_of_class(self.beats.sample, self.beats.label, self.beats.fs,
                                       t, cls, forward)
        if index is not None:
            self._select([index])
        return index

    def jump_to_episode(self, t: float, forward: bool) -> dict | None:
        """The next (previous) finding after (before) ``t``; plain sinus rhythm is the
        background, not a finding, and is stepped over."""
        episodes = [e for e in self.episodes if e.get("label") not in BACKGROUND_RHYTHMS]
        i = adjacent_episode(episodes, t, forward)
        return None if i is None else episodes[i]

    def episode_at(self, start_s: float) -> dict | None:
        """The episode starting at ``start_s`` (a finding picked in the list)."""
        found = [e for e in self.episodes if abs(float(e["start_s"]) - start_s) < 1e-6]
        non_sinus = [e for e in found if e.get("label") not in BACKGROUND_RHYTHMS]
        return (non_sinus or found or [None])[0]

    def select(self, index: int | None) -> None:
        """Select one beat by display index (None: nothing)."""
        self._select([] if index is None else [index])

    def select_many(self, indices) -> None:
        """Select several beats (table rows); the last is the one the cursor is on."""
        self._select(list(indices))

    def select_between(self, t0: float, t1: float) -> int:
        """Select every beat between two times (a rubber band); returns how many."""
        if self.beats is None:
            return 0
        found = self.beats.in_range(min(t0, t1), max(t0, t1))
        self._select(list(range(found.start, found.stop)))
        return found.stop - found.start

    def selected_samples(self) -> np.ndarray:
        """The selected beats' R-peak samples (what an edit applies to)."""
        return self.selection.copy()

    def _select(self, indices: list) -> None:
        if self.beats is None or not len(self.beats):
            indices = []
        n = 0 if self.beats is None else len(self.beats)
        picked = [int(np.clip(i, 0, n - 1)) for i in indices if i is not None]
        self.selected_beat = picked[-1] if picked else None
        self.selection = (np.unique(self.beats.sample[picked]).astype(np.int64) if picked
                          else np.zeros(0, np.int64))
        self.events.selection_changed.emit()
