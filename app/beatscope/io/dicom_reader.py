"""DICOM waveform files: the 12-Lead, General and Ambulatory ECG storage SOP classes.

Read with ``pydicom``. A waveform object holds a Waveform Sequence of *multiplex
groups* (typically the rhythm strip and, on resting carts, a median beat); each group
has its own sampling frequency, sample count, sample encoding and Channel Definition
Sequence. The first group whose channels are ECG leads is read; the others are noted.

Samples are decoded by pydicom's waveform handler in their raw integer form and scaled
here, per channel, as ``raw * sensitivity * correction factor + baseline`` (PS3.3
C.10.9.1.4; the same formula as ``Dataset.waveform_array``) and then from the channel's
sensitivity unit to mV, straight into float32: converting a day-long ambulatory
recording through pydicom's float64 array would double the memory it needs.

Every element the decoding relies on is checked first (group counts against the bytes
actually stored, the sample encoding, non-zero finite sensitivities), so a broken or
hostile file becomes a one-line RecordError instead of a numpy reshape error.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import struct
import warnings
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import BytesLengthException, InvalidDicomError
from pydicom.waveforms.numpy_handler import WAVEFORM_DTYPES, multiplex_array

from beatscope.errors import RecordError
from beatscope.io.leads import STANDARD_LEADS, normalise_lead_name
from beatscope.io.record import Record, note_ignored_fs, patient_fields
from beatscope.io.twelve_lead import canonical_lead_name
from beatscope.io.units import mv_factor

DICOM_MAGIC = b"DICM"
PREAMBLE_BYTES = 128  # the magic follows a 128-byte preamble

ECG_SOP_CLASSES: dict[str, str] = {
    "1.2.840.10008.5.1.4.1.1.9.1.1": "12-Lead ECG",
    "1.2.840.10008.5.1.4.1.1.9.1.2": "General ECG",
    "1.2.840.10008.5.1.4.1.1.9.1.3": "Ambulatory ECG",
    "1.2.840.10008.5.1.4.1.1.9.1.4": "General 32-bit ECG",
}
_REQUIRED_GROUP_ELEMENTS = ("NumberOfWaveformChannels", "NumberOfWaveformSamples",
                            "SamplingFrequency", "WaveformBitsAllocated",
                            "WaveformSampleInterpretation", "WaveformData")
_SEX = {"M": "male", "F": "female", "O": "other"}


def is_dicom_file(path: Path) -> bool:
    """True when ``path`` is a file with the DICOM Part 10 magic at offset 128."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(PREAMBLE_BYTES + len(DICOM_MAGIC))
    except OSError:
        return False
    return head[PREAMBLE_BYTES:] == DICOM_MAGIC


def lead_name(meaning: str, index: int) -> str:
    """A standard lead name from a Channel Source code meaning.

    "Lead I" -> "I", "Lead aVR" -> "aVR", "Lead V1" -> "V1", and the older CID 3001
    spellings "Lead I (Einthoven)", "Lead aVR, augmented voltage, right" alike; a
    meaning that names no known lead is kept as written.
    """
    text = re.sub(r"\(.*?\)", "", meaning.split(",", 1)[0]).strip()
    if normalise_lead_name(text) in STANDARD_LEADS:
        return canonical_lead_name(text)
    return meaning.strip() or f"lead{index + 1}"


def _channel_label(channel: Dataset, index: int) -> str:
    source = channel.get("ChannelSourceSequence")
    meaning = str(source[0].get("CodeMeaning", "")) if source else ""
    return lead_name(meaning or str(channel.get("ChannelLabel", "")), index)


def _is_ecg_group(group: Dataset) -> bool:
    channels = group.get("ChannelDefinitionSequence") or []
    return any(normalise_lead_name(_channel_label(ch, i)) in STANDARD_LEADS
               for i, ch in enumerate(channels))


