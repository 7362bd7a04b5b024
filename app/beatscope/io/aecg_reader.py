"""HL7 v3 annotated ECG (aECG) XML files, as ECG carts and trial core labs write them.

Layout (HL7 aECG Implementation Guide, 2005): an ``AnnotatedECG`` root holds one or
more ``series`` (the rhythm recording; derived series such as representative beats
sit under ``derivation`` and are ignored). A series holds ``sequenceSet``s; each set
has one time sequence (``TIME_ABSOLUTE`` or ``TIME_RELATIVE``, a ``GLIST`` whose
``increment`` is the sampling interval) and one ``SLIST_PQ`` sequence per lead, coded
``MDC_ECG_LEAD_*``, whose samples are ``origin + scale * digit`` in the unit of the
scale. The first sequence set of the first series is read; any others are noted.

The XML is parsed with ``defusedxml``: a file that declares a DTD or entities (the
"billion laughs" bomb, external entities that would read local files or the network)
is refused before anything is expanded.
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_xml
import numpy as np
from defusedxml import DefusedXmlException

from beatscope.errors import RecordError
from beatscope.io.record import Record, note_ignored_fs, patient_fields
from beatscope.io.units import mv_factor

ROOT_TAG = "AnnotatedECG"
_LEAD_PREFIX = "MDC_ECG_LEAD_"
_AUGMENTED = {"AVR": "aVR", "AVL": "aVL", "AVF": "aVF"}
_SEX = {"M": "male", "F": "female"}
_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(parent: Element, name: str) -> list[Element]:
    return [el for el in parent if _local(el.tag) == name]


def _child(parent: Element | None, name: str) -> Element | None:
    if parent is None:
        return None
    return next((el for el in parent if _local(el.tag) == name), None)


def _attribute(parent: Element | None, name: str, attribute: str) -> str:
    """The ``attribute`` of ``parent``'s child ``name``, stripped ("" when absent)."""
    child = _child(parent, name)
    return (child.get(attribute) or "").strip() if child is not None else ""


def _first(parent: Element, name: str) -> Element | None:
    """The first element called ``name`` anywhere below ``parent``."""
    return next((el for el in parent.iter() if _local(el.tag) == name), None)


def looks_like_aecg(path: Path) -> bool:
    """True when the file's first 4 KiB mention the aECG root element."""
    try:
        with open(path, "rb") as fh:
            return ROOT_TAG.encode() in fh.read(4096)
    except OSError:
        return False


def _parse(path: Path) -> Element:
    try:
        root = safe_xml.parse(str(path), forbid_dtd=True).getroot()
    except DefusedXmlException as exc:
        raise RecordError(f"{path}: XML refused: it declares a DTD or entities "
                          f"({type(exc).__name__}), which aECG files never need") from None
    except ParseError as exc:
        raise RecordError(f"{path}: not well-formed XML ({exc})") from None
    if _local(root.tag) != ROOT_TAG:
        raise RecordError(f"{path}: not an HL7 aECG file (root element "
                          f"<{_local(root.tag)}>, expected <{ROOT_TAG}>)")
    return root


def _number(element: Element | None, what: str, path: Path) -> tuple[float, str]:
    """The ``value`` and ``unit`` attributes of ``element``; RecordError if missing."""
    try:
        value = float(element.get("value"))  # type: ignore[union-attr,arg-type]
    except (AttributeError, TypeError, ValueError):
        raise RecordError(f"{path}: aECG {what} missing or not a number") from None
    if not np.isfinite(value):
        raise RecordError(f"{path}: aECG {what} is not a finite number")
    return value, (element.get("unit") or "").strip()  # type: ignore[union-attr]


def _lead_name(code: str, index: int) -> str:
    if not code.upper().startswith(_LEAD_PREFIX):
        return code or f"lead{index + 1}"
    name = code[len(_LEAD_PREFIX):].upper()
    return _AUGMENTED.get(name, name)


def _sampling_rate(sequence: Element, path: Path) -> float:
    increment, unit = _number(_child(_child(sequence, "value"), "increment"),
                              "time increment", path)
    seconds = _SECONDS.get(unit.lower() if unit else "s")
    if seconds is None or increment <= 0:
        raise RecordError(f"{path}: aECG time increment {increment:g} {unit} is not valid")
    rate = 1.0 / (increment * seconds)
    # "0.00277777777777778 s" means 360 Hz: drop the decimal expansion's remainder
    return float(round(rate)) if abs(rate - round(rate)) < 1e-6 * rate else rate


