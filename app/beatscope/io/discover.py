"""Expanding user-given paths (files, record names, directories) into a list of records.

A directory stands for every record directly inside it: one entry per WFDB record
(its ``.hea``; segment headers of multi-segment records are not separate records),
plus ``.edf``/``.bdf``, ``.csv`` and ``.mat`` files (a ``.mat`` with a sibling ``.hea``
is represented by that header), ISHNE ``.ecg`` Holter files (a ``.ecg`` without the
ISHNE magic is a WFDB annotation file, not a record), HL7 aECG, GE MUSE and
Philips ``.xml`` files (told by their root element) and DICOM waveform files (``.dcm`` or without a
suffix, told by their magic).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from beatscope.errors import RecordError
from beatscope.io.formats import (
    RECORD_SUFFIXES,
    is_ishne_file,
    is_listed_record,
    wfdb_header_for,
)


def _segment_names(hea: Path) -> set[str]:
    """Names of the segments (and layout) a multi-segment header joins; empty otherwise."""
    try:
        with open(hea, encoding="latin-1") as fh:
            lines = [ln.split("#", 1)[0].strip() for ln in fh]
    except OSError:
        return set()
    lines = [ln for ln in lines if ln]
    if not lines or "/" not in lines[0].split()[0]:
        return set()
    return {ln.split()[0] for ln in lines[1:] if ln.split()[0] != "~"}


def _expand_directory(directory: Path) -> list[Path]:
    files = sorted(p for p in directory.iterdir() if p.is_file())
    headers = [p for p in files if p.suffix.lower() == ".hea"]
    segments: set[str] = set()
    for hea in headers:
        segments |= _segment_names(hea)
    found: list[Path] = []
    for path in files:
        suffix = path.suffix.lower()
        if suffix not in RECORD_SUFFIXES:
            continue
        if suffix == ".hea" and path.stem in segments:
            continue
        if suffix == ".mat" and path.with_suffix(".hea").is_file():
            continue
        if not is_listed_record(path):
            continue
        found.append(path)
    return found


def find_records(paths: Iterable[str | Path]) -> list[Path]:
    """The records named by ``paths``, in the order given, without duplicates.

    Directories are expanded (not recursively); a WFDB record given by name, ``.dat``
    or ``.atr`` is returned as its ``.hea``; other files are returned as given (their
    format is checked when loaded). A path that does not exist is a RecordError.
    """
    out: dict[Path, None] = {}
    for item in paths:
        path = Path(item).expanduser()
        if path.is_dir():
            for found in _expand_directory(path):
                out.setdefault(found, None)
            continue
        hea = None if is_ishne_file(path) else wfdb_header_for(path)
        if hea is not None and hea.is_file():
            out.setdefault(hea, None)
        elif path.is_file():
            out.setdefault(path, None)
        else:
            raise RecordError(f"{path}: no such file, directory or WFDB record")
    return list(out)
