"""Corrections that spread: after the reviewer relabels beats, the beats most like
those just corrected are *offered*, never applied silently.

After every relabel by the reviewer (strip, table or template cards), the beats most
like those corrected are looked for in an engine process
(:func:`~beatscope.review.propagate.similar_beats`) and offered in a bar
("139 similar beats: V → N — Apply / Dismiss"). "Learn from my corrections" offers
what the reviewer's labels would change over the whole record
(:func:`~beatscope.review.propagate.learn_from_corrections`). Apply pushes one
undoable command, whatever labels it proposes, marked ``propagated``; neither ever
touches a beat the reviewer labelled (the core guarantees it, and a propagated
relabel skips them again). An answer to an older state of the review (edits came in meanwhile) is
dropped, as the rhythm refresher's are.
"""

from __future__ import annotations

import logging
import sqlite3

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QToolButton

from beatscope.display import ViewerSession
from beatscope.errors import BeatScopeError
from beatscope.review.propagate import BeatEmbedding
from beatscope.review.store import SOURCES

log = logging.getLogger(__name__)

LEARNED_SUBJECT = "learned from corrections"
SIMILAR_SUBJECT = "similar beats"


class _Signals(QObject):
    done = Signal(str, int, object)  # kind, generation, Proposal (None: failed)


class _ProposalJob(QRunnable):
    """``review.propagate.<name>(*args)`` in an engine process (numpy and scikit-learn
    over the whole record: in the window's process it would hold the GIL for
    seconds), waited for on a pool thread; the answer goes back tagged with the state
    of the review it was asked on, so that a stale one is dropped."""

    def __init__(self, signals: _Signals, kind: str, generation: int, name: str, *args):
        super().__init__()
        self.signals, self.kind, self.generation, self.name, self.args = (
            signals, kind, generation, name, args)

    def run(self) -> None:
        from beatscope.analysis.engine_process import engine_pool

        engines = engine_pool()
        try:
            engine = engines.acquire()
            try:
                proposal = engine.call(self.name, *self.args)
            finally:
                engines.release(engine)
        except BeatScopeError as err:  # the engine failed or was stopped (window closed)
            log.warning("%s: %s", self.kind, err)
            proposal = None
        except Exception:  # a bug: the reviewer is told; the log has why
            log.error("%s failed", self.kind, exc_info=True)
            proposal = None
        self.signals.done.emit(self.kind, self.generation, proposal)