def _channel_scale(channel: Dataset, name: str, path: Path,
                   notes: list[str]) -> tuple[float, float] | None:
    """(factor, offset) turning a raw sample of ``channel`` into mV; None when the
    channel is not in a voltage unit (a respiration or pressure trace beside the leads)."""
    try:
        sensitivity = float(channel.get("ChannelSensitivity", 1.0))
        correction = float(channel.get("ChannelSensitivityCorrectionFactor", 1.0))
        baseline = float(channel.get("ChannelBaseline", 0.0))
    except (TypeError, ValueError):
        raise RecordError(f"{path}: DICOM channel {name}: sensitivity, correction factor "
                          "or baseline is not a number") from None
    scale = sensitivity * correction
    if not (math.isfinite(scale) and math.isfinite(baseline)) or scale == 0:
        raise RecordError(f"{path}: DICOM channel {name}: sensitivity {sensitivity:g} x "
                          f"correction {correction:g} is not a usable scale")
    units = channel.get("ChannelSensitivityUnitsSequence")
    code = str(units[0].get("CodeValue", "")) if units else ""
    meaning = str(units[0].get("CodeMeaning", "")) if units else ""
    # the code (UCUM) is authoritative; the meaning is only the display text
    factor = mv_factor(code or meaning)
    if factor is None:
        if code or meaning:
            notes.append(f"DICOM channel {name} in unit {code or meaning!r}, not a "
                         "voltage: not read")
            return None
        # the unit is required wherever a sensitivity is given; without one, the
        # reviewer is told what was assumed (as units.py does for other formats)
        notes.append(f"DICOM channel {name} states no unit: assumed mV")
        factor = 1.0
    return scale * factor, baseline * factor


