"""Philips PageWriter / Sierra ECG XML files (``restingecgdata`` root, versions 1.03-1.04).

Layout (Sierra ECG schema, namespace ``http://www3.medical.philips.com``):
``documentinfo`` (document type and version), ``dataacquisition`` (``date``/``time``
attributes; ``signalcharacteristics`` with ``samplingrate``, ``signalresolution`` in
uV per count, ``acquisitiontype`` and ``numberchannelsallocated``), ``patient/
generalpatientdata`` (``patientid``, ``name``, ``sex``, ``age``) and ``waveforms/
parsedwaveforms``: the 12 leads, one after another, as ``Base64`` int16 (or ``Plain``
text), usually XLI-compressed (see ``beatscope.io.xli``). Version 1.04 repeats the rate
and resolution as attributes of ``parsedwaveforms`` and names the leads in its
``leadlabels``; 1.03 files are in the standard 12-lead order.

In XLI data the cart stores leads III, aVR, aVL and aVF as residuals of what Einthoven's
and Goldberger's relations predict from I and II (which makes them compress better);
they are rebuilt here as the reference decoder does, with integer halves truncated
toward zero. Uncompressed data holds the leads as they are.

Parsed with ``defusedxml``: these files carry no DTD, so one is refused outright.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import re
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_xml
import numpy as np
from defusedxml import DefusedXmlException

from beatscope.errors import RecordError
from beatscope.io.record import Record, note_ignored_fs, patient_fields
from beatscope.io.twelve_lead import LIMB_LEADS, STANDARD_ORDER, canonical_lead_name
from beatscope.io.validate import check_fs
from beatscope.io.xli import XliError, xli_decode

ROOT_TAG = "restingecgdata"
KNOWN_VERSIONS = ("1.03", "1.04", "1.04.01", "1.04.02")
# Resting ECGs last 10-11 s at 500 Hz or 1 kHz; a file declaring far more samples per
# lead is refused before decoding, so that a hostile one cannot keep the XLI decoder
# busy (its work is bounded by the declared samples, see xli.py).
MAX_SAMPLES = 60_000
MAX_LEADS = 16
_SEX = {"MALE": "male", "FEMALE": "female"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(parent: Element | None, *names: str) -> Element | None:
    """The element reached from ``parent`` through children called ``names``."""
    for name in names:
        if parent is None:
            return None
        parent = next((el for el in parent if _local(el.tag) == name), None)
    return parent


def _text(parent: Element | None, *names: str) -> str:
    element = _child(parent, *names)
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def _parse(path: Path) -> Element:
    try:
        root = safe_xml.parse(str(path), forbid_dtd=True).getroot()
    except DefusedXmlException as exc:
        raise RecordError(f"{path}: XML refused: it declares a DTD or entities "
                          f"({type(exc).__name__}), which Philips ECG files never "
                          "need") from None
    except ParseError as exc:
        raise RecordError(f"{path}: not well-formed XML ({exc})") from None
    if _local(root.tag) != ROOT_TAG:
        raise RecordError(f"{path}: not a Philips ECG XML file (root element "
                          f"<{_local(root.tag)}>, expected <{ROOT_TAG}>)")
    return root


def _number(text: str, what: str, path: Path) -> float:
    try:
        value = float(text)
    except ValueError:
        raise RecordError(f"{path}: Philips {what} {text!r} is not a number") from None
    if not np.isfinite(value) or value <= 0:
        raise RecordError(f"{path}: Philips {what} {value:g} is not valid")
    return value


def _first_of(path: Path, what: str, *texts: str) -> float:
    """The first non-empty of ``texts`` as a positive number; RecordError if none."""
    text = next((t for t in texts if t), "")
    if not text:
        raise RecordError(f"{path}: the Philips file does not state its {what}")
    return _number(text, what, path)


def _lead_labels(waves: Element, signal: Element | None, path: Path) -> list[str]:
    count_text = waves.get("numberofleads") or _text(signal, "numberchannelsallocated")
    count = int(_first_of(path, "number of leads", count_text))
    if count > MAX_LEADS:
        raise RecordError(f"{path}: Philips file declares {count} leads (at most "
                          f"{MAX_LEADS})")
    labels = (waves.get("leadlabels") or "").split()
    if not labels:
        labels = list(STANDARD_ORDER)  # 1.03: STD-12 order
    labels = [canonical_lead_name(label) for label in labels[:count]]
    return labels + [f"lead{i + 1}" for i in range(len(labels), count)]


def _payload(waves: Element, path: Path) -> tuple[bytes | None, np.ndarray | None]:
    """(base64-decoded bytes, None) or (None, plain-text samples)."""
    encoding = (waves.get("dataencoding") or "Base64").strip()
    text = "".join(waves.itertext())
    if encoding == "Plain":
        try:
            return None, np.array(text.split(), dtype=np.int64)
        except ValueError:
            raise RecordError(f"{path}: Philips Plain waveform holds samples that are not "
                              "integers") from None
    if encoding != "Base64":
        raise RecordError(f"{path}: Philips waveform encoding {encoding!r} is not supported")
    try:
        return base64.b64decode("".join(text.split()), validate=True), None
    except (binascii.Error, ValueError):
        raise RecordError(f"{path}: Philips waveform data is not valid base64") from None


def _decode_leads(waves: Element, labels: list[str], n_samples: int, path: Path,
                  notes: list[str]) -> np.ndarray:
    """The leads in counts, int64 (n_samples, leads); limb leads rebuilt for XLI data."""
    n_leads = len(labels)
    data, plain = _payload(waves, path)
    compressed = (waves.get("compressflag") or "False").strip().lower() == "true"
    method = (waves.get("compressmethod") or "XLI").strip()
    if data is not None and compressed:
        if method != "XLI":
            raise RecordError(f"{path}: Philips compression {method!r} is not supported")
        try:
            leads = xli_decode(data, n_leads, max_samples=2 * n_samples)
        except XliError as exc:
            raise RecordError(f"{path}: Philips XLI waveform damaged: {exc}") from None
        length = min([n_samples] + [len(lead) for lead in leads])
        if length < 3:
            raise RecordError(f"{path}: Philips XLI leads decode to {length} samples "
                              "(damaged data?)")
        if length < n_samples:
            notes.append(f"Philips: XLI leads hold {length} samples, {n_samples} declared: "
                         "cut to the shortest")
        counts = np.stack([lead[:length] for lead in leads], axis=1)
        if tuple(labels[:6]) == LIMB_LEADS:
            _rebuild_limb_leads(counts)
        return counts
    flat = plain if plain is not None else np.frombuffer(
        data[: len(data) - len(data) % 2], dtype="<i2").astype(np.int64)
    if len(flat) < n_leads * n_samples:
        raise RecordError(f"{path}: Philips waveform holds {len(flat)} samples, "
                          f"{n_leads} leads x {n_samples} declared")
    if len(flat) > n_leads * n_samples:
        notes.append(f"Philips: {len(flat) - n_leads * n_samples} samples after the "
                     "declared leads not read")
    return flat[: n_leads * n_samples].reshape(n_leads, n_samples).T


def _rebuild_limb_leads(x: np.ndarray) -> None:
    """Turn XLI's stored residuals of III, aVR, aVL and aVF into the leads, in place."""
    def half(v: np.ndarray) -> np.ndarray:  # integer division truncated toward zero
        return np.trunc(v / 2).astype(np.int64)

    i, ii = x[:, 0], x[:, 1]
    x[:, 2] = ii - i - x[:, 2]
    x[:, 3] = -x[:, 3] - half(i + ii)
    x[:, 4] = half(i - x[:, 2]) - x[:, 4]
    x[:, 5] = half(ii + x[:, 2]) - x[:, 5]


