"""Running one task per record in worker processes, a dead worker costing one record.

``concurrent.futures.ProcessPoolExecutor`` cannot be used for an archive: when one
worker dies (killed for memory, a crash in a native reader) the whole pool breaks
and every pending record fails with it, without saying which record killed it.
Here each worker is a process of its own with a pipe: the parent always knows
which task each worker holds, so a death fails exactly that task, with the exit
status as the reason, and a fresh worker takes the next one.

Workers start with ``spawn``, not ``fork``: a forked child inherits torch's OpenMP
pool half-initialised and deadlocks on its first parallel region. A worker keeps
its imports and caches (the loaded classifier) from one task to the next.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any


@dataclass(frozen=True)
class Finished:
    """Task ``index`` ended: ``result`` is what the task returned, or ``error`` says why not."""

    index: int
    result: Any = None
    error: str | None = None


def run_in_workers(task: Callable[..., Any], arguments: Sequence[tuple], jobs: int,
                   heartbeat_s: float = 1.0, threads: int | None = None
                   ) -> Iterator[Finished | None]:
    """Run ``task(*arguments[i])`` for every i in up to ``jobs`` processes.

    Yields a Finished per task as it ends (in completion order), and None when
    ``heartbeat_s`` passes without one, so that the caller can report progress
    during long records. ``task`` must be importable by name (a module-level
    function). Closing the generator (or Ctrl-C) stops the workers.
    """
    context = multiprocessing.get_context("spawn")
    queue = deque(enumerate(arguments))
    environment = _thread_environment(threads)
    workers = [_Worker(context, task, environment)
               for _ in range(max(1, min(jobs, len(queue))))]
    try:
        for worker in workers:
            _give_next(worker, queue)
        while True:
            busy = [w for w in workers if w.index is not None]
            if not busy:
                return
            ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy],
                             timeout=heartbeat_s))
            if not ready:
                yield None
                continue
            for worker in busy:
                if worker.conn not in ready and worker.process.sentinel not in ready:
                    continue
                finished = worker.collect()
                if queue and not worker.process.is_alive():
                    workers[workers.index(worker)] = worker = _Worker(context, task,
                                                                      environment)
                yield finished
                _give_next(worker, queue)
    finally:
        for worker in workers:
            worker.stop()


def _give_next(worker: _Worker, queue: deque) -> None:
    while queue:
        index, args = queue.popleft()
        if worker.send(index, args):
            return
        # died before it got the task (nothing of the task's doing): retry elsewhere
        queue.appendleft((index, args))
        worker.restart()


def _thread_environment(threads: int | None) -> dict[str, str]:
    """OpenMP's pool size for each worker: numpy's and scipy's BLAS and torch's
    intra-op pool would each start one thread per CPU in every worker, and N workers
    then fight over the CPUs (8 records, 2 workers on 2 cores: 41.5 s unset, 33.3 s
    with one thread each). Read at import, so it must be in the environment the
    worker starts with. A value the user set is left alone."""
    if threads is None or "OMP_NUM_THREADS" in os.environ:
        return {}
    return {"OMP_NUM_THREADS": str(max(1, threads))}


class _Worker:
    def __init__(self, context, task: Callable[..., Any],
                 environment: dict[str, str] | None = None) -> None:
        self._context, self._task = context, task
        self._environment = environment or {}
        self.index: int | None = None
        self._start()

    def _start(self) -> None:
        self.conn, child = self._context.Pipe()
        self.process = self._context.Process(target=_serve, args=(child, self._task),
                                             daemon=True)
        saved = {name: os.environ.get(name) for name in self._environment}
        os.environ.update(self._environment)  # a spawned child copies it at start
        try:
            self.process.start()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        child.close()  # the parent keeps only its end: EOF when the worker dies

    def restart(self) -> None:
        self.stop()
        self._start()

    def send(self, index: int, args: tuple) -> bool:
        try:
            self.conn.send((index, args))
        except OSError:
            return False
        self.index = index
        return True

    def collect(self) -> Finished:
        """The result of the task this worker holds, or why the worker died on it."""
        index, self.index = self.index, None
        try:
            if self.conn.poll():
                done_index, result, error = self.conn.recv()
                return Finished(done_index, result, error)
        except (EOFError, OSError):
            pass
        self.process.join(timeout=5)
        return Finished(index, None, _death(self.process.exitcode))

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"the worker process was killed by {name}{hint}"
    return f"the worker process exited with status {exitcode}"


def _serve(conn: Connection, task: Callable[..., Any]) -> None:
    """A worker's loop: run each task received until told to stop (None) or orphaned."""
    # Ctrl-C reaches the whole process group: the parent stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        index, args = message
        try:
            reply = (index, task(*args), None)
        except Exception as err:  # the task's own bug: this task fails, the worker goes on
            reply = (index, None, f"{type(err).__name__}: {err}")
        try:
            conn.send(reply)
        except Exception as err:  # a result that cannot be pickled
            conn.send((index, None, f"result not sendable ({type(err).__name__}: {err})"))