def _lead_samples(value: Element, path: Path, name: str) -> tuple[np.ndarray, str]:
    origin, origin_unit = _number(_child(value, "origin"), f"origin of lead {name}", path)
    scale, unit = _number(_child(value, "scale"), f"scale of lead {name}", path)
    factor = mv_factor(unit or "uV")
    if factor is None or (origin_unit and mv_factor(origin_unit) != factor):
        raise RecordError(f"{path}: aECG lead {name} in unit {unit!r}, not a voltage")
    digits = _child(value, "digits")
    text = (digits.text or "") if digits is not None else ""
    try:
        raw = np.array(text.split(), dtype=np.float64)
    except ValueError:
        raise RecordError(f"{path}: aECG lead {name} holds samples that are not "
                          "numbers") from None
    return ((origin + scale * raw) * factor).astype(np.float32), unit


def read_aecg(path: Path, fs: float | None = None) -> Record:
    """Read an HL7 aECG file; ``fs`` is not needed (the time sequence states it)."""
    root = _parse(path)
    notes: list[str] = []
    series = next((s for c in _children(root, "component") for s in _children(c, "series")),
                  None)
    if series is None:
        raise RecordError(f"{path}: the aECG file holds no series")
    sets = [s for c in _children(series, "component") for s in _children(c, "sequenceSet")]
    if not sets:
        raise RecordError(f"{path}: the aECG series holds no sequence set")
    if len(sets) > 1:
        notes.append(f"aECG: {len(sets) - 1} further sequence set(s) not read")

    rate: float | None = None
    leads: list[np.ndarray] = []
    names: list[str] = []
    for component in _children(sets[0], "component"):
        sequence = _child(component, "sequence")
        if sequence is None:
            continue
        code = _attribute(sequence, "code", "code")
        if code.upper().startswith("TIME_"):
            rate = _sampling_rate(sequence, path)
            continue
        value = _child(sequence, "value")
        if value is None or _child(value, "digits") is None:
            continue
        name = _lead_name(code, len(names))
        samples, _ = _lead_samples(value, path, name)
        leads.append(samples)
        names.append(name)
    if rate is None:
        raise RecordError(f"{path}: the aECG sequence set has no time sequence "
                          "(sampling rate unknown)")
    if not leads:
        raise RecordError(f"{path}: the aECG sequence set holds no lead")
    note_ignored_fs(notes, fs, rate)
    length = min(len(lead) for lead in leads)
    if any(len(lead) != length for lead in leads):
        notes.append(f"aECG leads of different lengths cut to the shortest ({length} samples)")
    signals = np.stack([lead[:length] for lead in leads], axis=1)

    start = _timestamp(_child(_child(root, "effectiveTime"), "low"))
    return Record(
        name=path.stem,
        signals=signals,
        fs=rate,
        lead_names=names,
        units=["mV"] * len(names),
        source_path=path,
        start_datetime=start,
        format_name="HL7 aECG",
        notes=notes,
        patient=_patient_fields(root, start),
    )


def _timestamp(element: Element | None) -> _dt.datetime | None:
    """An HL7 TS value ("20021122091000.000+0100") as a naive local datetime."""
    digits = re.match(r"\d{8,14}", (element.get("value") or "") if element is not None else "")
    if digits is None:
        return None
    text = digits.group(0).ljust(14, "0")
    try:
        return _dt.datetime.strptime(text, "%Y%m%d%H%M%S")
    except ValueError:
        return None


def _patient_fields(root: Element, start: _dt.datetime | None) -> dict[str, str]:
    subject = _first(root, "trialSubject")
    if subject is None:
        return {}
    pid = _attribute(subject, "id", "extension")
    person = _child(subject, "subjectDemographicPerson")
    if person is None:
        return patient_fields(start, pid=pid)
    name = _child(person, "name")
    return patient_fields(
        start, pid=pid,
        name="" if name is None else " ".join(" ".join(name.itertext()).split()),
        sex=_SEX.get(_attribute(person, "administrativeGenderCode", "code").upper(), ""),
        born=_timestamp(_child(person, "birthTime")))
