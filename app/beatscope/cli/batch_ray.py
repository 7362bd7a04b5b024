"""Running one task per record as Ray tasks: ``beatscope analyze DIR --ray [ADDRESS]``.

The same contract as ``cli.worker_pool.run_in_workers``: a generator yielding a
``Finished`` per task in completion order and ``None`` as a heartbeat, so the
analyze command's loop, progress, ``summary.csv`` and resuming do not know which
one ran the records. Without an address a local Ray instance is started (sized by
``--jobs``) and shut down at the end; with one (``auto``, ``ray://host:10001``) the
records run on that cluster, whose nodes must see the records and ``--out`` at the
same paths and have BeatScope installed.

The classifier's weights go into the object store once: a task receives the
reference wrapped in a list, which Ray does not resolve, so a worker fetches and
verifies the ~15 MB only the first time; after that its process keeps the
classifier (``analysis.classifier_cache``), as a ``--jobs`` worker does.

Ray is an optional extra, imported only here and only when ``--ray`` is used.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from beatscope.analysis.classifier_cache import ClassifierSpec
from beatscope.cli.worker_pool import Finished
from beatscope.errors import BeatScopeError

MISSING_RAY = "--ray needs Ray, an optional extra: pip install 'beatscope[ray]'"
#: Tasks submitted ahead of the results at least (twice the cluster's slots if more).
MIN_IN_FLIGHT = 32


def import_ray():
    """The ``ray`` module, or a one-line BeatScopeError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise BeatScopeError(MISSING_RAY) from None
    return ray


def threads_per_record(address: str | None, jobs: int) -> int:
    """CPUs (and torch threads) each record's task takes.

    On a local instance ``--jobs`` records share this machine's CPUs as the process
    pool's workers do; on a cluster the nodes' sizes are unknown here, so each
    record takes one CPU and the cluster runs as many at once as it has.
    """
    if address:
        return 1
    return max(1, (os.cpu_count() or 1) // max(1, jobs))


@dataclass(frozen=True)
class WeightFiles:
    """A classifier weight set as the object store holds it (see install_classifier)."""

    origin: Path  # the folder read on the submitting machine, as the outputs name it
    manifest_sha256: str
    files: dict[str, bytes]


def read_weights(spec: ClassifierSpec | None) -> WeightFiles | None:
    """The files of ``spec``'s weight set, or None when no classifier runs or the
    (optional) default set is absent: the workers then label beats Q, as here."""
    if spec is None:
        return None
    from beatscope.analysis.resume import manifest_sha256
    from beatscope.models import default_weights_dir
    from beatscope.models.weights_io import read_weight_set_files

    folder = spec.weights or default_weights_dir()
    if not spec.required and not (folder / "manifest.json").exists():
        return None
    files = read_weight_set_files(folder)
    return WeightFiles(folder, manifest_sha256(folder) or "", files)


def run_in_ray(task: Callable[..., Any], arguments: Sequence[tuple], jobs: int,
               address: str | None = None, classifier: ClassifierSpec | None = None,
               weights: WeightFiles | None = None, heartbeat_s: float = 1.0
               ) -> Iterator[Finished | None]:
    """Run ``task(*arguments[i])`` for every i as Ray tasks.

    Yields a Finished per task as it ends (in completion order), and None when
    ``heartbeat_s`` passes without one. A task that raises, or whose worker dies,
    is a Finished with ``error`` and the others go on. ``classifier`` is installed
    in each worker from ``weights`` before its first task. ``task`` must be
    importable on the workers by name (a module-level function). When Ray is
    already initialised in this process it is used as is; otherwise this starts
    (``address`` None) or joins a cluster, and shuts its connection down at the end.
    Closing the generator (or Ctrl-C) cancels the tasks not yet finished.
    """
    ray = import_ray()
    started_here = not ray.is_initialized()
    threads = threads_per_record(address, jobs)
    if started_here:
        _connect(ray, address, jobs * threads)
    pending: dict[Any, int] = {}
    try:
        # An instance started elsewhere (a test's, a notebook's) may have fewer CPUs
        # than the torch threads: ask for what it has, or the tasks would never start.
        total = int(ray.cluster_resources().get("CPU", 0))
        cpus = min(threads, total) if total else threads
        remote = ray.remote(_run_record).options(num_cpus=cpus, max_retries=0)
        # one copy in the object store; the list keeps Ray from resolving it per task
        shipped = None if weights is None else (weights.manifest_sha256, [ray.put(weights)])
        # A window of tasks in flight, not the whole archive at once: each ray.wait
        # scans what is pending, and Ctrl-C has fewer tasks to cancel.
        window = max(MIN_IN_FLIGHT, 2 * (total // cpus))
        queue = iter(enumerate(arguments))
        while True:
            for index, args in itertools.islice(queue, window - len(pending)):
                pending[remote.remote(task, args, classifier, shipped)] = index
            if not pending:
                return
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=heartbeat_s)
            if not ready:
                yield None
                continue
            # everything else already done too, without waiting again
            more, _ = ray.wait([r for r in pending if r not in ready],
                               num_returns=len(pending) - len(ready), timeout=0)
            for ref in [*ready, *more]:
                yield _collect(ray, ref, pending.pop(ref))
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if started_here:
            ray.shutdown()


def _connect(ray, address: str | None, cpus: int) -> None:
    import logging
    import warnings

    try:
        # Ray's notices (and the client's timeout warning) would break the one-line
        # errors and progress lines on stderr; a failure is reported below instead
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if address:
                ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
            else:
                # "local": a new instance even where RAY_ADDRESS names a cluster
                ray.init(address="local", num_cpus=cpus, include_dashboard=False,
                         logging_level=logging.ERROR, log_to_driver=False)
    except Exception as err:  # a bad address, an unreachable head, a failed start
        what = (f"connect to the Ray cluster at {address}" if address
                else "start a local Ray instance")
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise BeatScopeError(f"cannot {what}: {first}") from None


def _collect(ray, ref, index: int) -> Finished:
    """The task's result, or why it has none, on one line."""
    try:
        return Finished(index, ray.get(ref))
    except ray.exceptions.RayTaskError as err:  # the task raised: its own exception
        cause = getattr(err, "cause", None) or err
        return Finished(index, None, _one_line(f"{type(cause).__name__}: {cause}"))
    except ray.exceptions.WorkerCrashedError:
        return Finished(index, None, "the Ray worker process died (out of memory?)")
    except ray.exceptions.RayError as err:  # node lost, killed for memory, cancelled ...
        return Finished(index, None, _one_line(f"Ray: {type(err).__name__}: {err}"))


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else text


def _run_record(task: Callable[..., Any], args: tuple, classifier: ClassifierSpec | None,
                shipped: tuple[str, list] | None) -> Any:
    """In a Ray worker: make sure ``classifier`` is this process's, then run the task."""
    if classifier is not None:
        from beatscope.analysis.classifier_cache import holds_installed, install_classifier

        sha = None if shipped is None else shipped[0]
        if not holds_installed(classifier, sha):  # fetched once per worker process
            import ray

            weights = None if shipped is None else ray.get(shipped[1][0])
            install_classifier(classifier, None if weights is None else weights.files,
                               Path() if weights is None else weights.origin, sha)
    return task(*args)
