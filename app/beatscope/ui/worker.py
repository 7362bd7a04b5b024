"""Opening and analysing a record off the GUI thread.

The pattern follows Orange's ``widgets/utils/concurrent.py``: a ``QRunnable``
does the work on a ``QThreadPool`` thread and talks back only through the
signals of a small ``QObject`` created on the GUI thread, so every slot runs on
the GUI thread (queued connections) and never touches half-built state.

A job goes: load the record and its display pyramid (``loaded``: the window
can paint the ECG at once), build the classifier, run the engine while
``beats`` streams each classified block, then ``finished`` with the result.
Cancelling sets an event that the engine polls between steps; a cancelled or
superseded job's late signals carry its id, and :class:`AnalysisRunner` drops
every signal that is not from the current job.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import traceback
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from beatscope.analysis import AnalysisOptions
from beatscope.analysis.classifier_cache import ClassifierSpec, load_classifier
from beatscope.display import MinMaxPyramid
from beatscope.errors import BeatScopeError, CancelledError
from beatscope.io import Record
from beatscope.memory import release_freed_memory

log = logging.getLogger(__name__)

#: Progress is forwarded at most this often: the engine reports per chunk, and a
#: flood of queued signals would itself stall the GUI thread.
PROGRESS_INTERVAL_S = 0.05

_job_ids = itertools.count(1)


class JobSignals(QObject):
    """Everything a job reports; every signal's first argument is the job id."""

    loaded = Signal(int, object, object)  # record, MinMaxPyramid
    model_ready = Signal(int, object)  # classifier.describe() or None
    progress = Signal(int, str, float)  # stage, overall fraction 0..1
    beats = Signal(int, int, object, object, object)  # first, samples, labels, probs
    finished = Signal(int, object)  # AnalysisResult
    failed = Signal(int, str)  # one-line reason
    cancelled = Signal(int)


def build_classifier(spec: ClassifierSpec | None):
    """The shared per-process classifier for ``spec`` (None: no classifier).

    A device torch cannot use becomes a one-line BeatScopeError for the window.
    """
    try:
        return load_classifier(spec)
    except ValueError as err:  # e.g. cuda asked for, none present
        raise BeatScopeError(str(err)) from err


class ClassifierWarmUp(QRunnable):
    """Verify and load the classifier before any record needs it.

    Done while the window is idle, the weights' hashing and loading do not
    compete for the GIL with the first paint of a freshly opened record. Errors
    are left for the analysis job to report (it builds through the same cache).
    """

    def __init__(self, choice: ClassifierSpec):
        super().__init__()
        self.choice = choice

    def run(self) -> None:
        try:
            build_classifier(self.choice)
        except Exception:  # reported by the job that needs the classifier
            log.debug("classifier warm-up failed", exc_info=True)


