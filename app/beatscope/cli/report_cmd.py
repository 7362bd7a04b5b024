"""``beatscope report``: the PDF summary of a record, reviewed where a review exists.

The labels are the record's review (``RECORD.beatscope.sqlite`` beside it, or the one
named with ``--review``) when there is one, the model's otherwise; the report says
which. The record is analysed first unless ``--from DIR`` names an earlier
``beatscope analyze`` output.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from beatscope.errors import BeatScopeError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write the PDF summary report of a record",
                       description="A PDF a cardiologist signs: urgent findings, heart rate, "
                                   "beats (model and reviewed), ectopy, pauses, rhythm "
                                   "findings, trend, hourly table, strips; a 3 x 4 page for "
                                   "a resting 12-lead ECG.")
    p.add_argument("record", type=Path)
    p.add_argument("--out", type=Path, required=True, metavar="X.pdf")
    p.add_argument("--review", type=Path, default=None, metavar="DB",
                   help="the review database (default: the record's own, if it has one)")
    p.add_argument("--from", dest="saved", type=Path, default=None, metavar="DIR",
                   help="read the analysis from an earlier `beatscope analyze --out DIR`")
    p.add_argument("--deidentify", action="store_true",
                   help="replace the name, ID and file name with a token, shift the dates")
    p.add_argument("--paper", choices=("a4", "letter"), default="a4")
    p.set_defaults(run=run_report)


def _analysis(record, saved: Path | None):
    if saved is not None:
        from beatscope.report.saved_result import read_saved_result

        return read_saved_result(saved, record)
    from beatscope.analysis import AnalysisOptions, analyze
    from beatscope.analysis.classifier_cache import ClassifierSpec, load_classifier

    return analyze(record, AnalysisOptions(classifier=load_classifier(ClassifierSpec())))


def _review(record, path: Path | None):
    """The record's review, or None when it has none (a named one must exist)."""
    from beatscope.review.database import ReviewDatabaseError
    from beatscope.review.session import read_review
    from beatscope.review.sidecar import default_review_dir, review_path

    if path is None:
        try:
            path = review_path(record, default_review_dir())
        except OSError:
            return None
        if not path.exists():
            return None
    elif not path.exists():
        raise BeatScopeError(f"{path}: no such review database")
    try:
        return read_review(record, path)  # read only: the report changes no review
    except ReviewDatabaseError as err:
        raise BeatScopeError(str(err)) from None


def run_report(args: argparse.Namespace) -> int:
    from beatscope.io import load_record
    from beatscope.report import write_report

    record = load_record(args.record)
    result = _analysis(record, args.saved)
    result.record = record
    review = _review(record, args.review)
    try:
        report = write_report(args.out, record, result, review, paper=args.paper,
                              deidentify=args.deidentify)
    except OSError as err:
        raise BeatScopeError(f"cannot write {args.out}: {err.strerror or err}") from None
    finally:
        if review is not None:
            review.close()
    labels = "reviewed" if report.review is not None else "model's"
    urgent = f", {len(report.urgent)} urgent finding(s)" if report.urgent else ""
    print(f"wrote {args.out} ({report.total_beats:,} beats, {labels} labels, "
          f"{len(report.strips)} strips{urgent})")
    return 0
