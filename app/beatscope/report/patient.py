"""Who and what the report is about, and the de-identified version of it.

Patient fields come from what the file holds: an EDF header's patient field, or a
WFDB header's comment lines (MIT-BIH's "69 M ..." first line, or PTB-style "age: 69"
and "sex: male" lines). Nothing is guessed; a field the file lacks stays empty and the
report says "not in the file".

De-identification (``--deidentify``) replaces the name, the patient ID and the file
name with a token derived from them (the same patient gets the same token, so reports
can still be matched), shifts the recording date by a whole number of days derived
from the token (intervals, clock times and weekdays' spacing stay true), and caps ages
at 90 as the HIPAA safe harbour does. The original values never reach the PDF, its
metadata included.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Patient:
    name: str = ""
    patient_id: str = ""
    age: str = ""
    sex: str = ""


@dataclass(frozen=True)
class Recording:
    file_name: str
    start: _dt.datetime | None
    duration_s: float
    leads: tuple[str, ...]
    fs: float
    format_name: str = ""


_SEX = {"m": "male", "f": "female", "male": "male", "female": "female"}


def patient_of(record) -> Patient:
    edf = getattr(record, "patient", None) or {}
    name, pid = str(edf.get("name", "")).strip(), str(edf.get("id", "")).strip()
    sex = _SEX.get(str(edf.get("sex", "")).strip().lower(), "")
    age = str(edf.get("age", "")).strip()
    for line in getattr(record, "comments", []) or []:
        text = line.strip()
        mitbih = re.match(r"^(\d{1,3})\s+([MF])\b", text)
        if mitbih and not age:
            age, sex = mitbih.group(1), _SEX[mitbih.group(2).lower()]
            continue
        keyed = re.match(r"^<?\s*(age|sex|gender|name|patient id|id)\s*>?\s*:\s*(.+)$",
                         text, re.IGNORECASE)
        if keyed:
            key, value = keyed.group(1).lower(), keyed.group(2).strip()
            if key == "age" and not age and value.lower() not in ("nan", "?", "unknown"):
                age = value
            elif key in ("sex", "gender") and not sex:
                sex = _SEX.get(value.lower(), value)
            elif key == "name" and not name:
                name = value
            elif key in ("patient id", "id") and not pid:
                pid = value
    return Patient(name, pid, age, sex)


def recording_of(record) -> Recording:
    source = getattr(record, "source_path", None)
    file_name = source.name if source is not None else f"{record.name} (in memory)"
    return Recording(file_name, getattr(record, "start_datetime", None),
                     float(record.duration_s), tuple(record.lead_names), float(record.fs),
                     getattr(record, "format_name", "") or "")


def deidentify(patient: Patient, recording: Recording) -> tuple[Patient, Recording]:
    """The same report with nothing that identifies the patient."""
    seed = "\x1f".join([patient.name, patient.patient_id, recording.file_name])
    token = hashlib.sha256(seed.encode("utf-8")).hexdigest()[:10]
    age = patient.age
    if age.isdigit() and int(age) >= 90:
        age = "90 or older"
    start = recording.start
    if start is not None:
        start = start - _dt.timedelta(days=365 + int(token, 16) % 3650)
    suffix = recording.file_name.rsplit(".", 1)[-1] if "." in recording.file_name else ""
    return (Patient(f"anonymous {token}", token, age, patient.sex),
            replace(recording, file_name=f"record-{token}" + (f".{suffix}" if suffix else ""),
                    start=start))
