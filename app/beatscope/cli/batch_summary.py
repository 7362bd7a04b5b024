"""``OUT/summary.csv``: one row per record of a batch, whatever became of it.

Rows follow the batch's order (the archive's folders in name order), not the
order the workers finished in, so two runs over one archive give comparable
files. Written atomically: a reader (or a later run) sees the previous table or
the new one, never half of one.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from beatscope.aami import AAMI_CLASSES
from beatscope.fileio import atomic_write_bytes

COLUMNS = ("path", "output", "status", "error", "seconds", "beats",
           *AAMI_CLASSES, "af_burden_percent")


@dataclass(frozen=True)
class RecordStats:
    """What the summary table tells of one analysed record."""

    beats: int
    classes: dict[str, int] = field(default_factory=dict)
    af_burden_percent: float | None = None


def stats_from_summary(summary: dict) -> RecordStats:
    """The table's numbers from a record's JSON summary (``analysis.output``)."""
    rhythm = summary.get("rhythm") or {}
    burden = rhythm.get("burden") or {}
    af = burden.get("af_percent")
    return RecordStats(int(summary.get("beat_count") or 0),
                       {str(k): int(v) for k, v in (summary.get("beat_classes") or {}).items()},
                       float(af) if isinstance(af, int | float) else None)


@dataclass(frozen=True)
class SummaryRow:
    path: str
    output: str  # the outputs' path under OUT, without extension
    status: str  # done / skipped / failed
    error: str = ""
    seconds: float | None = None
    stats: RecordStats | None = None

    def cells(self) -> list[str]:
        stats = self.stats
        classes = [str(stats.classes.get(c, 0)) if stats else "" for c in AAMI_CLASSES]
        af = stats.af_burden_percent if stats else None
        return [self.path, self.output, self.status, self.error.splitlines()[0] if self.error
                else "", "" if self.seconds is None else f"{self.seconds:.2f}",
                str(stats.beats) if stats else "", *classes, "" if af is None else f"{af:.1f}"]


def write_summary_csv(path: Path, rows: list[SummaryRow]) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(row.cells() for row in rows)
    atomic_write_bytes(path, text.getvalue().encode("utf-8"))