def _check_group(group: Dataset, index: int, path: Path) -> tuple[int, int, float]:
    """(channels, samples, fs) of multiplex group ``index`` after checking that its
    stored bytes hold what it declares."""
    where = f"{path}: DICOM multiplex group {index + 1}"
    missing = [k for k in _REQUIRED_GROUP_ELEMENTS if k not in group]
    if missing:
        raise RecordError(f"{where} lacks {', '.join(missing)} (file truncated?)")
    try:
        n_channels = int(group.get("NumberOfWaveformChannels", 0))
        n_samples = int(group.get("NumberOfWaveformSamples", 0))
        fs = float(group.get("SamplingFrequency", 0.0))
        bits = int(group.get("WaveformBitsAllocated", 0))
    except (TypeError, ValueError):
        raise RecordError(f"{where}: channel count, sample count, sampling frequency or "
                          "bits allocated is not a number") from None
    interpretation = str(group.get("WaveformSampleInterpretation", ""))
    if n_channels <= 0:
        raise RecordError(f"{where} has no channels")
    if n_samples <= 0:
        raise RecordError(f"{where} has no samples")
    if not math.isfinite(fs) or fs <= 0:
        raise RecordError(f"{where}: sampling frequency {fs:g} Hz is not valid")
    if (bits, interpretation) not in WAVEFORM_DTYPES:
        raise RecordError(f"{where}: unsupported sample encoding {bits} bits "
                          f"{interpretation or '(none)'}")
    channels = group.get("ChannelDefinitionSequence") or []
    if len(channels) != n_channels:
        raise RecordError(f"{where} declares {n_channels} channels but defines "
                          f"{len(channels)}")
    stored = len(group.get("WaveformData", b"") or b"")
    needed = n_samples * n_channels * (bits // 8)
    if stored < needed:
        raise RecordError(f"{where} declares {n_samples} samples x {n_channels} channels "
                          f"({needed} bytes) but stores {stored} bytes (file truncated?)")
    return n_channels, n_samples, fs


def read_dicom(path: Path, fs: float | None = None) -> Record:
    """Read a DICOM ECG waveform file; ``fs`` is not needed (each group states its own)."""
    # pydicom parses element values lazily, on first access, so a damaged value fails
    # wherever it is first read; struct.error and EOFError escape it on a file cut
    # inside an element header, NotImplementedError on an unknown value representation,
    # BytesLengthException on a value whose length does not fit its representation.
    try:
        # pydicom warns on every malformed value it meets; those that matter end as
        # a RecordError below, so the warnings would only repeat it on stderr
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return _read(path, fs)
    except InvalidDicomError as exc:
        raise RecordError(f"{path}: not a DICOM file ({' '.join(str(exc).split())})") from None
    except (EOFError, OSError, ValueError, KeyError, NotImplementedError, struct.error,
            BytesLengthException) as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise RecordError(f"{path}: damaged DICOM file ({reason})") from None


def _read(path: Path, fs: float | None) -> Record:
    ds = pydicom.dcmread(str(path))
    sop_class = str(ds.get("SOPClassUID", ""))
    groups = list(ds.get("WaveformSequence") or [])
    if not groups:
        kind = ECG_SOP_CLASSES.get(sop_class, f"SOP class {sop_class or 'unknown'}")
        raise RecordError(f"{path}: the DICOM file ({kind}) holds no waveform")
    if sop_class not in ECG_SOP_CLASSES:
        raise RecordError(f"{path}: DICOM waveform of SOP class {sop_class or 'unknown'} "
                          "is not an ECG (12-Lead, General or Ambulatory ECG)")
    chosen = next((i for i, g in enumerate(groups) if _is_ecg_group(g)), None)
    if chosen is None:
        raise RecordError(f"{path}: no DICOM multiplex group holds ECG leads")
    group = groups[chosen]
    _, n_samples, rate = _check_group(group, chosen, path)

    notes: list[str] = []
    others = [str(g.get("MultiplexGroupLabel", "") or f"group {i + 1}")
              for i, g in enumerate(groups) if i != chosen]
    if others:
        notes.append(f"DICOM: multiplex group(s) not read: {', '.join(others)}")
    note_ignored_fs(notes, fs, rate)

    names: list[str] = []
    kept: list[int] = []
    scales: list[tuple[float, float]] = []
    for i, channel in enumerate(group.ChannelDefinitionSequence):
        name = _channel_label(channel, i)
        scale = _channel_scale(channel, name, path, notes)
        if scale is not None:
            names.append(name)
            kept.append(i)
            scales.append(scale)
    if not kept:
        raise RecordError(f"{path}: no channel of the DICOM ECG group is in a voltage unit")
    raw = multiplex_array(ds, chosen, as_raw=True)
    signals = np.empty((n_samples, len(kept)), dtype=np.float32)
    for column, (i, (factor, offset)) in enumerate(zip(kept, scales, strict=True)):
        np.multiply(raw[:, i], factor, out=signals[:, column], casting="unsafe")
        signals[:, column] += np.float32(offset)

    start = _acquired(ds)
    return Record(
        # PACS exports are often named by UID ("1.2.840....7") with no suffix: only a
        # ".dcm" is a suffix to drop, or records 1.2.3.4 and 1.2.3.5 would share a name
        name=path.stem if path.suffix.lower() == ".dcm" else path.name,
        signals=signals,
        fs=rate,
        lead_names=names,
        units=["mV"] * len(names),
        source_path=path,
        start_datetime=start,
        format_name=f"DICOM {ECG_SOP_CLASSES[sop_class]}",
        notes=notes,
        patient=_patient_fields(ds, start),
    )


def _parse_date_time(date: str, time: str = "") -> _dt.datetime | None:
    """A DICOM DA + TM pair ("20231102", "083015.25") as a naive datetime."""
    digits = re.match(r"\d{8}", date.strip())
    if digits is None:
        return None
    clock = re.match(r"\d{2,6}", time.strip())
    text = digits.group(0) + (clock.group(0) if clock else "").ljust(6, "0")
    try:
        return _dt.datetime.strptime(text, "%Y%m%d%H%M%S")
    except ValueError:
        return None


def _acquired(ds: Dataset) -> _dt.datetime | None:
    """When the waveform was acquired: Acquisition DateTime, else the content or study
    date and time."""
    stamp = str(ds.get("AcquisitionDateTime", "") or "")
    if stamp:
        return _parse_date_time(stamp[:8], stamp[8:14])
    for date, time in (("ContentDate", "ContentTime"), ("StudyDate", "StudyTime")):
        found = _parse_date_time(str(ds.get(date, "") or ""), str(ds.get(time, "") or ""))
        if found is not None:
            return found
    return None


def _patient_fields(ds: Dataset, start: _dt.datetime | None) -> dict[str, str]:
    name = ""
    if ds.get("PatientName"):
        # PN is "Family^Given^Middle^Prefix^Suffix" (then "=" and ideographic and
        # phonetic forms, not shown): shown in reading order
        parts = str(ds.get("PatientName")).split("=", 1)[0].split("^")
        ordered = [p for p in (parts[3:4] + parts[1:3] + parts[:1] + parts[4:5]) if p.strip()]
        name = " ".join(p.strip() for p in ordered)
    age = re.fullmatch(r"0*(\d+)([DWMY])", str(ds.get("PatientAge", "") or "").strip())
    return patient_fields(
        start, name=name, pid=str(ds.get("PatientID", "") or "").strip(),
        sex=_SEX.get(str(ds.get("PatientSex", "") or "").strip().upper(), ""),
        born=_parse_date_time(str(ds.get("PatientBirthDate", "") or "")),
        stated_age=age.group(1) if age is not None and age.group(2) == "Y" else None)
