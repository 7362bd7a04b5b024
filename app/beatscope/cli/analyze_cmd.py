"""``beatscope analyze RECORD|DIR... --out OUT``: the whole engine, headless, over an archive.

A directory is searched at any depth and its folders are mirrored under OUT
(``cli.batch_plan``); records whose outputs are already up to date are skipped
unless ``--force`` (``analysis.resume``); ``--jobs N`` analyses records in worker
processes where a crash costs only its record (``cli.worker_pool``); every record
ends up as one row of ``OUT/summary.csv`` (``cli.batch_summary``). ``--ray [ADDRESS]``
runs the same per-record function as Ray tasks instead, on a local instance or a
cluster (``cli.batch_ray``; Ray is an optional extra, imported only then).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from beatscope.cli.batch_plan import SUMMARY_NAME, BatchItem, plan_batch
from beatscope.cli.batch_progress import (
    DONE,
    FAILED,
    INTERRUPTED,
    SKIPPED,
    BatchProgress,
    format_seconds,
)
from beatscope.cli.batch_summary import (
    RecordStats,
    SummaryRow,
    stats_from_summary,
    write_summary_csv,
)
from beatscope.errors import BeatScopeError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from beatscope.analysis.classifier_cache import ClassifierSpec
    from beatscope.analysis.resume import Provenance
    from beatscope.cli.worker_pool import Finished


@dataclass(frozen=True)
class Outcome:
    record: str
    ok: bool
    message: str
    seconds: float = 0.0
    stats: RecordStats | None = None  # None when the record failed


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze", help="analyse ECG records and write <name>.beats and <name>.json",
        description="Denoise, detect and segment every beat of each RECORD and write "
                    "OUT/<name>.beats (WFDB annotations) and OUT/<name>.json (summary). "
                    "A directory stands for every record below it, at any depth; its "
                    "sub-folders are mirrored under OUT. Records whose outputs are "
                    "already there from the same version, weights and options are "
                    "skipped. OUT/summary.csv lists every record and what became of it.")
    p.add_argument("records", nargs="+", metavar="RECORD",
                   help=".hea/.edf/.bdf/.ecg (ISHNE)/.dcm/.xml (aECG, MUSE, Philips)/.csv/"
                        ".mat file, "
                        "WFDB record path without extension, "
                        "or a directory searched for records at any depth")
    p.add_argument("--out", required=True, type=Path, metavar="OUT", help="output folder")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="records analysed in parallel worker processes (default 1: in "
                        "this process); a worker that crashes fails only its record")
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="analyse the records as Ray tasks: on a local Ray instance of "
                        "--jobs workers, or on the cluster at ADDRESS (auto, "
                        "ray://HOST:10001) whose nodes see the records and OUT at the "
                        "same paths; needs pip install 'beatscope[ray]'. Put it after "
                        "the records (or give ADDRESS) so that it does not take a record "
                        "for its address")
    p.add_argument("--force", action="store_true",
                   help="analyse every record again, even where up-to-date outputs exist")
    p.add_argument("--fs", type=float, default=None,
                   help="sampling rate in Hz for files that do not state it (CSV, bare .mat)")
    p.add_argument("--powerline", choices=["auto", "50", "60", "off"], default="auto",
                   help="mains frequency to notch (default: detect from the spectrum)")
    p.add_argument("--band", choices=["default", "paper"], default="default",
                   help="band-pass: default 0.5-40 Hz, or the source paper's 0.6-35 Hz")
    p.add_argument("--weights", type=Path, default=None, metavar="DIR",
                   help="beat-classifier weight set (default: the shipped production set in "
                        "model_weights/; model_weights/validation-ds1 is the DS1-only set)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="where the classifier runs (auto: CUDA when torch sees a GPU)")
    p.add_argument("--no-classify", action="store_true",
                   help="detect and segment only; every beat is labelled Q")
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    p.set_defaults(run=run)


def _options(args: argparse.Namespace):
    from beatscope.analysis import AnalysisOptions
    from beatscope.dsp import BAND_DEFAULT, BAND_PAPER, DenoiseConfig

    powerline = {"auto": "auto", "50": 50, "60": 60, "off": None}[args.powerline]
    band = BAND_PAPER if args.band == "paper" else BAND_DEFAULT
    return AnalysisOptions(denoise=DenoiseConfig(powerline=powerline, band=band))


def _recorded_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options that change results, as written into each JSON for ``--force``-less
    reruns to compare (the weights are compared by their manifest's hash instead;
    ``--jobs`` and ``--device`` only change where the same work runs)."""
    return {"fs": args.fs, "powerline": args.powerline, "band": args.band,
            "classify": not args.no_classify}


