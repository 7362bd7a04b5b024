"""Commands to and from JSON, for the review database's history (undo survives a restart)."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from beatscope.review.commands import (
    Command,
    DeleteBeats,
    InsertBeat,
    Relabel,
    RestoreBeats,
    SetNote,
    SetTextNote,
    Stamp,
)
from beatscope.review.store import BeatRows


def _rows_payload(rows: BeatRows | None) -> dict | None:
    if rows is None:
        return None
    out = {}
    for f in fields(BeatRows):
        v = getattr(rows, f.name)
        out[f.name] = [None if isinstance(x, float) and np.isnan(x) else x
                       for x in v.tolist()] if v.ndim == 1 else \
            [[None if np.isnan(y) else y for y in row] for row in v.tolist()]
    return out


def _rows_from(payload: dict | None) -> BeatRows | None:
    if payload is None:
        return None
    rows = BeatRows.empty(len(payload["sample"]))
    for f in fields(BeatRows):
        values = payload[f.name]
        column = getattr(rows, f.name)
        if column.dtype.kind == "f":
            column[:] = np.array(values, dtype=float).reshape(column.shape) if len(values) \
                else column
        else:
            column[:] = values
    return rows


def command_payload(command: Command) -> dict:
    stamp = getattr(command, "stamp", Stamp(at=0.0))
    out = {"kind": command.kind, "text": command.text, "reviewer": stamp.reviewer,
           "at": stamp.at, "before": _rows_payload(command.before)}
    if isinstance(command, SetTextNote):
        out.update(key=command.key, note=command.note, before_text=command.before_text)
    elif isinstance(command, InsertBeat):
        out.update(sample=command.sample, label=command.label, model_label=command.model_label,
                   probability=None if command.probability is None
                   else command.probability.tolist())
    else:
        out["samples"] = command.samples.tolist()
        if isinstance(command, Relabel):
            out.update(label=command.label, source=command.source)
        elif isinstance(command, SetNote):
            out["note"] = command.note
    return out


def command_from_payload(p: dict) -> Command:
    stamp = Stamp(p["reviewer"], p["at"])
    kind = p["kind"]
    if kind == "relabel":
        command: Command = Relabel(p["samples"], p["label"], stamp, p["source"])
    elif kind == "delete":
        command = DeleteBeats(p["samples"], stamp)
    elif kind == "restore":
        command = RestoreBeats(p["samples"], stamp)
    elif kind == "note":
        command = SetNote(p["samples"], p["note"], stamp)
    elif kind == "text_note":
        command = SetTextNote(p["key"], p["note"], stamp)
        command.before_text = p["before_text"]
    elif kind == "insert":
        command = InsertBeat(p["sample"], p["label"], p["model_label"], p["probability"], stamp)
    else:
        raise ValueError(f"unknown command kind {kind!r} in the review history")
    command.before = _rows_from(p["before"])
    command.text = p["text"]
    return command
