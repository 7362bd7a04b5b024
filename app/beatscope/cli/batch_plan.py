"""Which records a ``beatscope analyze`` run covers, and where each one's outputs go.

A directory argument stands for every record below it, at any depth; each
record's outputs go to the same relative folder under ``--out``, so ``a/100.hea``
and ``b/100.hea`` become ``OUT/a/100.*`` and ``OUT/b/100.*`` instead of one
overwriting the other. A file argument writes straight into ``--out``. Two
records that would still write the same output (``100.hea`` and ``100.edf`` in
one folder, or two top-level arguments sharing a name) are caught here and the
later one fails rather than silently replacing the first one's results.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from beatscope.errors import BeatScopeError
from beatscope.io import find_records

#: The batch's table of every record, written into the output folder.
SUMMARY_NAME = "summary.csv"


@dataclass(frozen=True)
class BatchItem:
    """One record of the batch and where its outputs go."""

    source: Path  # the record's file (a WFDB record by its .hea)
    out_dir: Path
    name: str  # outputs are out_dir/<name>.json and out_dir/<name>.beats
    #: the record that already writes these outputs, when this one would overwrite them
    collides_with: Path | None = None

    @property
    def output(self) -> Path:
        """The outputs' common path without extension (``out_dir/name``)."""
        return self.out_dir / self.name


def plan_batch(arguments: Iterable[str | Path], out: Path) -> list[BatchItem]:
    """Every record named by ``arguments``, in order, with its output place.

    Raises BeatScopeError when nothing is found, RecordError for a path that
    does not exist.
    """
    arguments = list(arguments)
    summary = (out / SUMMARY_NAME).resolve()
    items: list[BatchItem] = []
    seen_sources: set[Path] = set()
    owner: dict[Path, Path] = {}  # output path -> the record that writes it
    for source, out_dir in _sources(arguments, out):
        resolved = source.resolve()
        # an earlier run's summary.csv is a CSV file inside the tree when --out is
        # the archive itself (or inside it), not a record
        if resolved == summary or resolved in seen_sources:
            continue
        seen_sources.add(resolved)
        name = source.stem if source.suffix else source.name
        item = BatchItem(source, out_dir, name)
        key = item.output.resolve()
        if key in owner:
            item = BatchItem(source, out_dir, name, collides_with=owner[key])
        else:
            owner[key] = source
        items.append(item)
    if not items:
        raise BeatScopeError("no ECG records found in " + ", ".join(map(str, arguments)))
    return items


def _sources(arguments: list[str | Path], out: Path) -> Iterable[tuple[Path, Path]]:
    """``(record, output folder)`` for each record, directories walked in name order."""
    for argument in arguments:
        root = Path(argument).expanduser()
        if not root.is_dir():
            for source in find_records([root]):
                yield source, out
            continue
        for folder in _folders_below(root):
            relative = folder.relative_to(root)
            for source in find_records([folder]):
                yield source, out / relative


def _folders_below(root: Path) -> Iterable[Path]:
    """``root`` and every folder below it, sorted, hidden ones (``.git``...) left out.

    Symbolic links to folders are not followed: a link back up the tree would
    otherwise never end.
    """
    for folder, subfolders, _files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        yield Path(folder)
