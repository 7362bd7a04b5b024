"""GE MUSE XML resting 12-lead exports (``RestingECG`` root, after GE's restecg.dtd).

Written by hand: the format is a flat XML document that ``defusedxml`` parses safely,
and the Python MUSE packages found (muse2wfdb, ecgdatakit's parser) parse with the
standard library's unprotected XML parser or pull in a whole framework.

Layout: ``PatientDemographics`` and ``TestDemographics`` (dates as MM-DD-YYYY, times
as HH:MM:SS), then one ``Waveform`` per ``WaveformType`` (``Median``: the averaged
beat; ``Rhythm``: the 10-s strip, which is the one read). A waveform's rate is
``SampleBase * 10 ** SampleExponent``; each ``LeadData`` holds a ``LeadID``, the
sample count and byte count it claims, ``LeadAmplitudeUnitsPerBit`` in
``LeadAmplitudeUnits`` (MICROVOLTS by the DTD's default), an optional CRC-32 and the
samples as base64 little-endian signed integers (``LeadSampleSize`` bytes, 2 in
practice). Carts store the eight independent leads I, II, V1-V6; the other four limb
leads follow from Einthoven's and Goldberger's relations and are derived here when
the file does not store them.

MUSE exports declare ``<!DOCTYPE RestingECG SYSTEM "restecg.dtd">``, so a DTD is
allowed (expat never fetches it); entity declarations of any kind are refused.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import zlib
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_xml
import numpy as np
from defusedxml import DefusedXmlException

from beatscope.errors import RecordError
from beatscope.io.record import Record, note_ignored_fs, patient_fields
from beatscope.io.twelve_lead import STANDARD_ORDER, canonical_lead_name
from beatscope.io.units import mv_factor

ROOT_TAG = "RestingECG"
# Limb leads that follow from I and II (Einthoven: III; Goldberger: the augmented ones).
_DERIVED = {
    "III": lambda i, ii: ii - i,
    "aVR": lambda i, ii: -(i + ii) / 2,
    "aVL": lambda i, ii: i - ii / 2,
    "aVF": lambda i, ii: ii - i / 2,
}
_SAMPLE_SIZES = (1, 2, 4)
_SEX = {"MALE": "male", "M": "male", "FEMALE": "female", "F": "female"}


def _text(parent: Element | None, name: str) -> str:
    child = parent.find(name) if parent is not None else None
    return " ".join("".join(child.itertext()).split()) if child is not None else ""


def _parse(path: Path) -> Element:
    try:
        root = safe_xml.parse(str(path), forbid_dtd=False, forbid_entities=True,
                              forbid_external=True).getroot()
    except DefusedXmlException as exc:
        raise RecordError(f"{path}: XML refused: it declares entities "
                          f"({type(exc).__name__}), which MUSE files never need") from None
    except ParseError as exc:
        raise RecordError(f"{path}: not well-formed XML ({exc})") from None
    if root.tag != ROOT_TAG:
        raise RecordError(f"{path}: not a GE MUSE XML file (root element <{root.tag}>, "
                          f"expected <{ROOT_TAG}>)")
    return root


def _number(text: str, what: str, path: Path) -> float:
    try:
        value = float(text.replace(",", "."))  # some locales export "4,88"
    except ValueError:
        raise RecordError(f"{path}: MUSE {what} {text!r} is not a number") from None
    if not np.isfinite(value):
        raise RecordError(f"{path}: MUSE {what} is not a finite number")
    return value


def _rhythm_waveform(root: Element, path: Path, notes: list[str]) -> Element:
    waveforms = root.findall("Waveform")
    kinds = [_text(w, "WaveformType") or "(untyped)" for w in waveforms]
    rhythm = [w for w, kind in zip(waveforms, kinds, strict=True) if kind.lower() == "rhythm"]
    if not rhythm:
        found = ", ".join(kinds) if kinds else "none"
        raise RecordError(f"{path}: the MUSE file holds no Rhythm waveform (found: {found})")
    others = [kind for w, kind in zip(waveforms, kinds, strict=True) if w is not rhythm[0]]
    if others:
        notes.append(f"MUSE: waveform(s) not read: {', '.join(others)}")
    return rhythm[0]


def _sampling_rate(waveform: Element, path: Path) -> float:
    base = _number(_text(waveform, "SampleBase"), "SampleBase", path)
    exponent = _number(_text(waveform, "SampleExponent") or "0", "SampleExponent", path)
    if base <= 0 or not -3 <= exponent <= 3:
        raise RecordError(f"{path}: MUSE sampling rate {base:g}e{exponent:g} Hz is not valid")
    return base * 10.0 ** exponent


def _lead_samples(lead: Element, name: str, path: Path, notes: list[str]) -> np.ndarray:
    """The samples of one ``LeadData`` in mV, after checking every count it claims."""
    where = f"{path}: MUSE lead {name}"
    encoded = "".join(_text(lead, "WaveFormData").split())
    if not encoded:
        raise RecordError(f"{where} holds no WaveFormData")
    try:
        payload = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise RecordError(f"{where}: WaveFormData is not valid base64") from None
    size = int(_number(_text(lead, "LeadSampleSize") or "2", "LeadSampleSize", path))
    if size not in _SAMPLE_SIZES or len(payload) % size:
        raise RecordError(f"{where}: {len(payload)} bytes are not a whole number of "
                          f"{size}-byte samples")
    n = len(payload) // size
    claimed_bytes = _text(lead, "LeadByteCountTotal")
    if claimed_bytes and int(_number(claimed_bytes, "LeadByteCountTotal", path)) != len(payload):
        raise RecordError(f"{where}: LeadByteCountTotal says {claimed_bytes} bytes, "
                          f"WaveFormData holds {len(payload)}")
    claimed = _text(lead, "LeadSampleCountTotal")
    if claimed and int(_number(claimed, "LeadSampleCountTotal", path)) != n:
        raise RecordError(f"{where}: LeadSampleCountTotal says {claimed} samples, "
                          f"WaveFormData holds {n}")
    crc = _text(lead, "LeadDataCRC32")
    if crc.isdigit() and zlib.crc32(payload) != int(crc):
        notes.append(f"MUSE lead {name}: CRC-32 does not match its samples")

    per_bit_text = _text(lead, "LeadAmplitudeUnitsPerBit")
    if not per_bit_text:
        notes.append(f"MUSE lead {name} states no LeadAmplitudeUnitsPerBit: 1 assumed")
    per_bit = _number(per_bit_text or "1", "LeadAmplitudeUnitsPerBit", path)
    unit = _text(lead, "LeadAmplitudeUnits") or "MICROVOLTS"  # restecg.dtd's default
    factor = mv_factor(unit)
    if factor is None:
        raise RecordError(f"{where} in unit {unit!r}, not a voltage")
    if per_bit <= 0:
        raise RecordError(f"{where}: LeadAmplitudeUnitsPerBit {per_bit:g} is not valid")
    raw = np.frombuffer(payload, dtype=f"<i{size}")
    return raw.astype(np.float32) * np.float32(per_bit * factor)


def _read_leads(waveform: Element, path: Path, notes: list[str]) -> dict[str, np.ndarray]:
    leads: dict[str, np.ndarray] = {}
    for index, lead in enumerate(waveform.findall("LeadData")):
        name = canonical_lead_name(_text(lead, "LeadID")) or f"lead{index + 1}"
        if name in leads:
            notes.append(f"MUSE lead {name} stored twice: the second copy not read")
            continue
        leads[name] = _lead_samples(lead, name, path, notes)
    if not leads:
        raise RecordError(f"{path}: the MUSE Rhythm waveform holds no lead")
    return leads


def _twelve_leads(leads: dict[str, np.ndarray], path: Path,
                  notes: list[str]) -> tuple[list[str], np.ndarray]:
    """The stored leads plus the derived limb leads, in the standard 12-lead order."""
    missing_base = [name for name in ("I", "II") if name not in leads]
    if missing_base:
        raise RecordError(f"{path}: the MUSE Rhythm waveform lacks lead "
                          f"{' and '.join(missing_base)} (every MUSE export stores I and II)")
    length = min(len(samples) for samples in leads.values())
    if any(len(samples) != length for samples in leads.values()):
        notes.append(f"MUSE leads of different lengths cut to the shortest ({length} samples)")
    columns = {name: samples[:length] for name, samples in leads.items()}
    derived = [name for name in _DERIVED if name not in columns]
    for name in derived:
        columns[name] = _DERIVED[name](columns["I"], columns["II"])
    absent = [name for name in STANDARD_ORDER if name not in columns]
    if absent:
        notes.append(f"MUSE: lead(s) {', '.join(absent)} not in the file")
    names = [n for n in STANDARD_ORDER if n in columns]
    names += [n for n in columns if n not in STANDARD_ORDER]
    return names, np.stack([columns[n] for n in names], axis=1)


def read_muse(path: Path, fs: float | None = None) -> Record:
    """Read a GE MUSE XML export; ``fs`` is not needed (the waveform states it)."""
    root = _parse(path)
    notes: list[str] = []
    waveform = _rhythm_waveform(root, path, notes)
    rate = _sampling_rate(waveform, path)
    names, signals = _twelve_leads(_read_leads(waveform, path, notes), path, notes)
    note_ignored_fs(notes, fs, rate)
    test = root.find("TestDemographics")
    start = _date_time(_text(test, "AcquisitionDate"), _text(test, "AcquisitionTime"))
    return Record(
        name=path.stem,
        signals=signals,
        fs=rate,
        lead_names=names,
        units=["mV"] * len(names),
        source_path=path,
        start_datetime=start,
        format_name="GE MUSE XML",
        notes=notes,
        patient=_patient_fields(root.find("PatientDemographics"), start),
    )


def _date(text: str) -> _dt.date | None:
    for layout in ("%m-%d-%Y", "%m/%d/%Y", "%Y-%m-%d"):
        try:
            return _dt.datetime.strptime(text, layout).date()
        except ValueError:
            continue
    return None


def _date_time(date: str, time: str) -> _dt.datetime | None:
    day = _date(date)
    if day is None:
        return None
    for layout in ("%H:%M:%S", "%H:%M"):
        try:
            return _dt.datetime.combine(day, _dt.datetime.strptime(time, layout).time())
        except ValueError:
            continue
    return _dt.datetime.combine(day, _dt.time())


def _patient_fields(demographics: Element | None, start: _dt.datetime | None) -> dict[str, str]:
    if demographics is None:
        return {}
    age = _text(demographics, "PatientAge")
    stated = (age.isdigit() and _text(demographics, "AgeUnits").upper() in ("", "YEARS"))
    return patient_fields(
        start,
        name=" ".join(p for p in (_text(demographics, "PatientFirstName"),
                                  _text(demographics, "PatientLastName")) if p),
        pid=_text(demographics, "PatientID"),
        sex=_SEX.get(_text(demographics, "Gender").upper(), ""),
        born=_date(_text(demographics, "DateofBirth")),
        stated_age=str(int(age)) if stated else None)
