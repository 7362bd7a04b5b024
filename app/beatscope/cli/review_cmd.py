"""``beatscope review`` (apply a list of edits) and ``beatscope export`` (write a review).

Both work on the review database next to the record (``RECORD.beatscope.sqlite``; in
the per-user data folder when the record's folder is read-only: the same folder as
the viewer's), the same one the viewer keeps, through the same commands.
"""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path

from beatscope.errors import BeatScopeError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("review", help="apply a CSV of edits to a record's review",
                       description="Apply edits (CSV columns: sample, action relabel|insert|"
                                   "delete|note, label, note) to the record's review, one "
                                   "committed command per row. Analyses the record first "
                                   "when its review holds no analysis yet.")
    r.add_argument("record", type=Path)
    r.add_argument("--apply", type=Path, required=True, metavar="EDITS.csv")
    r.add_argument("--reviewer", default=None, help="name stamped on each edit "
                                                    "(default: the OS user)")
    r.set_defaults(run=run_review)
    e = sub.add_parser("export", help="write a record's review as WFDB annotations, CSV "
                                      "or EDF+",
                       description="WFDB annotators 'rev' (reviewed labels, notes, rhythm "
                                   "episodes as '+' annotations) and 'ai' (the model's "
                                   "labels), NAME_beats.csv, and with --format edf NAME.edf "
                                   "(the leads plus beats and rhythm episodes as EDF+ "
                                   "annotations).")
    e.add_argument("record", type=Path)
    e.add_argument("--out", type=Path, required=True)
    e.add_argument("--format", default="wfdb,csv", help="comma-separated: wfdb, csv, edf")
    e.set_defaults(run=run_export)


def _open(record_path: Path, analyse: bool):
    from beatscope.io import load_record
    from beatscope.review.database import ReviewDatabaseError
    from beatscope.review.sidecar import default_review_dir, open_review, review_path

    record = load_record(record_path)
    try:
        path = review_path(record, default_review_dir())
    except OSError as exc:
        raise BeatScopeError(str(exc)) from None
    if not analyse and not path.exists():
        raise BeatScopeError(f"{record.name}: no review yet ({path.name} does not exist)")

    def run_analysis(rec):
        from beatscope.analysis import AnalysisOptions, analyze
        from beatscope.analysis.classifier_cache import ClassifierSpec, load_classifier

        return analyze(rec, AnalysisOptions(classifier=load_classifier(ClassifierSpec())))

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return record, path, open_review(record, path, run_analysis if analyse else None)
    except (ReviewDatabaseError, ValueError) as exc:
        raise BeatScopeError(str(exc)) from None


def run_review(args: argparse.Namespace) -> int:
    import sqlite3

    from beatscope.review.edits_csv import apply_edits

    record, path, review = _open(args.record, analyse=True)
    try:
        done = apply_edits(args.apply, review.stack, args.reviewer or getpass.getuser())
    except sqlite3.Error as exc:
        raise BeatScopeError(f"{path.name}: the edit could not be saved ({exc})") from None
    finally:
        changed = int(review.store.changed().sum())
        total = len(review.store)
        review.close()
    print(f"{record.name}: {done} edits applied; reviewed: {changed} of {total} beats "
          f"changed ({path})")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from beatscope.review.export import FORMATS, write_csv, write_wfdb
    from beatscope.review.export_edf import write_edf

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise BeatScopeError(f"unknown export format {', '.join(unknown)} "
                             f"(one of {', '.join(FORMATS)})")
    record, _, review = _open(args.record, analyse=False)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        written = []
        if "wfdb" in formats:
            written += write_wfdb(review.store, record.name, args.out, review.database.rhythm())
        if "csv" in formats:
            written.append(write_csv(review.store, record.name, args.out))
        if "edf" in formats:
            written.append(write_edf(review.store, record, record.name, args.out,
                                     review.database.rhythm()))
    except OSError as exc:
        raise BeatScopeError(f"cannot write to {args.out}: {exc}") from None
    finally:
        review.close()
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
