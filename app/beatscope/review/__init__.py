"""Clinician review of the model's beats: a store keyed by sample, edits as undoable
commands, and a crash-safe SQLite database per record. Qt-free."""

from beatscope.review.commands import (
    Command,
    CommandStack,
    DeleteBeats,
    InsertBeat,
    Relabel,
    RestoreBeats,
    SetNote,
    SetTextNote,
    Stamp,
)
from beatscope.review.database import ReviewDatabase, ReviewDatabaseError
from beatscope.review.events import Events, Signal
from beatscope.review.store import SOURCES, BeatRows, ReviewStore

__all__ = [
    "SOURCES",
    "BeatRows",
    "Command",
    "CommandStack",
    "DeleteBeats",
    "Events",
    "InsertBeat",
    "Relabel",
    "ReviewDatabase",
    "ReviewDatabaseError",
    "RestoreBeats",
    "ReviewStore",
    "SetNote",
    "SetTextNote",
    "Signal",
    "Stamp",
]
