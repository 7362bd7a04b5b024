"""ECG exported as delimited text (``.csv``, ``.tsv``, ``.txt``): one column per lead.

Expected layout: a header row of lead names, then one row per sample. An optional
time column (time/t/seconds/ms/timestamp) gives the sampling rate; without one the
caller must pass ``fs``. Units are mV unless a column title says otherwise ("II (uV)",
"V1_uV"). Files that are clearly not an ECG (text columns, no signal column, less
than two seconds of samples) are rejected with a message saying why.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np

from beatscope.errors import RecordError
from beatscope.io.record import Record
from beatscope.io.units import convert_to_mv, split_name_unit
from beatscope.io.validate import FS_MAX_HZ, FS_MIN_HZ, check_fs

MIN_DURATION_S = 2.0
MAX_COLUMNS = 64

_TIME = re.compile(
    r"^(?P<name>time|t|seconds|secs?|s|ms|msec|milliseconds|timestamps?|elapsed[ _]?time)"
    r"\s*(?:[\(\[]\s*(?P<unit1>s|sec|seconds|ms|msec)\s*[\)\]]|_(?P<unit2>s|ms))?$",
    re.IGNORECASE,
)
_INDEX_NAMES = frozenset({"sample", "samples", "sample#", "sample #", "index", "idx", "n", "#"})


def _time_scale(column: str) -> tuple[float, bool] | None:
    """(seconds per unit, unit stated explicitly) if ``column`` names a time column."""
    match = _TIME.match(column.strip().strip('"'))
    if not match:
        return None
    unit = (match.group("unit1") or match.group("unit2") or "").lower()
    name = match.group("name").lower()
    if unit in ("ms", "msec") or name in ("ms", "msec", "milliseconds"):
        return 1e-3, True
    if unit or name in ("seconds", "sec", "secs", "s"):
        return 1.0, True
    return 1.0, False


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _layout(path: Path) -> tuple[int, str | None, list[str] | None]:
    """(lines to skip before the data, delimiter, column titles or None)."""
    with open(path, "rb") as fh:
        head = fh.read(65536)
    if b"\x00" in head:
        raise RecordError(f"{path}: not a text file, so not a CSV ECG")
    text = head.decode("utf-8-sig", errors="replace")
    lines = text.splitlines()
    skip = 0
    while skip < len(lines) and (not lines[skip].strip() or lines[skip].lstrip().startswith("#")):
        skip += 1
    if skip >= len(lines):
        raise RecordError(f"{path}: no data rows in the file")
    first = lines[skip]
    delimiter: str | None = next((d for d in (",", ";", "\t") if d in first), None)
    tokens = next(csv.reader([first], delimiter=delimiter or " ", skipinitialspace=True))
    tokens = [t.strip() for t in tokens if delimiter is not None or t.strip()]
    if all(_is_number(t) for t in tokens if t):
        return skip, delimiter, None
    return skip + 1, delimiter, tokens


def _load_numbers(path: Path, skip: int, delimiter: str | None,
                  titles: list[str]) -> np.ndarray:
    """All data rows as float64 (rows, columns); empty cells become NaN."""
    try:
        data = np.loadtxt(path, delimiter=delimiter, skiprows=skip, comments="#",
                          dtype=np.float64, ndmin=2, quotechar='"', encoding="utf-8-sig")
    except ValueError:
        data = None
    if data is not None:
        return data
    # Slow path, only for irregular files: find the offending cell and say which it is.
    rows: list[list[float]] = []
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        for _ in range(skip):
            fh.readline()
        reader = csv.reader(fh, delimiter=delimiter or " ", skipinitialspace=True)
        for line_no, row in enumerate(reader, start=skip + 1):
            cells = [c.strip() for c in row if delimiter is not None or c.strip()]
            if not cells or cells[0].startswith("#"):
                continue
            if not titles:
                titles = [f"column {k + 1}" for k in range(len(cells))]
            if len(cells) != len(titles):
                raise RecordError(f"{path}: line {line_no} has {len(cells)} fields, "
                                  f"expected {len(titles)}")
            values = []
            for title, cell in zip(titles, cells, strict=True):
                if not cell:
                    values.append(math.nan)
                elif _is_number(cell):
                    values.append(float(cell))
                elif delimiter != "," and _is_number(cell.replace(",", ".", 1)):
                    values.append(float(cell.replace(",", ".", 1)))  # decimal comma
                else:
                    raise RecordError(
                        f"{path}: column '{title}' holds non-numeric values "
                        f"(line {line_no}: {cell[:20]!r}): not an ECG signal table"
                    )
            rows.append(values)
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(titles))


def _fs_from_time(path: Path, t: np.ndarray, scale: float, explicit: bool,
                  comments: list[str]) -> float:
    if t.size < 2 or not np.all(np.isfinite(t)):
        raise RecordError(f"{path}: the time column has missing values: pass --fs")
    steps = np.diff(t)
    if not np.all(steps > 0):
        raise RecordError(f"{path}: the time column is not strictly increasing: pass --fs")
    fs = (t.size - 1) / ((t[-1] - t[0]) * scale)
    if not explicit and fs < FS_MIN_HZ and FS_MIN_HZ <= fs * 1000 <= FS_MAX_HZ:
        scale, fs = scale * 1e-3, fs * 1000
        comments.append("time column taken to be in milliseconds")
    seconds = (t - t[0]) * scale
    jitter = np.max(np.abs(seconds - np.arange(t.size) / fs))
    if jitter > 2.0 / fs:
        raise RecordError(f"{path}: the time column is not evenly spaced (gaps of up to "
                          f"{jitter:.3g} s): resample the data or pass --fs")
    return check_fs(fs, path, "time column")


def read_csv(path: Path, fs: float | None = None) -> Record:
    """Read a delimited-text ECG (see module docstring)."""
    comments: list[str] = []
    skip, delimiter, titles = _layout(path)
    if titles is None:
        comments.append("no header row: leads named ECG1, ECG2, ...")
    data = _load_numbers(path, skip, delimiter, titles or [])
    if titles is None:
        titles = [f"ECG{i + 1}" for i in range(data.shape[1])]
    if data.size == 0:
        raise RecordError(f"{path}: no data rows in the file")
    if data.shape[1] != len(titles):
        raise RecordError(f"{path}: the header names {len(titles)} columns, "
                          f"the rows hold {data.shape[1]}")

    time_col = next(((i, s) for i, title in enumerate(titles)
                     if (s := _time_scale(title)) is not None), None)
    index_cols = [i for i, title in enumerate(titles)
                  if title.strip().strip('"').lower() in _INDEX_NAMES]
    signal_cols = [i for i in range(len(titles))
                   if i not in index_cols and (time_col is None or i != time_col[0])]
    if not signal_cols:
        raise RecordError(f"{path}: no signal column (only time/index columns): not an ECG")
    if len(signal_cols) > MAX_COLUMNS:
        raise RecordError(f"{path}: {len(signal_cols)} numeric columns: looks like a table, "
                          "not an ECG (one column per lead expected)")

    if fs is not None:
        fs_value = check_fs(fs, path, "--fs")
        if time_col is not None:
            comments.append(f"time column '{titles[time_col[0]]}' ignored: --fs given")
    elif time_col is not None:
        scale, explicit = time_col[1]
        fs_value = _fs_from_time(path, data[:, time_col[0]], scale, explicit, comments)
    else:
        raise RecordError(f"{path}: sampling rate unknown (no time column): pass --fs")

    n_rows = data.shape[0]
    if n_rows < MIN_DURATION_S * fs_value:
        raise RecordError(f"{path}: only {n_rows} samples ({n_rows / fs_value:.2g} s at "
                          f"{fs_value:g} Hz): too short to be an ECG recording")

    names, units = [], []
    for i in signal_cols:
        name, unit = split_name_unit(titles[i].strip('"'))
        names.append(name)
        units.append(unit or "mV")
    signals = np.ascontiguousarray(data[:, signal_cols], dtype=np.float32)
    del data
    return Record(
        name=path.stem,
        signals=signals,
        fs=fs_value,
        lead_names=names,
        units=convert_to_mv(signals, units),
        source_path=path,
        format_name="CSV",
        notes=comments,
    )