def read_philips(path: Path, fs: float | None = None) -> Record:
    """Read a Philips Sierra ECG XML file; ``fs`` is not needed (the file states it)."""
    root = _parse(path)
    notes: list[str] = []
    version = _text(root, "documentinfo", "documentversion")
    if version not in KNOWN_VERSIONS:
        notes.append(f"Philips document version {version or '(none)'} is not one this "
                     f"reader knows ({', '.join(KNOWN_VERSIONS)}): read as 1.04")
    waves = _child(root, "waveforms", "parsedwaveforms")
    if waves is None:
        raise RecordError(f"{path}: the Philips file holds no parsedwaveforms")
    signal = _child(root, "dataacquisition", "signalcharacteristics")
    rate = check_fs(_first_of(path, "sampling rate", waves.get("samplespersecond") or "",
                              _text(signal, "samplingrate")), path, "file")
    resolution_uv = _first_of(path, "resolution", waves.get("resolution") or "",
                              _text(signal, "signalresolution"))
    duration_ms = _first_of(path, "duration", waves.get("durationperchannel") or "")
    n_samples = int(round(duration_ms * rate / 1000.0))
    if n_samples > MAX_SAMPLES:
        raise RecordError(f"{path}: Philips waveform of {duration_ms:g} ms at {rate:g} Hz "
                          f"({n_samples} samples per lead) is not a resting ECG's (at "
                          f"most {MAX_SAMPLES})")
    if n_samples < 3:
        raise RecordError(f"{path}: Philips waveform of {n_samples} samples per lead")
    labels = _lead_labels(waves, signal, path)

    counts = _decode_leads(waves, labels, n_samples, path, notes)
    note_ignored_fs(notes, fs, rate)
    acquisition = _child(root, "dataacquisition")
    start = _date_time(acquisition)
    return Record(
        name=path.stem,
        signals=counts.astype(np.float32) * np.float32(resolution_uv / 1000.0),
        fs=rate,
        lead_names=labels,
        units=["mV"] * len(labels),
        source_path=path,
        start_datetime=start,
        format_name="Philips ECG XML",
        notes=notes,
        patient=_patient_fields(_child(root, "patient", "generalpatientdata"), start),
    )


def _date_time(element: Element | None) -> _dt.datetime | None:
    if element is None:
        return None
    text = f"{element.get('date') or ''} {element.get('time') or '00:00:00'}".strip()
    try:
        return _dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def _patient_fields(general: Element | None, start: _dt.datetime | None) -> dict[str, str]:
    if general is None:
        return {}
    born_text = _text(general, "age", "dateofbirth")
    born = None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", born_text):
        try:
            born = _dt.date.fromisoformat(born_text)
        except ValueError:
            born = None
    years = _text(general, "age", "years")
    return patient_fields(
        start,
        name=" ".join(p for p in (_text(general, "name", "firstname"),
                                  _text(general, "name", "lastname")) if p),
        pid=_text(general, "patientid"),
        sex=_SEX.get(_text(general, "sex").upper(), ""),
        born=born, stated_age=str(int(years)) if years.isdigit() else None)
