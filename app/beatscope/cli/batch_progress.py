"""Progress of a batch on stderr: a live bar on a terminal, periodic lines in a log.

On a terminal a tqdm bar counts the records to analyse (its ETA is theirs: the
records skipped as up to date took no time and are shown beside it). When stderr
is a file or a pipe (cron, a cluster job, ``2> log``) a bar would be thousands of
carriage returns or nothing at all, so one line is written every
``every_records`` records and at least every ``every_s`` seconds while records
are running: the log then shows how far the batch got and when it should end.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import TextIO

from tqdm import tqdm

DONE, SKIPPED, FAILED = "done", "skipped", "failed"
#: summary.csv's status of a record a Ctrl-C left unanalysed
INTERRUPTED = "interrupted"


def format_seconds(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``2 h 07 min``: durations for people."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class BatchProgress:
    """Counts records by status and shows it; ``write`` prints above the bar."""

    def __init__(self, total: int, skipped: int, stream: TextIO | None = None,
                 every_records: int = 10, every_s: float = 30.0) -> None:
        self.stream = stream or sys.stderr
        self.total = total  # every record of the batch, skipped ones included
        self.counts: Counter[str] = Counter({SKIPPED: skipped})
        self._every_records, self._every_s = every_records, every_s
        self._start = self._last_line = time.monotonic()
        self._since_line = 0
        self._bar: tqdm | None = None
        if self.stream.isatty() and total > skipped:
            self._bar = tqdm(total=total - skipped, unit="record", file=self.stream,
                             dynamic_ncols=True)
            self._bar.set_postfix_str(self._counts_text(), refresh=True)
        elif total > 1:
            self._line(f"{total} records: {skipped} up to date (skipped), "
                       f"{total - skipped} to analyse")

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._start

    @property
    def remaining(self) -> int:
        return self.total - sum(self.counts.values())

    def record_started(self, label: str) -> None:
        if self._bar is not None:
            self._bar.set_description(label, refresh=True)

    def stage(self, stage: str, fraction: float) -> None:
        """Within one record analysed in this process: moves the bar by the fraction done."""
        if self._bar is not None:
            self._bar.set_postfix_str(f"{self._counts_text()} {stage}", refresh=False)
            self._bar.n = self.counts[DONE] + self.counts[FAILED] + round(fraction, 2)
            self._bar.refresh()

    def record_finished(self, status: str) -> None:
        self.counts[status] += 1
        self._since_line += 1
        if self._bar is not None:
            self._bar.n = self.counts[DONE] + self.counts[FAILED]
            self._bar.set_postfix_str(self._counts_text(), refresh=True)
        elif self._since_line >= self._every_records:
            self._status_line()

    def heartbeat(self) -> None:
        """Called while waiting on records: a log line when the last one is old."""
        if self._bar is not None:
            self._bar.refresh()  # the elapsed time keeps moving
        elif time.monotonic() - self._last_line >= self._every_s:
            self._status_line()

    def write(self, text: str) -> None:
        if self._bar is not None:
            tqdm.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def _counts_text(self) -> str:
        c = self.counts
        return f"done {c[DONE]}, failed {c[FAILED]}, skipped {c[SKIPPED]}"

    def _eta_s(self) -> float | None:
        analysed = self.counts[DONE] + self.counts[FAILED]
        if not analysed:
            return None
        return self.elapsed_s / analysed * self.remaining

    def _status_line(self) -> None:
        eta = self._eta_s()
        self._line(f"{self.total - self.remaining}/{self.total} records "
                   f"({self._counts_text()}, remaining {self.remaining}), "
                   f"{format_seconds(self.elapsed_s)} elapsed"
                   + ("" if eta is None or not self.remaining
                      else f", about {format_seconds(eta)} left"))

    def _line(self, text: str) -> None:
        print(f"beatscope: {text}", file=self.stream, flush=True)
        self._last_line, self._since_line = time.monotonic(), 0
