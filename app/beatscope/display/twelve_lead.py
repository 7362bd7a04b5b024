"""The standard resting 12-lead page: which lead goes where, over which seconds.

A resting 12-lead ECG (at most a minute, the 12 standard leads) is read on the
layout every cardiologist knows: three rows of four 2.5-s columns (I, II, III;
aVR, aVL, aVF; V1-V3; V4-V6, each column the next 2.5 s of the same 10 s) and a
10-s lead II rhythm strip under them, at 25 mm/s and 10 mm/mV, with a 1-mV
calibration pulse at the left of each row.

The page is described in millimetres, y growing downwards from the top-left
corner, so that the Qt view (millimetres times the screen's pixels per mm) and
a PDF report (millimetres times 72/25.4 points, y flipped) draw the same page
from one description and one :func:`cell_samples`; the grid steps come from
:class:`~beatscope.display.paper.PaperScale`, as on the viewer's strip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from beatscope.display.paper import DEFAULT_GAIN, DEFAULT_SPEED, PaperScale

#: The standard leads in page order (row by row within each column).
STANDARD_LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF",
                                   "V1", "V2", "V3", "V4", "V5", "V6")
#: Longer recordings are Holter or monitoring records, not resting ECGs.
MAX_RESTING_S = 60.0
#: One page shows this many seconds: four columns of ``COLUMN_S``.
PAGE_S = 10.0
COLUMN_S = 2.5
N_COLUMNS = 4
#: Three rows of leads and the rhythm strip.
N_ROWS = 4
RHYTHM_LEAD = "II"
#: Each row is this many millivolts tall (30 mm at 10 mm/mV: whole large boxes,
#: room for a 1.5-mV R wave above the baseline and as deep an S wave below).
ROW_MV = 3.0
#: The calibration pulse: 1 mV for 200 ms, after a flat 100-ms lead-in, in a
#: left margin of 400 ms (two large boxes, so t = 0 sits on a 5-mm line).
CALIBRATION_MV = 1.0
CALIBRATION_LEAD_IN_S = 0.1
CALIBRATION_PULSE_S = 0.2
CALIBRATION_MARGIN_S = 0.4
#: Where a cell's lead name is written, from the cell's top-left corner.
LABEL_INSET_MM = (1.0, 1.0)
#: The tick that marks a change of lead inside a row, this tall around the baseline.
LEAD_CHANGE_TICK_MM = 5.0

#: Other spellings of the limb leads found in record headers (Latin-European "D").
_ALIASES = {"DI": "I", "DII": "II", "DIII": "III", "D1": "I", "D2": "II", "D3": "III"}
#: Decoration around a lead name ("Lead II", "lead_aVR", "V1 "). A minus sign is
#: kept: "-aVR" is the inverted lead of the Cabrera display, not aVR.
_NOISE = re.compile(r"^LEAD|[\s_:]+")


def _canonical(name: str) -> str | None:
    """The standard lead a record's lead name means, or None."""
    key = _NOISE.sub("", name.strip().upper())
    key = _ALIASES.get(key, key)
    for lead in STANDARD_LEADS:
        if key == lead.upper():
            return lead
    return None


def standard_lead_index(lead_names: list[str]) -> dict[str, int] | None:
    """Column of each standard lead in a record, or None when any is missing.

    Case and decoration are ignored ("AVR", "aVR", "Lead II", "DII"); when a
    lead appears twice the first column wins.
    """
    found: dict[str, int] = {}
    for column, name in enumerate(lead_names):
        lead = _canonical(str(name))
        if lead is not None and lead not in found:
            found[lead] = column
    if len(found) < len(STANDARD_LEADS):
        return None
    return {lead: found[lead] for lead in STANDARD_LEADS}


def is_resting_twelve_lead(record) -> bool:
    """The 12 standard leads, some samples, and at most a minute long."""
    return (standard_lead_index(record.lead_names) is not None
            and record.n_samples > 0 and record.duration_s <= MAX_RESTING_S)


@dataclass(frozen=True)
class LeadCell:
    """One lead over a stretch of the page.

    ``t0_s`` and ``t1_s`` are record seconds. ``t0_s`` is where the cell starts
    on the page whether or not the record reaches it; ``t1_s`` is clipped to
    the record's end, so a cell past the end is empty (``t1_s == t0_s``).
    """

    row: int
    column: int
    lead: str  # the standard spelling, as printed
    lead_index: int  # the record's column
    t0_s: float
    t1_s: float

    @property
    def duration_s(self) -> float:
        return self.t1_s - self.t0_s


