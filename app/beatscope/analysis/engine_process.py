"""The analysis engine in a child process, for the viewer.

Why a process and not a thread: the engine is CPU-bound numpy, scipy and torch
work. Run on a thread of the viewer it took the GUI thread's GIL for tens of
milliseconds at a time (numpy and scipy calls that do not release it), and
torch's intra-op threads filled both cores during classification, so the
window stalled for 50-80 ms (measured with a faulthandler watchdog). A child
process has its own interpreter and runs at a lower OS priority, so the
scheduler serves the GUI first. Cancelling is immediate: the child is killed,
and every working copy it held goes back to the operating system with it.

Protocol, over one ``multiprocessing`` pipe. The child says ``("hello", info)``
once it has imported the engine. The parent then sends ``("warm", spec)`` (load
a classifier ahead of need) or ``("analyze", source, options, spec)``; an
analysis answers with ``("model", describe)``, any number of ``("progress",
stage, fraction)`` and ``("beats", first, samples, labels, probabilities)``,
then either ``("finished", result)`` (its ``record`` left out: the parent has
it) followed by ``("idle", retiring)``, or ``("failed", message, traceback_text)``.

The child loads the record from its file itself rather than receiving its
samples: a 24-h 3-lead record is ~370 MB, and pickling that through a pipe
would hold the parent's GIL for about a second.

Qt-free: the viewer's worker (``beatscope.ui.worker``) drives it from a pool
thread and turns its callbacks into signals.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from beatscope.errors import BeatScopeError, CancelledError, RecordError

log = logging.getLogger(__name__)

#: The parent checks for cancellation at least this often while it waits.
POLL_S = 0.05
#: The child forwards progress at most this often: each is a pipe message and then
#: a queued signal, and a flood of those would itself stall the GUI thread.
PROGRESS_INTERVAL_S = 0.05
#: How much lower than the viewer the engine runs (POSIX nice increment).
NICE_INCREMENT = 10
#: An engine whose resident memory has grown by more than this since it was ready
#: exits after its job and the pool starts a fresh one. After a 24-h 3-lead analysis
#: an engine kept 60-90 MB more than a fresh one (380 MB) even after ``malloc_trim``
#: (measured), for as long as it lived; a 30-min record adds a few MB and keeps
#: its engine.
RETIRE_GROWTH_MB = 50.0
#: The child's one-line error when the file no longer matches what the window loaded.
_CHANGED = "the file changed on disk after it was opened; open it again"


@dataclass(frozen=True)
class RecordSource:
    """Where the child gets the record: its file (re-read there) or, for an
    in-memory record with no file, the record itself (small: tests, synthetic).
    ``expect`` is (n_samples, n_leads, fs) as the window loaded it."""

    path: Path | None = None
    fs: float | None = None
    record: object | None = None
    expect: tuple[int, int, float] | None = None

    @classmethod
    def of(cls, record, path: Path | None = None, fs: float | None = None) -> RecordSource:
        expect = (record.n_samples, record.n_leads, float(record.fs))
        if path is None:
            return cls(record=record, expect=expect)
        return cls(path=Path(path), fs=fs, expect=expect)


class EngineCrashed(BeatScopeError):
    """The engine process died without answering (killed, out of memory, crashed)."""


class ProgressThrottle:
    """Forwards progress at most every ``PROGRESS_INTERVAL_S``, except a new stage or
    the end, which always go: a dropped stage change left the bar showing the last
    stage's name ("Filtering 58%") through the whole of the next one."""

    def __init__(self, send: Callable[[str, float], None], clock=time.monotonic):
        self.send, self.clock = send, clock
        self._last_time, self._last_stage = float("-inf"), None

    def __call__(self, stage: str, fraction: float) -> None:
        now = self.clock()
        if (fraction >= 1.0 or stage != self._last_stage
                or now - self._last_time >= PROGRESS_INTERVAL_S):
            self._last_time, self._last_stage = now, stage
            self.send(stage, fraction)


