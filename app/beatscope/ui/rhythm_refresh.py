"""Rhythm findings kept current with the review, off the GUI thread.

After the reviewer's edits settle (300 ms without another), the rhythm rules run
again on the reviewed beats (:func:`beatscope.review.rhythm.reviewed_rhythm`) on a
pool thread, and the session takes the findings; answers to an older request
(edits came in meanwhile) are dropped, so the panel never goes back in time.
"""

from __future__ import annotations

import itertools
import logging

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from beatscope.display import Phase, ViewerSession

log = logging.getLogger(__name__)

#: Quiet time after an edit before the findings are derived again.
SETTLE_MS = 300


class _Signals(QObject):
    done = Signal(int, object, object)  # request, review, rhythm (None: failed)


class _Derive(QRunnable):
    def __init__(self, signals: _Signals, request: int, review, rows, fs, duration_s, inputs):
        super().__init__()
        self.args = (signals, request, review, rows, fs, duration_s, inputs)

    def run(self) -> None:
        from beatscope.review.rhythm import reviewed_rhythm

        signals, request, review, rows, fs, duration_s, inputs = self.args
        try:
            rhythm = reviewed_rhythm(rows, fs, duration_s, inputs)
        except Exception:  # the analysis's findings stay; the log has why
            log.error("rhythm findings on the reviewed beats failed", exc_info=True)
            rhythm = None
        signals.done.emit(request, review, rhythm)


class RhythmRefresher(QObject):
    """Derives the findings again whenever the reviewed beats change."""

    def __init__(self, session: ViewerSession, parent=None):
        super().__init__(parent)
        self.session = session
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.signals = _Signals(self)
        self.signals.done.connect(self._on_done)
        self._requests = itertools.count(1)
        self._latest = 0
        self._timer = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._timer.timeout.connect(self._start)
        session.events.labels_changed.connect(lambda index: self._schedule())
        session.events.beats_reset.connect(self._schedule)

    def _schedule(self) -> None:
        if self.session.review is not None and self.session.phase is Phase.DONE:
            self._timer.start()

    @property
    def pending(self) -> bool:
        """An edit's findings are still being derived (tests, the PDF report)."""
        return self._timer.isActive() or self._latest > self._answered

    _answered = 0

    def _start(self) -> None:
        session, review = self.session, self.session.review
        if review is None or session.result is None:
            return
        request = self._latest = next(self._requests)
        if not review.store.changed().any() and session.reviewed_rhythm is None:
            self._answered = request  # nothing edited: the analysis's findings stand
            return
        self.pool.start(_Derive(self.signals, request, review, review.store.rows.copy(),
                                session.record.fs, session.duration_s,
                                getattr(session.result, "rhythm_inputs", None)))

    def _on_done(self, request: int, review, rhythm) -> None:
        self._answered = max(self._answered, request)
        if request == self._latest and rhythm is not None:
            self.session.set_reviewed_rhythm(review, rhythm)

    def wait(self, timeout_ms: int = 30_000) -> bool:
        return self.pool.waitForDone(timeout_ms)