@dataclass(frozen=True)
class TwelveLeadLayout:
    """A 3 x 4 page and its rhythm strip, in record seconds and page millimetres."""

    cells: tuple[LeadCell, ...]  # 12, in STANDARD_LEADS order
    rhythm: LeadCell  # lead II over the whole page, on the last row
    start_s: float  # the page's left edge (record seconds)
    speed_mm_s: float
    gain_mm_mv: float

    # --- the paper
    def paper_scale(self, pixels_per_mm: float) -> PaperScale:
        """The viewer's paper at this page's speed and gain, for a screen or a printer."""
        return PaperScale(self.speed_mm_s, self.gain_mm_mv, pixels_per_mm)

    @property
    def end_s(self) -> float:
        """Where the page ends (record seconds), whether or not the record reaches it."""
        return self.start_s + PAGE_S

    @property
    def trace_left_mm(self) -> float:
        """The x of the page's first second: right of the calibration margin."""
        return CALIBRATION_MARGIN_S * self.speed_mm_s

    @property
    def width_mm(self) -> float:
        return self.trace_left_mm + PAGE_S * self.speed_mm_s

    @property
    def row_height_mm(self) -> float:
        return ROW_MV * self.gain_mm_mv

    @property
    def height_mm(self) -> float:
        return N_ROWS * self.row_height_mm

    # --- placing things
    def x_mm(self, t_s):
        """Page x of record time ``t_s`` (seconds; a float or an array)."""
        return self.trace_left_mm + (np.asarray(t_s, dtype=float) - self.start_s) * self.speed_mm_s

    def baseline_y_mm(self, row: int) -> float:
        """The 0-mV line of a row, at its middle (a 5-mm line at 10 mm/mV)."""
        return (row + 0.5) * self.row_height_mm

    def y_mm(self, row: int, mv):
        """Page y of ``mv`` millivolts on ``row`` (y grows downwards)."""
        return self.baseline_y_mm(row) - np.asarray(mv, dtype=float) * self.gain_mm_mv

    def label_mm(self, cell: LeadCell) -> tuple[float, float]:
        """Top-left corner of the cell's lead name."""
        return (float(self.x_mm(cell.t0_s)) + LABEL_INSET_MM[0],
                cell.row * self.row_height_mm + LABEL_INSET_MM[1])

    def calibration_pulse_mm(self, row: int) -> list[tuple[float, float]]:
        """The 1-mV, 200-ms pulse at the left of ``row``, as a polyline."""
        base = self.baseline_y_mm(row)
        top = base - CALIBRATION_MV * self.gain_mm_mv
        x_up = CALIBRATION_LEAD_IN_S * self.speed_mm_s
        x_down = x_up + CALIBRATION_PULSE_S * self.speed_mm_s
        return [(0.0, base), (x_up, base), (x_up, top), (x_down, top), (x_down, base),
                (self.trace_left_mm, base)]

    def lead_change_ticks_mm(self) -> list[tuple[float, float, float, float]]:
        """Short vertical lines (x0, y0, x1, y1) where a row passes to its next lead."""
        half = LEAD_CHANGE_TICK_MM / 2
        ticks = []
        for cell in self.cells:
            if cell.column > 0:
                x, y = float(self.x_mm(cell.t0_s)), self.baseline_y_mm(cell.row)
                ticks.append((x, y - half, x, y + half))
        return ticks


def page_start_s(duration_s: float, start_s: float = 0.0) -> float:
    """``start_s`` moved so that the page stays inside the record where it can."""
    return float(min(max(0.0, start_s), max(0.0, duration_s - PAGE_S)))


def twelve_lead_layout(record, start_s: float = 0.0, *, speed_mm_s: float = DEFAULT_SPEED,
                       gain_mm_mv: float = DEFAULT_GAIN) -> TwelveLeadLayout:
    """The page of ``record`` from ``start_s`` (moved back so that 10 s fit when they can).

    Raises ValueError when the record lacks one of the 12 standard leads; cells
    past the end of a short record are empty, never past its samples.
    """
    index = standard_lead_index(record.lead_names)
    if index is None:
        raise ValueError("not a 12-lead record: the standard leads I-V6 are not all present")
    duration = record.duration_s
    start = page_start_s(duration, start_s)
    rows_per_column = len(STANDARD_LEADS) // N_COLUMNS

    def cell(row: int, column: int, lead: str, t0: float, t1: float) -> LeadCell:
        return LeadCell(row, column, lead, index[lead], t0, max(t0, min(t1, duration)))

    cells = []
    for k, lead in enumerate(STANDARD_LEADS):
        column, row = divmod(k, rows_per_column)
        t0 = start + column * COLUMN_S
        cells.append(cell(row, column, lead, t0, t0 + COLUMN_S))
    rhythm = cell(N_ROWS - 1, 0, RHYTHM_LEAD, start, start + PAGE_S)
    return TwelveLeadLayout(tuple(cells), rhythm, start, float(speed_mm_s), float(gain_mm_mv))


def _first_sample_at(t_s: float, fs: float) -> int:
    """Index of the first sample at or after ``t_s`` (2.5 s * 500 Hz is 1250, not 1251)."""
    return int(np.ceil(round(t_s * fs, 6)))


def cell_samples(record, cell: LeadCell, *, level: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The samples a cell draws: seconds from the cell's start, and millivolts.

    With ``level`` the lead's median over the whole record is subtracted, so a
    DC offset (common in raw exports) cannot push a trace into the next row;
    a constant leaves every wave's shape and the ST level relative to the PR
    segment untouched, as a diagnostic cart's 0.05-Hz high-pass does.
    """
    fs = record.fs
    # half-open [t0, t1): the next cell of the row starts with the sample at t1
    i0 = max(0, _first_sample_at(cell.t0_s, fs))
    i1 = min(record.n_samples, _first_sample_at(cell.t1_s, fs))
    if cell.duration_s <= 0 or i1 <= i0:
        return np.zeros(0), np.zeros(0, np.float32)
    lead = record.signals[:, cell.lead_index]
    mv = np.asarray(lead[i0:i1], dtype=np.float32)
    if level:
        mv = mv - np.float32(np.median(lead))
    return np.arange(i0, i1) / fs - cell.t0_s, mv