# ============================================================ child process
def _lower_priority() -> None:
    """Make the engine yield the CPU to the viewer (best effort, any OS)."""
    try:
        if hasattr(os, "nice"):
            os.nice(NICE_INCREMENT)
        elif sys.platform == "win32":
            import ctypes

            below_normal = 0x4000
            kernel32 = ctypes.windll.kernel32
            kernel32.SetPriorityClass(kernel32.GetCurrentProcess(), below_normal)
    except OSError:  # not allowed: run at normal priority
        pass


def serve(conn) -> None:
    """The child's main loop: answer jobs until the parent closes the pipe."""
    _lower_priority()
    import torch

    import beatscope.analysis  # noqa: F401  (the engine, imported once up front)

    # str(): torch's version is a TorchVersion, and unpickling it would import
    # torch into the viewer (~250 MB)
    try:
        conn.send(("hello", {"cuda": bool(torch.cuda.is_available()),
                             "torch": str(torch.__version__), "pid": os.getpid()}))
    except (BrokenPipeError, EOFError, OSError):  # the viewer went away while torch loaded
        return
    ready_mb = [None]  # resident memory once warm (or after the first job)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the viewer went away
            return
        kind = message[0]
        try:
            if kind == "warm":
                _warm(message[1])
                if ready_mb[0] is None:  # growth counts from the first time it was ready
                    ready_mb[0] = _resident_mb()
            elif kind == "analyze":
                if _analyze(conn, *message[1:], ready_mb=ready_mb):
                    return  # retired: the parent knows, and starts a fresh engine
            elif kind == "call":
                _call(conn, message[1], message[2])
            elif kind == "stop":
                return
        except (BrokenPipeError, EOFError, OSError):  # the viewer went away mid-job
            return