class AnalysisJob(QRunnable):
    """Load (unless given a record) and analyse one record, reporting through signals."""

    def __init__(self, signals: JobSignals, *, path: Path | None = None,
                 record: Record | None = None, options: AnalysisOptions | None = None,
                 classifier: ClassifierSpec | None = None, fs: float | None = None):
        super().__init__()
        if (path is None) == (record is None):
            raise ValueError("give a path or a loaded record")
        self.setAutoDelete(True)
        self.job_id = next(_job_ids)
        self.signals = signals
        self.path = path
        self.record = record
        self.options = options or AnalysisOptions()
        self.classifier = classifier if classifier is not None else ClassifierSpec()
        self.fs = fs
        self._cancel = threading.Event()
        self._last_progress = 0.0

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:  # on a pool thread
        jid = self.job_id
        try:
            self._run()
        except CancelledError:
            self.signals.cancelled.emit(jid)
        except BeatScopeError as err:
            self.signals.failed.emit(jid, str(err))
        except MemoryError:
            self.signals.failed.emit(jid, "not enough memory to open and analyse this record")
        except Exception as err:  # a bug: one line for the user, the traceback in the log
            log.error("analysis job %d failed:\n%s", jid, traceback.format_exc())
            self.signals.failed.emit(jid, f"internal error ({type(err).__name__}: {err})")

    def _run(self) -> None:
        from beatscope.analysis import analyze
        from beatscope.io import load_record

        jid = self.job_id
        record = self.record
        if record is None:
            record = load_record(self.path, fs=self.fs)
            self._check_cancel()
            pyramid = MinMaxPyramid(record.signals, record.fs)
            self._check_cancel()
            self.signals.loaded.emit(jid, record, pyramid)
        model = build_classifier(self.classifier)
        self.signals.model_ready.emit(jid, None if model is None else model.describe())
        self._check_cancel()
        result = analyze(
            record, replace(self.options, classifier=model),
            progress=self._progress, should_cancel=self._cancel.is_set,
            on_beats=lambda first, s, lab, p: self.signals.beats.emit(jid, first, s, lab, p))
        if model is None:
            result.warnings.append("no beat-classifier weights found: beats are labelled Q")
        release_freed_memory()
        self._check_cancel()
        self.signals.finished.emit(jid, result)

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise CancelledError("cancelled")

    def _progress(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - self._last_progress < PROGRESS_INTERVAL_S:
            return
        self._last_progress = now
        self.signals.progress.emit(self.job_id, stage, fraction)


class AnalysisRunner(QObject):
    """Starts jobs and re-emits only the reports of the ones that still matter.

    A job opening a new file does not stop the analysis on screen until its
    record has loaded: a file that turns out to be unreadable then costs the
    user nothing, and the running analysis goes on. Once the new record is
    loaded the old job is cancelled and its late reports are dropped.

    Two pool threads: the new record loads while the job it replaces finishes
    the step it is in (the engine polls for cancellation between steps, which
    can be a few seconds apart in classification).
    """

    loaded = Signal(object, object)
    model_ready = Signal(object)
    progress = Signal(str, float)
    beats = Signal(int, object, object, object)
    finished = Signal(object)
    #: the analysis of the record on screen failed
    failed = Signal(str)
    #: a file could not be opened; whatever was on screen is untouched
    open_failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self.signals = JobSignals(self)
        s = self.signals
        s.loaded.connect(self._on_loaded)
        s.model_ready.connect(self._relay(self.model_ready))
        s.progress.connect(self._relay(self.progress))
        s.beats.connect(self._relay(self.beats))
        s.finished.connect(self._on_finished)
        s.failed.connect(self._on_failed)
        s.cancelled.connect(self._on_cancelled)
        self._job: AnalysisJob | None = None  # analysing the record on screen
        self._opening: AnalysisJob | None = None  # loading the record that replaces it

    @property
    def busy(self) -> bool:
        return self._job is not None or self._opening is not None

    @property
    def opening(self) -> bool:
        return self._opening is not None

    def start(self, **job_args) -> int:
        """Start a job for a file (``path=``) or for the record on screen (``record=``)."""
        job = AnalysisJob(self.signals, **job_args)
        if job.record is None:
            if self._opening is not None:  # a newer open supersedes a pending one
                self._opening.cancel()
            self._opening = job
        else:  # re-analysis replaces the running analysis at once
            if self._job is not None:
                self._job.cancel()
            self._job = job
        self.pool.start(job)
        return job.job_id

    def cancel(self) -> None:
        """Cancel every running job; their late reports are ignored from now on."""
        jobs = [j for j in (self._job, self._opening) if j is not None]
        self._job = self._opening = None
        for job in jobs:
            job.cancel()
        if jobs:
            self.cancelled.emit()

    def warm_up(self, choice: ClassifierSpec) -> None:
        """Load ``choice``'s classifier in the background, ahead of the first record."""
        self.pool.start(ClassifierWarmUp(choice))

    def wait_idle(self, timeout_ms: int = 30_000) -> bool:
        """Block until no job runs (for shutdown and tests only)."""
        return self.pool.waitForDone(timeout_ms)

    def _relay(self, signal):
        """A slot that re-emits a job's report without its id, if the job is current."""
        def slot(job_id: int, *args) -> None:
            if self._current(job_id):
                signal.emit(*args)
        return slot

    def _current(self, job_id: int) -> bool:
        return self._job is not None and self._job.job_id == job_id

    def _is_opening(self, job_id: int) -> bool:
        return self._opening is not None and self._opening.job_id == job_id

    def _on_loaded(self, job_id: int, record, pyramid) -> None:
        if not self._is_opening(job_id):
            return
        if self._job is not None:  # superseded: the window now shows the new record
            self._job.cancel()
        self._job, self._opening = self._opening, None
        self.loaded.emit(record, pyramid)

    def _on_finished(self, job_id: int, result) -> None:
        if self._current(job_id):
            self._job = None
            self.finished.emit(result)

    def _on_failed(self, job_id: int, message: str) -> None:
        if self._is_opening(job_id):
            self._opening = None
            self.open_failed.emit(message)
        elif self._current(job_id):
            self._job = None
            self.failed.emit(message)

    def _on_cancelled(self, job_id: int) -> None:
        # cancel() already told the window; a job that stops itself is only cleared
        if self._current(job_id):
            self._job = None
            self.cancelled.emit()
        elif self._is_opening(job_id):
            self._opening = None
