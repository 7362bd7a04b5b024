"""``beatscope analyze RECORD... --out DIR``: the whole engine, headless."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from beatscope.errors import BeatScopeError

if TYPE_CHECKING:
    from beatscope.analysis.classifier_cache import ClassifierSpec


@dataclass(frozen=True)
class Outcome:
    record: str
    ok: bool
    message: str


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze", help="analyse ECG records and write <name>.beats and <name>.json",
        description="Denoise, detect and segment every beat of each RECORD and write "
                    "DIR/<name>.beats (WFDB annotations) and DIR/<name>.json (summary).")
    p.add_argument("records", nargs="+", metavar="RECORD",
                   help=".hea/.edf/.bdf/.ecg (ISHNE)/.xml (HL7 aECG)/.csv/.mat file, "
                        "WFDB record path without extension, "
                        "or a directory of records")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="records analysed in parallel (default 1)")
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


def _classifier_spec(args: argparse.Namespace) -> ClassifierSpec | None:
    from beatscope.analysis.classifier_cache import ClassifierSpec

    if args.no_classify:
        return None
    threads = None
    if args.jobs > 1:  # one torch thread pool per worker, not one per CPU in each
        threads = max(1, (os.cpu_count() or 1) // args.jobs)
    return ClassifierSpec(args.weights, args.device, required=args.weights is not None,
                          threads=threads)


def analyze_one(path: Path, out_dir: Path, fs: float | None, options,
                classifier: ClassifierSpec | None = None, debug: bool = False,
                progress=None) -> Outcome:
    """Analyse one record and write its outputs; every failure becomes an Outcome."""
    from dataclasses import replace

    from beatscope.analysis import analyze
    from beatscope.analysis.classifier_cache import load_classifier
    from beatscope.analysis.output import write_beats, write_summary
    from beatscope.io import load_record

    name = path.stem if path.suffix else path.name
    try:
        record = load_record(path, fs=fs)
        name = record.name
        model = load_classifier(classifier)
        result = analyze(record, replace(options, classifier=model), progress=progress)
        if model is None and classifier is not None:
            result.warnings.append("no beat-classifier weights found: beats are labelled Q")
        write_beats(result, out_dir)
        write_summary(result, out_dir)
        note = f"; warning: {result.warnings[-1]}" if result.warnings else ""
        return Outcome(name, True, f"{len(result.beats)} beats{note}")
    except BeatScopeError as err:
        return Outcome(name, False, str(err))
    except MemoryError:
        return Outcome(name, False, f"{name}: not enough memory to analyse this record")
    except Exception as err:  # a bug: report it on one line, keep the other records going
        detail = traceback.format_exc() if debug else ""
        return Outcome(name, False, f"{name}: internal error ({type(err).__name__}: {err})"
                                    f"{chr(10) + detail if detail else ''}")


def run(args: argparse.Namespace) -> int:
    from beatscope.io import find_records

    paths = find_records(args.records)
    if not paths:
        raise BeatScopeError("no ECG records found in " + ", ".join(args.records))
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BeatScopeError(f"cannot create output folder {args.out}: {err.strerror}") from err
    from beatscope.analysis.classifier_cache import load_classifier

    options = _options(args)
    spec = _classifier_spec(args)
    if spec is not None and spec.required:
        load_classifier(spec)  # a bad --weights folder is one error, not one per record
    outcomes: list[Outcome] = []
    bar = tqdm(total=len(paths), unit="record", file=sys.stderr, dynamic_ncols=True,
               disable=None)
    if args.jobs <= 1 or len(paths) == 1:
        for path in paths:
            bar.set_description(path.name)
            done = bar.n

            def progress(stage: str, fraction: float, _base=done) -> None:
                bar.set_postfix_str(stage, refresh=False)
                bar.n = _base + fraction
                bar.refresh()

            outcomes.append(analyze_one(path, args.out, args.fs, options, spec, args.debug,
                                        progress))
            bar.n = done + 1
            bar.refresh()
            _report(bar, outcomes[-1])
    else:
        # spawn, not fork: a forked child inherits torch's OpenMP pool half-initialised
        # and deadlocks on its first parallel region.
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=ctx) as pool:
            futures = [pool.submit(analyze_one, p, args.out, args.fs, options, spec, args.debug)
                       for p in paths]
            for fut in as_completed(futures):
                outcomes.append(fut.result())
                bar.update(1)
                _report(bar, outcomes[-1])
    bar.close()
    failed = [o for o in outcomes if not o.ok]
    if failed:
        print(f"beatscope: {len(failed)} of {len(outcomes)} records failed", file=sys.stderr)
        return 1
    return 0


def _report(bar: tqdm, outcome: Outcome) -> None:
    if outcome.ok:
        if "warning" in outcome.message:
            tqdm.write(f"beatscope: {outcome.record}: {outcome.message}", file=sys.stderr)
    else:
        tqdm.write(f"beatscope: error: {outcome.message}", file=sys.stderr)
