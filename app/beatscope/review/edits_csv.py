"""A list of edits in a CSV file, applied through the commands one row at a time.

Columns: ``sample`` (the R peak, record's own sampling rate), ``action`` (relabel,
insert, delete, note), ``label`` (N, S, V, F or Q; relabel and insert), ``note``
(optional). Each row is one command, committed on its own: an import that stops
half-way keeps exactly the rows before the stop, in order. A relabel, delete or
note whose sample is not a beat is matched to the nearest beat within 150 ms.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from beatscope.errors import BeatScopeError
from beatscope.review.commands import (
    Command,
    CommandStack,
    DeleteBeats,
    InsertBeat,
    Relabel,
    SetNote,
    Stamp,
)
from beatscope.review.store import ReviewStore

ACTIONS = ("relabel", "insert", "delete", "note")
MATCH_WINDOW_S = 0.15


class EditsFileError(BeatScopeError):
    """A row that cannot be applied; the message names the file and the line."""


def read_edits(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, row) for each row of the CSV, columns checked."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = {"sample", "action"} - set(reader.fieldnames or [])
            if missing:
                raise EditsFileError(f"{path.name}: no column {', '.join(sorted(missing))} "
                                     "(expected sample, action, label, note)")
            for row in reader:
                yield reader.line_num, row
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise EditsFileError(f"{path.name}: cannot be read ({exc})") from None


def _nearest_beat(store: ReviewStore, sample: int) -> int | None:
    s = store.sample
    if len(s) == 0:
        return None
    i = int(np.clip(np.searchsorted(s, sample), 1, len(s) - 1)) if len(s) > 1 else 0
    best = min((i - 1, i) if len(s) > 1 else (0,), key=lambda j: abs(int(s[j]) - sample))
    return int(s[best]) if abs(int(s[best]) - sample) <= MATCH_WINDOW_S * store.fs else None


def command_for(row: dict, store: ReviewStore, stamp: Stamp, where: str) -> Command:
    action = (row.get("action") or "").strip().lower()
    if action not in ACTIONS:
        raise EditsFileError(f"{where}: action {action!r} is not one of {', '.join(ACTIONS)}")
    try:
        sample = int(float(row["sample"]))
    except (TypeError, ValueError):
        raise EditsFileError(f"{where}: sample {row.get('sample')!r} is not a number") from None
    label = (row.get("label") or "").strip().upper()
    note = row.get("note") or ""
    try:
        if action == "insert":
            return InsertBeat(sample, label, stamp=stamp)
        beat = _nearest_beat(store, sample)
        if beat is None:
            raise EditsFileError(f"{where}: no beat within 150 ms of sample {sample}")
        if action == "relabel":
            return Relabel([beat], label, stamp)
        if action == "delete":
            return DeleteBeats([beat], stamp)
        return SetNote([beat], note, stamp)
    except ValueError as exc:
        raise EditsFileError(f"{where}: {exc}") from None


def apply_edits(path: Path, stack: CommandStack, reviewer: str) -> int:
    """Apply every row in order; returns the number applied. Stops at the first bad
    row with a one-line error, the rows before it applied and saved."""
    done = 0
    for line, row in read_edits(path):
        command = command_for(row, stack.store, Stamp(reviewer), f"{path.name} line {line}")
        try:
            stack.push(command)
        except ValueError as exc:
            raise EditsFileError(f"{path.name} line {line}: {exc}") from None
        done += 1
    return done