def _resident_mb() -> float | None:
    """This process's resident memory (Linux), None where it cannot be read."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _warm(spec) -> None:
    from beatscope.analysis.classifier_cache import load_classifier
    from beatscope.rhythm.model import load_default_rhythm_model

    try:
        load_classifier(spec)
        load_default_rhythm_model()
    except Exception:  # the analysis that needs them reports the error
        log.debug("engine warm-up failed", exc_info=True)


def _load(source: RecordSource):
    from beatscope.io import load_record

    record = source.record if source.path is None else load_record(source.path, fs=source.fs)
    if source.expect is not None:
        got = (record.n_samples, record.n_leads, float(record.fs))
        if got != source.expect:
            raise RecordError(f"{record.name}: {_CHANGED}")
    return record


def _analyze(conn, source: RecordSource, options, spec, *, ready_mb: list) -> bool:
    """Run one job and send its messages; True when this engine retires after it."""
    from beatscope.analysis import analyze
    from beatscope.analysis.classifier_cache import load_classifier
    from beatscope.memory import release_freed_memory

    progress = ProgressThrottle(lambda stage, f: conn.send(("progress", stage, f)))

    def on_beats(first, samples, labels, probabilities) -> None:
        conn.send(("beats", first, samples, labels, probabilities))

    try:
        record = _load(source)
        try:
            model = load_classifier(spec)
        except ValueError as err:  # e.g. cuda asked for, none present
            raise BeatScopeError(str(err)) from err
        conn.send(("model", None if model is None else model.describe()))
        result = analyze(record, replace(options, classifier=model),
                         progress=progress, on_beats=on_beats)
        if model is None:
            result.warnings.append("no beat-classifier weights found: beats are labelled Q")
        result.record = None  # the parent has it; its samples are not sent back
        result.windows = None
        del record
        conn.send(("finished", result))
        # measured after the send: pickling the result leaves its own freed heap
        del result
        release_freed_memory()
        now_mb = _resident_mb()
        if ready_mb[0] is None:
            ready_mb[0] = now_mb
        retire = now_mb is not None and now_mb - ready_mb[0] > RETIRE_GROWTH_MB
        conn.send(("idle", retire))
        return retire
    except (BrokenPipeError, EOFError):
        raise
    except BeatScopeError as err:
        conn.send(("failed", str(err), ""))
    except MemoryError:
        conn.send(("failed", "not enough memory to analyse this record", ""))
    except Exception as err:  # a bug: one line for the user, the traceback for the log
        conn.send(("failed", f"internal error ({type(err).__name__}: {err})",
                   traceback.format_exc()))
    release_freed_memory()
    return False


#: Core functions the viewer may run in the engine (by name: nothing else is called).
#: Learning from a reviewer's corrections is numpy and scikit-learn work over the
#: whole record: here it cannot hold the window's GIL.
CALLABLE = {
    "similar_beats": ("beatscope.review.propagate", "similar_beats"),
    "learn_from_corrections": ("beatscope.review.propagate", "learn_from_corrections"),
}


def _call(conn, name: str, args: tuple) -> None:
    import importlib

    try:
        module, function = CALLABLE[name]
        conn.send(("returned", getattr(importlib.import_module(module), function)(*args)))
    except (BrokenPipeError, EOFError):
        raise
    except MemoryError:
        conn.send(("failed", "not enough memory", ""))
    except Exception as err:
        conn.send(("failed", f"internal error ({type(err).__name__}: {err})",
                   traceback.format_exc()))


# =========================================================== parent process
class EngineProcess:
    """One child process running the engine, one job at a time."""

    def __init__(self):
        ctx = multiprocessing.get_context("spawn")  # fork + torch threads deadlock
        self._conn, child_conn = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=serve, args=(child_conn,), daemon=True,
                                   name="beatscope-engine")
        self.process.start()
        child_conn.close()
        self.info: dict | None = None  # the child's hello, once read
        self._killed = False
        self._retired = False  # the child said it exits after its last job

    @property
    def alive(self) -> bool:
        return not (self._killed or self._retired) and self.process.is_alive()

    def warm(self, spec) -> None:
        """Have the child load ``spec``'s classifier while it is idle."""
        self._conn.send(("warm", spec))

    def poll_info(self) -> dict | None:
        """The child's hello (device facts) if it has arrived; never blocks."""
        if self.info is None and self.alive:
            try:
                if self._conn.poll():
                    self._take(self._conn.recv())
            except (EOFError, OSError):
                pass
        return self.info

    def analyze(self, source: RecordSource, options, spec, *,
                should_cancel: Callable[[], bool],
                on_model: Callable[[dict | None], None] | None = None,
                on_progress: Callable[[str, float], None] | None = None,
                on_beats: Callable | None = None):
        """Run one analysis in the child; returns its ``AnalysisResult`` (``record``
        None). Raises CancelledError (the child is killed), BeatScopeError for the
        engine's one-line failures, and EngineCrashed when the child dies."""
        result = None
        try:
            self._conn.send(("analyze", source, options, spec))
            while True:
                if should_cancel():
                    self.kill()
                    raise CancelledError("cancelled")
                if not self._conn.poll(POLL_S):
                    if not self.process.is_alive():
                        raise self._crashed()
                    continue
                message = self._conn.recv()
                kind = message[0]
                if kind == "beats" and on_beats is not None:
                    on_beats(*message[1:])
                elif kind == "progress" and on_progress is not None:
                    on_progress(*message[1:])
                elif kind == "model" and on_model is not None:
                    on_model(message[1])
                elif kind == "finished":
                    result = message[1]
                elif kind == "idle":  # after "finished": whether the child now exits
                    self._retired = bool(message[1])
                    return result
                elif kind == "failed":
                    if message[2]:
                        log.error("analysis engine failed:\n%s", message[2])
                    raise BeatScopeError(message[1])
                else:
                    self._take(message)
        except (EOFError, BrokenPipeError, ConnectionResetError) as err:
            raise self._crashed() from err

    def call(self, name: str, *args):
        """Run the core function ``name`` (one of :data:`CALLABLE`) in the child and
        return what it returns. Raises BeatScopeError when it fails and EngineCrashed
        when the child dies."""
        try:
            self._conn.send(("call", name, args))
            while True:
                if not self._conn.poll(POLL_S):
                    if not self.process.is_alive():
                        raise self._crashed()
                    continue
                message = self._conn.recv()
                if message[0] == "returned":
                    return message[1]
                if message[0] == "failed":
                    if message[2]:
                        log.error("engine call %s failed:\n%s", name, message[2])
                    raise BeatScopeError(message[1])
                self._take(message)
        except (EOFError, BrokenPipeError, ConnectionResetError) as err:
            raise self._crashed() from err

    def kill(self) -> None:
        """Stop the child at once; its memory goes back to the OS."""
        self._killed = True
        if self.process.is_alive():
            self.process.kill()
        self.process.join(2.0)
        self._conn.close()

    def close(self) -> None:
        """Ask an idle child to exit; kill it if it does not."""
        if self.alive:
            try:
                self._conn.send(("stop",))
            except OSError:
                pass
            self.process.join(2.0)
        self.kill()

    def _take(self, message) -> None:
        if message[0] == "hello":
            self.info = message[1]

    def _crashed(self) -> EngineCrashed:
        self.process.join(2.0)
        code = self.process.exitcode
        self._killed = True
        how = "out of memory or killed" if code in (-9, 137) else f"exit code {code}"
        return EngineCrashed(f"the analysis engine stopped unexpectedly ({how})")