class SuggestionBar(QFrame):
    """One non-modal line: a proposal with Apply / Dismiss, or a busy indicator."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("suggestion")
        self.setStyleSheet("#suggestion { background: #fff4d6; border: 1px solid #e0b040;"
                           " border-radius: 4px; }")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate
        self.busy.setMaximumWidth(60)
        self.busy.setMaximumHeight(12)
        self.busy.setTextVisible(False)
        self.apply_button = QToolButton()
        self.apply_button.setText("Apply")
        self.dismiss_button = QToolButton()
        self.dismiss_button.setText("Dismiss")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.busy)
        layout.addWidget(self.apply_button)
        layout.addWidget(self.dismiss_button)
        self.proposal = None
        self.subject = ""
        self.hide()

    def show_busy(self, text: str) -> None:
        self.proposal = None
        self._show(text, busy=True, can_apply=False)

    def offer(self, text: str, proposal, subject: str) -> None:
        self.proposal, self.subject = proposal, subject
        self._show(text, busy=False, can_apply=True)

    def tell(self, text: str) -> None:
        self.proposal = None
        self._show(text, busy=False, can_apply=False)

    def _show(self, text: str, *, busy: bool, can_apply: bool) -> None:
        """The bar with ``text``: a busy indicator while work runs (nothing to press
        then); otherwise Dismiss, and Apply where there is a proposal."""
        self.text.setText(text)
        self.busy.setVisible(busy)
        self.apply_button.setVisible(can_apply)
        self.dismiss_button.setVisible(not busy)
        self.show()

    def clear(self) -> None:
        self.proposal = None
        self.hide()


class CorrectionSuggestions(QObject):
    """Watches the session's label changes and offers what they would spread to, in
    ``bar``; ``message`` says what was done, ``learning`` when a learn starts/ends."""

    message = Signal(str)
    learning = Signal(bool)

    def __init__(self, session: ViewerSession, parent=None):
        super().__init__(parent)
        self.session = session
        self.bar = SuggestionBar()
        self.bar.apply_button.clicked.connect(self.apply)
        self.bar.dismiss_button.clicked.connect(self.bar.clear)
        self._result = None
        self._embedding: BeatEmbedding | None = None
        self._known: tuple[np.ndarray, np.ndarray] | None = None  # labels before an edit
        self._generation = 0  # bumped by every label change: older answers are stale
        self._asked: dict[str, int] = {}  # the generation each kind was last asked on
        # both children, the pool first: deleting this object deletes the pool first,
        # which waits for a running job, so no job ever emits into deleted signals
        # (as the rhythm refresher does)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.signals = _Signals(self)
        self.signals.done.connect(self._on_proposal)
        self._review = None
        session.events.beats_reset.connect(self._on_beats_reset)
        session.events.review_changed.connect(self._on_review_changed)
        session.events.labels_changed.connect(self._on_labels_changed)

    @property
    def embedding(self) -> BeatEmbedding | None:
        """The analysis's beat embedding (None: no templates were made)."""
        result = self.session.result
        if result is not self._result:
            self._result, self._embedding = result, (None if result is None
                                                     else BeatEmbedding.of(result))
        return self._embedding

    def _remember_labels(self) -> None:
        review = self.session.review
        self._known = None if review is None else (review.store.rows.sample.copy(),
                                                   review.store.rows.label)

    def _on_review_changed(self) -> None:
        if self.session.review is not self._review:  # a review opened or closed
            self._review = self.session.review
            self._generation += 1
            self._remember_labels()
            self.bar.clear()

    def _on_beats_reset(self) -> None:
        self._generation += 1  # a new record, a beat deleted or inserted
        self._remember_labels()
        self.bar.clear()

    def _on_labels_changed(self, index) -> None:
        review, beats = self.session.review, self.session.beats
        known = self._known
        self._remember_labels()
        if review is None or known is None or beats is None or not len(index):
            self._generation += 1
            return
        samples = beats.sample[np.asarray(index, np.int64)]
        rows = review.store.rows
        at = review.store.index_of(samples)
        k = np.clip(np.searchsorted(known[0], samples), 0, max(len(known[0]) - 1, 0))
        seen = (len(known[0]) > 0) & (known[0][k] == samples)
        old = np.where(seen, known[1][k], rows.label[at])
        changed = old != rows.label[at]
        if not changed.any():
            return  # a note: nothing to spread, nothing offered goes stale
        self._generation += 1
        by_reviewer = rows.source[at][changed] == SOURCES.index("reviewer")
        if not by_reviewer.all() or self.embedding is None:
            self.bar.clear()  # an undo, an applied suggestion: what was offered is stale
            return
        corrected, olds = samples[changed], set(old[changed].tolist())
        new = "/".join(sorted(set(rows.label[at][changed].tolist())))
        self._offered_change = f"{'/'.join(sorted(olds))} \u2192 {new}"
        self.bar.show_busy("Looking for beats like the ones you corrected…")
        self._asked["similar"] = self._generation
        self.pool.start(_ProposalJob(self.signals, "similar", self._generation,
                                     "similar_beats", self.embedding, rows.copy(), corrected,
                                     olds))

    _offered_change = ""

    def learn(self) -> None:
        review = self.session.review
        if review is None or self.embedding is None:
            self.message.emit("Learning needs the analysis finished and its review open")
            return
        self.learning.emit(True)
        self.bar.show_busy("Learning from your corrections…")
        self._asked["learn"] = self._generation
        self.pool.start(_ProposalJob(self.signals, "learn", self._generation,
                                     "learn_from_corrections", self.embedding,
                                     review.store.rows.copy()))

    def _on_proposal(self, kind: str, generation: int, proposal) -> None:
        if kind == "learn":
            self.learning.emit(False)
        if generation != self._generation:  # the review changed meanwhile
            if self._asked.get(kind) == generation and self.bar.busy.isVisible():
                # nothing newer of this kind is on its way: take the busy line down
                if kind == "learn":
                    self.bar.tell("The review changed while learning: press Learn again")
                else:
                    self.bar.clear()
            return
        if proposal is None:
            self.bar.tell(("Learning" if kind == "learn" else "Looking for similar beats")
                          + " failed (the log has why)")
            return
        if kind == "similar":
            if not proposal.count:
                self.bar.clear()
                return
            plural = "s" * (proposal.count != 1)
            self.bar.offer(f"{proposal.count:,} similar beat{plural}: {self._offered_change}"
                           + _per_label(proposal), proposal, SIMILAR_SUBJECT)
            return
        if not proposal.count:
            self.bar.tell("Nothing to change: your corrections do not outvote the model "
                          "anywhere else (or you have made none)")
            return
        self.bar.offer(f"Learned from your corrections: {proposal.count:,} beat"
                       f"{'s' * (proposal.count != 1)} would change"
                       + _per_label(proposal, always=True), proposal, LEARNED_SUBJECT)

    def apply(self) -> None:
        """The offered proposal as one propagated command (one undo step), whatever
        labels it proposes."""
        review, proposal, subject = self.session.review, self.bar.proposal, self.bar.subject
        self.bar.clear()
        if review is None or proposal is None or not proposal.count:
            return
        pairs = sorted(proposal.by_label.items())
        samples = np.concatenate([s for _, s in pairs])
        labels = np.concatenate([np.full(len(s), label) for label, s in pairs])
        try:
            command = review.relabel(samples, labels, subject=subject, source="propagated")
        except (sqlite3.Error, OSError) as err:
            self.message.emit(f"The edit could not be saved ({err}); it was not applied")
            return
        if command is not None:
            self.message.emit(f"Relabelled {len(command.samples):,} {subject} · "
                              "Ctrl+Z undoes")

    def wait(self, timeout_ms: int = 30_000) -> bool:
        return self.pool.waitForDone(timeout_ms)


def _per_label(proposal, always: bool = False) -> str:
    """How many beats each label would get, as " (12 → N, 3 → V)"."""
    if len(proposal.by_label) < 2 and not always:
        return ""
    return " (" + ", ".join(f"{len(s):,} \u2192 {c}"
                            for c, s in sorted(proposal.by_label.items())) + ")"