def _classifier_spec(args: argparse.Namespace) -> ClassifierSpec | None:
    from beatscope.analysis.classifier_cache import ClassifierSpec

    if args.no_classify:
        return None
    threads = None
    if args.ray is not None:  # each Ray task's CPUs, and as many torch threads
        from beatscope.cli.batch_ray import threads_per_record

        threads = threads_per_record(args.ray or None, args.jobs)
    elif args.jobs > 1:  # one torch thread pool per worker, not one per CPU in each
        threads = max(1, (os.cpu_count() or 1) // args.jobs)
    return ClassifierSpec(args.weights, args.device, required=args.weights is not None,
                          threads=threads)


def analyze_one(path: Path, out_dir: Path, fs: float | None, options,
                classifier: ClassifierSpec | None = None, debug: bool = False,
                progress=None, recorded_options: dict[str, Any] | None = None) -> Outcome:
    """Analyse one record and write its outputs; every failure becomes an Outcome."""
    from dataclasses import replace

    from beatscope.analysis import analyze
    from beatscope.analysis.classifier_cache import load_classifier
    from beatscope.analysis.output import write_beats
    from beatscope.analysis.resume import write_summary_with_options
    from beatscope.io import load_record

    name = path.stem if path.suffix else path.name
    start = time.perf_counter()
    try:
        record = load_record(path, fs=fs)
        name = record.name
        model = load_classifier(classifier)
        result = analyze(record, replace(options, classifier=model), progress=progress)
        if model is None and classifier is not None:
            result.warnings.append("no beat-classifier weights found: beats are labelled Q")
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise BeatScopeError(f"{name}: cannot create output folder {out_dir}: "
                                 f"{err.strerror}") from err
        # the .beats first: a JSON on disk (what a rerun checks) implies its .beats
        write_beats(result, out_dir)
        summary = write_summary_with_options(result, out_dir, recorded_options or {})
        note = f"; warning: {result.warnings[-1]}" if result.warnings else ""
        return Outcome(name, True, f"{len(result.beats)} beats{note}",
                       time.perf_counter() - start, stats_from_summary(summary))
    except BeatScopeError as err:
        return Outcome(name, False, str(err), time.perf_counter() - start)
    except MemoryError:
        return Outcome(name, False, f"{name}: not enough memory to analyse this record",
                       time.perf_counter() - start)
    except Exception as err:  # a bug: report it on one line, keep the other records going
        detail = traceback.format_exc() if debug else ""
        return Outcome(name, False, f"{name}: internal error ({type(err).__name__}: {err})"
                                    f"{chr(10) + detail if detail else ''}",
                       time.perf_counter() - start)


def run(args: argparse.Namespace) -> int:
    from beatscope.analysis.classifier_cache import load_classifier
    from beatscope.analysis.resume import current_provenance

    started = time.monotonic()
    if args.ray is not None:
        from beatscope.cli.batch_ray import import_ray

        import_ray()  # without the extra: one line now, before any work
    items = plan_batch(args.records, args.out)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BeatScopeError(f"cannot create output folder {args.out}: {err.strerror}") from err
    options = _options(args)
    spec = _classifier_spec(args)
    if spec is not None and spec.required:
        load_classifier(spec)  # a bad --weights folder is one error, not one per record
    recorded = _recorded_options(args)
    wanted = current_provenance(recorded, classify=not args.no_classify, weights=args.weights)

    rows, todo, colliding = _triage(items, args.out, None if args.force else wanted)
    progress = BatchProgress(len(items), skipped=len(rows))
    interrupted = False
    try:
        for index in colliding:
            message = (f"{items[index].source}: same output name as "
                       f"{items[index].collides_with}; not analysed")
            _finish(progress, rows, index, items, args.out, Outcome("", False, message))
        arguments = [(items[i].source, items[i].out_dir, args.fs, options, spec, args.debug,
                      None, recorded) for i in todo]
        if args.ray is None and (args.jobs <= 1 or len(todo) <= 1):
            for index, task in zip(todo, arguments, strict=True):
                progress.record_started(items[index].source.name)
                outcome = analyze_one(*task[:6], progress.stage, recorded)
                _finish(progress, rows, index, items, args.out, outcome)
        elif todo:
            for finished in _run_elsewhere(args, arguments, spec):
                if finished is None:
                    progress.heartbeat()
                    continue
                index = todo[finished.index]
                outcome = finished.result or Outcome(
                    "", False, f"{items[index].source}: {finished.error}")
                _finish(progress, rows, index, items, args.out, outcome)
    except KeyboardInterrupt:
        # Ctrl-C on an overnight run: what was done stays listed, the rest is marked,
        # and the next run resumes from the outputs already written
        interrupted = True
        for index in range(len(items)):
            if index not in rows:
                rows[index] = _row(items[index], args.out, INTERRUPTED,
                                   "not analysed: the run was interrupted")
    finally:
        progress.close()
    try:
        write_summary_csv(args.out / SUMMARY_NAME, [rows[i] for i in range(len(items))])
    except OSError as err:
        raise BeatScopeError(f"cannot write {args.out / SUMMARY_NAME}: {err.strerror}") from err
    if interrupted:
        c = progress.counts
        print(f"beatscope: interrupted: {c[DONE]} done, {c[FAILED]} failed, {c[SKIPPED]} "
              f"skipped of {len(items)}; {args.out / SUMMARY_NAME} lists them, and the "
              "same command resumes", file=sys.stderr)
        return 130
    return _final_line(progress, time.monotonic() - started, args.out / SUMMARY_NAME)


def _run_elsewhere(args: argparse.Namespace, arguments: list[tuple],
                   spec: ClassifierSpec | None) -> Iterator[Finished | None]:
    """The records' outcomes from the ``--jobs`` process pool or from Ray tasks."""
    if args.ray is None:
        from beatscope.cli.worker_pool import run_in_workers

        return run_in_workers(analyze_one, arguments, args.jobs,
                              threads=None if spec is None else spec.threads)
    from beatscope.cli.batch_ray import read_weights, run_in_ray

    return run_in_ray(analyze_one, arguments, args.jobs, args.ray or None, spec,
                      read_weights(spec))


def _triage(items: list[BatchItem], out: Path, reuse: Provenance | None
            ) -> tuple[dict[int, SummaryRow], list[int], list[int]]:
    """Rows of the records skipped as up to date (when ``reuse`` is given: not
    ``--force``), indices of those to analyse, and indices of those colliding."""
    from beatscope.analysis.resume import reusable_summary

    rows: dict[int, SummaryRow] = {}
    todo: list[int] = []
    colliding: list[int] = []
    for index, item in enumerate(items):
        if item.collides_with is not None:  # the outputs there are another record's
            colliding.append(index)
            continue
        earlier = None if reuse is None else reusable_summary(item.out_dir, item.name, reuse)
        if earlier is not None:
            rows[index] = _row(item, out, SKIPPED, stats=stats_from_summary(earlier))
        else:
            todo.append(index)
    return rows, todo, colliding


def _row(item: BatchItem, out: Path, status: str, error: str = "",
         seconds: float | None = None, stats: RecordStats | None = None) -> SummaryRow:
    return SummaryRow(str(item.source), item.output.relative_to(out).as_posix(), status,
                      error, seconds, stats)


def _finish(progress: BatchProgress, rows: dict[int, SummaryRow], index: int,
            items: list[BatchItem], out: Path, outcome: Outcome) -> None:
    status = DONE if outcome.ok else FAILED
    rows[index] = _row(items[index], out, status, "" if outcome.ok else outcome.message,
                       outcome.seconds, outcome.stats)
    if not outcome.ok:
        progress.write(f"beatscope: error: {outcome.message}")
    elif "warning" in outcome.message:
        progress.write(f"beatscope: {outcome.record}: {outcome.message}")
    progress.record_finished(status)


def _final_line(progress: BatchProgress, wall_s: float, summary: Path) -> int:
    """One line with the totals and the wall time; the exit status says whether any failed."""
    counts, total = progress.counts, progress.total
    plural = "" if total == 1 else "s"
    tally = f"{counts[DONE]} done, {counts[SKIPPED]} skipped"
    if counts[FAILED]:
        print(f"beatscope: {counts[FAILED]} of {total} record{plural} failed ({tally}) "
              f"in {format_seconds(wall_s)}; see {summary}", file=sys.stderr)
        return 1
    print(f"beatscope: {total} record{plural} in {format_seconds(wall_s)}: {tally}",
          file=sys.stderr)
    return 0
