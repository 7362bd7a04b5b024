"""Where a record's review lives, and opening it with the record's analysis in it.

The review database sits next to the record as ``RECORD.beatscope.sqlite``; when that
folder cannot be written (a read-only archive), in ``fallback_dir`` (the UI passes
the per-user data folder), named by the record's fingerprint. The core takes paths;
it never asks Qt where the user's data folder is.

``BEATSCOPE_REVIEW_DIR`` puts every review in one folder instead (a site that keeps
reviews apart from its recordings; the test suite, so that it never writes beside
the repository's sample records).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from beatscope.review.commands import CommandStack
from beatscope.review.database import ReviewDatabase
from beatscope.review.fingerprint import record_fingerprint
from beatscope.review.store import ReviewStore

SUFFIX = ".beatscope.sqlite"
#: An environment variable naming one folder for every review.
FOLDER_ENV = "BEATSCOPE_REVIEW_DIR"


def default_review_dir() -> Path:
    """The per-user folder for reviews of records in read-only folders: where Qt's
    ``QStandardPaths.AppDataLocation`` puts BeatScope's data (the viewer asks Qt; the
    command line, which never imports Qt, computes the same place here)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "BeatScope" / "BeatScope" / "reviews"


def review_path(record, fallback_dir: Path | None = None) -> Path:
    """The review database's path for ``record`` (a loaded Record)."""
    forced = os.environ.get(FOLDER_ENV)
    if forced:
        return Path(forced) / f"{record.name}-{record_fingerprint(record)[:16]}{SUFFIX}"
    source = getattr(record, "source_path", None)
    if source is not None:
        source = Path(source)
        beside = source.with_name(source.stem + SUFFIX)
        if beside.exists() or os.access(source.parent, os.W_OK):
            return beside
    if fallback_dir is None:
        raise OSError(f"{record.name}: its folder is read-only and no other folder was given "
                      "for the review")
    return Path(fallback_dir) / f"{record.name}-{record_fingerprint(record)[:16]}{SUFFIX}"


@dataclass
class OpenReview:
    database: ReviewDatabase
    store: ReviewStore
    stack: CommandStack

    def close(self) -> None:
        self.database.close()


def open_review(record, path: Path, analyse=None) -> OpenReview:
    """Open (or create) ``path`` for ``record``. With no analysis stored yet,
    ``analyse(record)`` is called and its result's beats and rhythm are saved first,
    as opening the record in the viewer would."""
    db = ReviewDatabase.open(path, record_fingerprint(record), record.fs)
    try:
        if not db.has_analysis():
            if analyse is None:
                raise ValueError(f"{path.name}: holds no analysis of {record.name}")
            result = analyse(record)
            db.save_analysis(result.beats.sample, result.beats.label,
                             result.beats.probability, getattr(result, "rhythm", None))
        store = ReviewStore(record.fs, db.load_rows())
        return OpenReview(db, store, db.stack(store))
    except BaseException:
        db.close()
        raise


def set_aside(path: Path) -> Path:
    """Rename a review that belongs to another recording out of the way (never
    deleted: it may be somebody's work on the original file). Returns its new path."""
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.other-recording-{stamp}")
    for suffix in ("", "-wal", "-shm"):  # a WAL file belongs with its database
        side = Path(str(path) + suffix)
        if side.exists():
            os.replace(side, Path(str(target) + suffix))
    return target
