"""Opening and analysing a record off the GUI thread.

The pattern follows Orange's ``widgets/utils/concurrent.py``: a ``QRunnable``
does the work on a ``QThreadPool`` thread and talks back only through the
signals of a small ``QObject`` created on the GUI thread, so every slot runs on
the GUI thread (queued connections) and never touches half-built state.

A job goes: load the record and its display pyramid (``loaded``: the window
can paint the ECG at once), then hand the analysis to an engine process
(``beatscope.analysis.engine_process``: the engine's numpy and torch work would
otherwise take the GUI thread's GIL and CPU) and relay what it streams back:
``model_ready``, ``progress``, ``beats`` per classified block, and ``finished``
with the result and the record's review, opened on the job's thread (reading a
100k-beat review takes about a second). Cancelling kills the engine process at
once. A cancelled or superseded job's late signals carry its id, and
:class:`AnalysisRunner` drops every signal that is not from the current job
(closing the review it opened, so that its lock is released).

:class:`BeatCallJob` asks an engine for the model's call on one inserted beat.
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from beatscope.analysis import AnalysisOptions
from beatscope.analysis.classifier_cache import ClassifierSpec
from beatscope.analysis.engine_process import EnginePool, RecordSource, engine_pool
from beatscope.display import MinMaxPyramid
from beatscope.errors import BeatScopeError, CancelledError
from beatscope.io import Record

log = logging.getLogger(__name__)

_job_ids = itertools.count(1)


@dataclass(frozen=True)
class ReviewRequest:
    """Where the job opens the record's review, and who edits it."""

    fallback_dir: Path | None  # for records in read-only folders
    reviewer: str


@dataclass
class Finished:
    """A finished job's result, with the record's review (None and ``review_error``
    when it could not be opened: the beats are then shown without editing)."""

    result: object  # AnalysisResult
    review: object | None = None  # beatscope.review.session.ReviewSession
    review_error: str | None = None
    #: the review file found belongs to another recording: the user may set it aside
    other_recording: Path | None = None

    def discard(self) -> None:
        if self.review is not None:
            self.review.close()
            self.review = None


