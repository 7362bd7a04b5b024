"""EDF, EDF+ and BDF recordings (via pyedflib): the ECG channels only.

Polysomnography and Holter EDFs mix ECG with EEG, respiration, SpO2, accelerometers
and so on. Channels are chosen by label (ECG/EKG or a standard lead name); failing
that, channels in voltage units are taken; failing that, the file is rejected. The
chosen channels must share one sampling rate, so those at a rate other than the most
common one are dropped, with a note in ``comments``.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from pathlib import Path

import numpy as np
import pyedflib

from beatscope.errors import RecordError
from beatscope.io.leads import is_ecg_label
from beatscope.io.record import Record, age_at, note_ignored_fs
from beatscope.io.units import convert_to_mv, is_voltage

_FILETYPES = {0: "EDF", 1: "EDF+", 2: "BDF", 3: "BDF+"}


def choose_ecg_channels(labels: list[str], units: list[str], comments: list[str]) -> list[int]:
    """Indices of the channels to load as ECG leads (see module docstring)."""
    chosen = [i for i, label in enumerate(labels) if is_ecg_label(label)]
    if chosen:
        return chosen
    chosen = [i for i, unit in enumerate(units) if is_voltage(unit)]
    if chosen:
        comments.append("no channel labelled as ECG: took the channels in voltage units ("
                        + ", ".join(labels[i] for i in chosen) + ")")
    return chosen


def read_edf(path: Path, fs: float | None = None) -> Record:
    """Read the ECG channels of an EDF/EDF+/BDF file; ``fs`` is not needed (nor used)."""
    comments: list[str] = []
    try:
        reader = pyedflib.EdfReader(str(path))
    except OSError as exc:
        raise RecordError(f"{path}: not a readable EDF/BDF file: {exc}") from None
    try:
        n = reader.signals_in_file
        labels = [reader.getLabel(i).strip() for i in range(n)]
        units = [reader.getPhysicalDimension(i).strip() for i in range(n)]
        rates = [float(reader.getSampleFrequency(i)) for i in range(n)]
        chosen = choose_ecg_channels(labels, units, comments)
        if not chosen:
            raise RecordError(
                f"{path}: no ECG channel found (channels: {', '.join(labels) or 'none'})"
            )
        common_fs = Counter(rates[i] for i in chosen).most_common(1)[0][0]
        dropped = [labels[i] for i in chosen if rates[i] != common_fs]
        if dropped:
            comments.append(f"ECG channel(s) {', '.join(dropped)} dropped: sampled at another "
                            f"rate than {common_fs:g} Hz")
        chosen = [i for i in chosen if rates[i] == common_fs]
        note_ignored_fs(comments, fs, common_fs)
        length = min(int(reader.getNSamples()[i]) for i in chosen)
        signals = np.empty((length, len(chosen)), dtype=np.float32)
        for col, i in enumerate(chosen):
            signals[:, col] = reader.readSignal(i)[:length]
        try:
            start = reader.getStartdatetime()
        except (ValueError, OSError):
            start = None
        patient = _patient_fields(reader, start)
        kind = _FILETYPES.get(int(reader.filetype), "EDF")
    finally:
        reader.close()

    out_units = convert_to_mv(signals, [units[i] for i in chosen])
    return Record(
        name=path.stem,
        signals=signals,
        fs=common_fs,
        lead_names=[labels[i] for i in chosen],
        units=out_units,
        source_path=path,
        start_datetime=start,
        format_name=kind,
        notes=comments,
        patient=patient,
    )


def _patient_fields(reader, start) -> dict[str, str]:
    """EDF's patient identification (EDF+ subfields: code, sex, birthdate, name),
    whatever of it the file fills in ("X" means unknown in EDF+)."""
    out: dict[str, str] = {}
    for key, getter in (("id", "getPatientCode"), ("name", "getPatientName"),
                        ("sex", "getSex"), ("birthdate", "getBirthdate")):
        try:
            value = str(getattr(reader, getter)()).strip()
        except (AttributeError, ValueError, OSError, UnicodeDecodeError):
            continue
        if value and value.upper() != "X":
            out[key] = value.replace("_", " ")
    if "birthdate" in out:
        try:
            born = _dt.datetime.strptime(out["birthdate"], "%d %b %Y")
        except ValueError:
            born = None
        age = age_at(born, start)
        if age is not None:
            out["age"] = age
    return out
