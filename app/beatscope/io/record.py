"""The in-memory ECG record that every stage of the pipeline consumes."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Annotations:
    """Reference annotations stored with a record (e.g. a WFDB ``.atr`` file).

    ``sample`` indexes the record's own sampling grid. ``aux_note`` carries the
    rhythm labels of MIT-BIH style ``+`` annotations ("(AFIB", "(N", ...).
    """

    sample: np.ndarray  # int64, (n,)
    symbol: tuple[str, ...]
    aux_note: tuple[str, ...]
    extension: str = "atr"

    def __len__(self) -> int:
        return len(self.sample)


@dataclass
class Record:
    """An ECG recording: calibrated signals plus the metadata needed to analyse it.

    ``signals`` is float32, shape ``(n_samples, n_leads)``, in millivolts, and may be
    a read-only memory map or view. Non-finite samples are replaced by 0 and listed in
    ``invalid_mask`` so that quality scoring can flag them instead of the filters
    smearing NaNs over whole records.
    """

    name: str
    signals: np.ndarray
    fs: float
    lead_names: list[str]
    units: list[str]
    source_path: Path | None = None
    start_datetime: _dt.datetime | None = None
    annotations: Annotations | None = None
    format_name: str = ""
    invalid_mask: np.ndarray | None = None  # bool (n_samples, n_leads) or None
    #: What the reader assumed or repaired (truncation, units, dropped channels):
    #: shown to the user as warnings.
    notes: list[str] = field(default_factory=list)
    #: Free-text comments stored in the file itself (WFDB header ``#`` lines).
    comments: list[str] = field(default_factory=list)
    #: What the file says of the patient (EDF's patient field: name, id, sex,
    #: birthdate, age), empty when it says nothing; for the report's page 1.
    patient: dict[str, str] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return int(self.signals.shape[0])

    @property
    def n_leads(self) -> int:
        return int(self.signals.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    def lead(self, name: str) -> np.ndarray:
        """The samples of the lead called ``name`` (case-insensitive)."""
        upper = [n.upper() for n in self.lead_names]
        return self.signals[:, upper.index(name.upper())]

    def metadata(self) -> dict:
        """JSON-friendly description, without the samples."""
        return {
            "name": self.name,
            "source_path": str(self.source_path) if self.source_path else None,
            "format": self.format_name,
            "fs": self.fs,
            "n_samples": self.n_samples,
            "n_leads": self.n_leads,
            "lead_names": list(self.lead_names),
            "units": list(self.units),
            "duration_s": round(self.duration_s, 3),
            "start_datetime": self.start_datetime.isoformat() if self.start_datetime else None,
            "has_reference_annotations": self.annotations is not None,
        }


def age_at(born: _dt.date | None, start: _dt.date | None) -> str | None:
    """Whole years from ``born`` to ``start`` (dates or datetimes), as the patient
    field ``age`` holds it; None when either is unknown or the birth is after the
    recording (a wrong date in the file, not an age)."""
    if born is None or start is None:
        return None
    born = born.date() if isinstance(born, _dt.datetime) else born
    start = start.date() if isinstance(start, _dt.datetime) else start
    if start < born:
        return None
    return str(start.year - born.year - ((start.month, start.day) < (born.month, born.day)))


def patient_fields(start: _dt.date | None, *, name: str = "", pid: str = "", sex: str = "",
                   born: _dt.date | None = None, stated_age: str | None = None
                   ) -> dict[str, str]:
    """``Record.patient`` from what a file says, each key only where it says it:
    ``age`` is the age the file states, else the whole years from ``born`` to
    ``start`` (the recording's start)."""
    out: dict[str, str] = {}
    if name:
        out["name"] = name
    if pid:
        out["id"] = pid
    if sex:
        out["sex"] = sex
    if born is not None:
        out["birthdate"] = (born.date() if isinstance(born, _dt.datetime) else born).isoformat()
    age = stated_age if stated_age is not None else age_at(born, start)
    if age is not None:
        out["age"] = age
    return out


def note_ignored_fs(notes: list[str], fs: float | None, rate: float) -> None:
    """A reader whose file states its sampling rate notes a different ``--fs``."""
    if fs is not None and float(fs) != float(rate):
        notes.append(f"--fs {float(fs):g} ignored: the file says {float(rate):g} Hz")