def open_review_for(record, result, request: ReviewRequest | None) -> Finished:
    """The result with its review opened (or the one-line reason it was not)."""
    if request is None:
        return Finished(result)
    from beatscope.review.database import ReviewDatabaseError
    from beatscope.review.session import ReviewSession
    from beatscope.review.sidecar import review_path

    path = None
    try:
        path = review_path(record, request.fallback_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        return Finished(result, ReviewSession.open(record, path, result, request.reviewer))
    except ReviewDatabaseError as err:
        return Finished(result, review_error=str(err),
                        other_recording=path if err.other_recording else None)
    except BeatScopeError as err:
        return Finished(result, review_error=str(err))
    except (OSError, sqlite3.Error) as err:
        return Finished(result, review_error=f"{record.name}: the review cannot be kept "
                                             f"({err}); edits are disabled")
    except Exception as err:  # a bug must not cost the finished analysis: log it, show it
        log.error("opening the review failed:\n%s", traceback.format_exc())
        return Finished(result, review_error=f"{record.name}: the review could not be "
                                             f"opened (internal error {type(err).__name__}: "
                                             f"{err}); edits are disabled")


class JobSignals(QObject):
    """Everything a job reports; every signal's first argument is the job id."""

    loaded = Signal(int, object, object)  # record, MinMaxPyramid
    model_ready = Signal(int, object)  # classifier.describe() or None
    progress = Signal(int, str, float)  # stage, overall fraction 0..1
    beats = Signal(int, int, object, object, object)  # first, samples, labels, probs
    finished = Signal(int, object)  # Finished
    failed = Signal(int, str)  # one-line reason
    cancelled = Signal(int)


class EngineWarmUp(QRunnable):
    """Start an engine process and have it load the classifier before any record
    needs it (importing torch there takes seconds), while the window is idle."""

    def __init__(self, engines: EnginePool, choice: ClassifierSpec):
        super().__init__()
        self.engines = engines
        self.choice = choice

    def run(self) -> None:
        try:
            self.engines.prewarm(self.choice)
        except Exception:  # reported by the job that needs an engine
            log.debug("engine warm-up failed", exc_info=True)


class AnalysisJob(QRunnable):
    """Load a record (unless given one) and analyse it, reporting through signals.

    ``path`` alone: open that file. ``record``: analyse the record on screen
    again; with its ``path`` the engine re-reads the file rather than receive
    the samples through a pipe.
    """

    def __init__(self, signals: JobSignals, *, path: Path | None = None,
                 record: Record | None = None, options: AnalysisOptions | None = None,
                 classifier: ClassifierSpec | None = None, fs: float | None = None,
                 engines: EnginePool | None = None, review: ReviewRequest | None = None):
        super().__init__()
        if path is None and record is None:
            raise ValueError("give a path or a loaded record")
        self.setAutoDelete(True)
        self.job_id = next(_job_ids)
        self.signals = signals
        self.path = None if path is None else Path(path)
        self.record = record
        self.options = options or AnalysisOptions()
        self.classifier = classifier if classifier is not None else ClassifierSpec()
        self.fs = fs
        self.engines = engines or engine_pool()
        self.engine = None  # the engine process analysing, once one is taken
        self.review = review
        self._cancel = threading.Event()

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
        from beatscope.io import load_record

        jid = self.job_id
        record = self.record
        if record is None:
            record = load_record(self.path, fs=self.fs)
            self._check_cancel()
            pyramid = MinMaxPyramid(record.signals, record.fs)
            self._check_cancel()
            self.signals.loaded.emit(jid, record, pyramid)
        engine = self.engine = self.engines.acquire()
        try:
            result = engine.analyze(
                RecordSource.of(record, self.path, self.fs), self.options, self.classifier,
                should_cancel=self._cancel.is_set,
                on_model=lambda describe: self.signals.model_ready.emit(jid, describe),
                # the engine already sends progress at most every 50 ms
                on_progress=lambda stage, f: self.signals.progress.emit(jid, stage, f),
                on_beats=lambda first, s, lab, p: self.signals.beats.emit(jid, first, s, lab, p))
        finally:
            self.engines.release(engine)
        result.record = record
        self._check_cancel()
        finished = open_review_for(record, result, self.review)
        if self._cancel.is_set():
            finished.discard()
            raise CancelledError("cancelled")
        self.signals.finished.emit(jid, finished)

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise CancelledError("cancelled")


class AnalysisRunner(QObject):
    """Starts jobs and re-emits only the reports of the ones that still matter.

    A job opening a new file does not stop the analysis on screen until its
    record has loaded: a file that turns out to be unreadable then costs the
    user nothing, and the running analysis goes on. Once the new record is
    loaded the old job is cancelled and its late reports are dropped.

    Two pool threads: the new record loads while the job it replaces still
    waits on its engine process.
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
        self.engines = engine_pool()
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
        """Start a job for a file (``path=``) or for the record on screen (``record=``,
        with the ``path`` it was opened from when it has one)."""
        job = AnalysisJob(self.signals, engines=self.engines, **job_args)
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
        """Ready an engine with ``choice``'s classifier, ahead of the first record."""
        self.pool.start(EngineWarmUp(self.engines, choice))

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

    def _on_finished(self, job_id: int, finished: Finished) -> None:
        if self._current(job_id):
            self._job = None
            self.finished.emit(finished)
        else:  # superseded: its review must not keep the record's review locked
            finished.discard()

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


class ReviewOpenSignals(QObject):
    opened = Signal(object)  # Finished


class ReviewOpenJob(QRunnable):
    """Open (or create) the record's review on a pool thread (about a second for a
    100k-beat review), for a result already on screen."""

    def __init__(self, signals: ReviewOpenSignals, record: Record, result,
                 request: ReviewRequest):
        super().__init__()
        self.setAutoDelete(True)
        self.signals, self.record, self.result, self.request = signals, record, result, request

    def run(self) -> None:  # on a pool thread
        self.signals.opened.emit(open_review_for(self.record, self.result, self.request))


class BeatCallSignals(QObject):
    done = Signal(int, str, object)  # sample, model label, probabilities (or None)
    failed = Signal(int, str)  # sample, one-line reason


class BeatCallJob(QRunnable):
    """The model's call on a beat the reviewer inserts, on an excerpt of the record
    around it (``analysis.single_beat``), in an engine process."""

    def __init__(self, signals: BeatCallSignals, engines: EnginePool, record: Record,
                 beats, sample: int, options: AnalysisOptions, classifier: ClassifierSpec):
        super().__init__()
        self.setAutoDelete(True)
        self.signals, self.engines, self.record = signals, engines, record
        self.beats, self.sample = beats, int(sample)
        self.options, self.classifier = options, classifier

    def run(self) -> None:  # on a pool thread
        from beatscope.analysis.single_beat import beat_excerpt, call_of

        try:
            excerpt, options, first = beat_excerpt(self.record, self.beats, self.sample,
                                                   self.options)
            engine = self.engines.acquire()
            try:
                result = engine.analyze(RecordSource.of(excerpt), options, self.classifier,
                                        should_cancel=lambda: False)
            finally:
                self.engines.release(engine)
            label, probability = call_of(result, self.sample - first)
            self.signals.done.emit(self.sample, label, probability)
        except BeatScopeError as err:
            self.signals.failed.emit(self.sample, str(err))
        except Exception as err:  # a bug: one line for the user, the traceback in the log
            log.error("classifying an inserted beat failed:\n%s", traceback.format_exc())
            self.signals.failed.emit(self.sample, f"internal error ({type(err).__name__}: {err})")