class EnginePool:
    """Keeps one idle engine warm, so an analysis never waits for torch to import.

    A job takes an engine with :meth:`acquire` and gives it back with
    :meth:`release`; a killed or crashed engine is not taken back, and the pool
    starts its replacement at once so the next job finds it ready.
    """

    def __init__(self, idle: int = 1):
        self._idle: list[EngineProcess] = []
        self._size = idle
        self._lock = threading.Lock()
        self._spec = None
        self.info: dict | None = None  # the most recent child's hello

    def acquire(self) -> EngineProcess:
        with self._lock:
            while self._idle:
                engine = self._idle.pop()
                if engine.alive:
                    self._note(engine)
                    return engine
        return EngineProcess()

    def release(self, engine: EngineProcess) -> None:
        """Take ``engine`` back if it is fit, and make sure a warm one is idle."""
        with self._lock:
            self._note(engine)
            if engine.alive and len(self._idle) < self._size:
                self._idle.append(engine)
                engine = None
        if engine is not None:
            engine.close()
        self.prewarm(self._spec)

    def prewarm(self, spec=None) -> None:
        """Make sure an engine is idle, and have it load ``spec``'s classifier
        (the last one named, when None)."""
        with self._lock:  # sends happen under the lock: no job owns an idle engine
            if spec is not None:
                self._spec = spec
            self._idle = [e for e in self._idle if e.alive]
            while len(self._idle) < self._size:
                self._idle.append(EngineProcess())
            if self._spec is not None:
                for engine in self._idle:
                    try:
                        engine.warm(self._spec)
                    except OSError:  # died meanwhile: replaced on the next call
                        pass

    def cuda_available(self) -> bool | None:
        """Whether the engine's torch sees CUDA; None until a child has said."""
        with self._lock:
            for engine in self._idle:
                self._note(engine)
        return None if self.info is None else bool(self.info.get("cuda"))

    def shutdown(self) -> None:
        """Stop the idle engines (at exit). Killed, not asked: an idle engine holds
        nothing to save, and one still importing torch would answer only later."""
        with self._lock:
            idle, self._idle = self._idle, []
        for engine in idle:
            engine.kill()

    def _note(self, engine: EngineProcess) -> None:
        info = engine.poll_info()
        if info is not None:
            self.info = info


_pool: EnginePool | None = None
_pool_lock = threading.Lock()


def engine_pool() -> EnginePool:
    """The process-wide pool: one set of warm engines however many windows."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = EnginePool()
            atexit.register(_pool.shutdown)
        return _pool
