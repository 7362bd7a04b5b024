"""ISHNE 1.0 Holter files (``.ecg``) and their beat annotations (``.ann``).

Written by hand rather than through ``ishneholterlib``: that library calls
``ndarray.tostring``, which current numpy no longer has, and it reads the whole
sample block into memory. Here the header is decoded from one 522-byte read and the
samples are memory-mapped, so a 24-hour file opens in well under two seconds.

Layout (ISHNE Holter Standard Output File Format, Badilini et al., 1998; all values
little-endian): the magic ``ISHNE1.0``; a CRC-CCITT (polynomial 0x1021, initial
0xFFFF) of everything from byte 10 up to the samples; a fixed 512-byte header
(``_FIXED_HEADER``); a variable-length block; then int16 samples interleaved by lead,
each lead with its own resolution in nV. A wrong CRC is noted, not refused: some
recorders never fill it in, and the samples are still worth reviewing.

The annotation file beside the recording repeats the header under the magic
``ANN  1.0``; after its variable block come a uint32 (the sample of the first
annotation) and 4-byte entries: label, internal label, uint16 samples since the
previous entry.
"""

from __future__ import annotations

import datetime as _dt
import functools
from pathlib import Path

import numpy as np

from beatscope.errors import RecordError
from beatscope.io.record import Annotations, Record, note_ignored_fs, patient_fields

ISHNE_MAGIC = b"ISHNE1.0"
ANN_MAGIC = b"ANN  1.0"
PREAMBLE_BYTES = 10  # magic + CRC
# A header this long is checked (pure-Python CRC, ~0.1 s per MiB); a variable block
# beyond it is suspicious enough that its checksum is skipped with a note.
CRC_MAX_BYTES = 1 << 20
MAX_LEADS = 12  # the header has room for twelve lead specifications

_FIXED_HEADER = np.dtype([
    ("var_block_size", "<i4"),
    ("samples_per_lead", "<i4"),
    ("var_block_offset", "<i4"),
    ("ecg_block_offset", "<i4"),
    ("file_version", "<i2"),
    ("first_name", "S40"),
    ("last_name", "S40"),
    ("patient_id", "S20"),
    ("sex", "<i2"),
    ("race", "<i2"),
    ("birth_date", "<i2", (3,)),  # day, month, year
    ("record_date", "<i2", (3,)),  # day, month, year
    ("file_date", "<i2", (3,)),  # day, month, year
    ("start_time", "<i2", (3,)),  # hour, minute, second
    ("n_leads", "<i2"),
    ("lead_spec", "<i2", (MAX_LEADS,)),
    ("lead_quality", "<i2", (MAX_LEADS,)),
    ("resolution_nv", "<i2", (MAX_LEADS,)),
    ("pacemaker", "<i2"),
    ("recorder", "S40"),
    ("sampling_rate", "<i2"),
    ("proprietary", "S80"),
    ("copyright", "S80"),
    ("reserved", "S88"),
])
HEADER_BYTES = PREAMBLE_BYTES + _FIXED_HEADER.itemsize  # 522: where the variable block starts

# Table 1 of the standard: lead specification codes. Unknown (0) and generic
# bipolar (1) leads get a numbered name instead.
LEAD_NAMES: dict[int, str] = {
    2: "X", 3: "Y", 4: "Z", 5: "I", 6: "II", 7: "III", 8: "aVR", 9: "aVL", 10: "aVF",
    11: "V1", 12: "V2", 13: "V3", 14: "V4", 15: "V5", 16: "V6", 17: "ES", 18: "AS", 19: "AI",
}
# Table 2: lead quality codes worth telling the reviewer about.
_POOR_QUALITY: dict[int, str] = {
    2: "intermittent noise", 3: "frequent noise", 4: "intermittent disconnection",
    5: "frequent disconnection",
}
_SEX = {1: "male", 2: "female"}
# ISHNE beat labels -> the MIT-BIH symbols the rest of BeatScope understands
# (bundle-branch-block beats count as normal in AAMI terms, "U" is unclassifiable).
# Labels missing here (calibration pulses, ...) are not beats and are skipped.
_BEAT_SYMBOLS: dict[str, str] = {
    "N": "N", "V": "V", "S": "S", "B": "N", "P": "/", "U": "Q", "X": "|",
}
_TIMEOUT = "!"  # a gap in the annotations: its offset still counts, the entry does not


def crc_ccitt(data: bytes) -> int:
    """CRC-CCITT (0x1021, initial 0xFFFF, no reflection) as the ISHNE header uses it."""
    table = _crc_table()
    crc = 0xFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ byte]
    return crc


@functools.cache
def _crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        value = i << 8
        for _ in range(8):
            value = ((value << 1) ^ 0x1021) if value & 0x8000 else value << 1
        table.append(value & 0xFFFF)
    return tuple(table)


def is_ishne(path: Path) -> bool:
    """True when ``path`` starts with the ISHNE 1.0 magic."""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(ISHNE_MAGIC)) == ISHNE_MAGIC
    except OSError:
        return False


def _text(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("latin-1").strip()


def _date(day_month_year: np.ndarray) -> _dt.date | None:
    day, month, year = (int(v) for v in day_month_year)
    try:
        return _dt.date(year, month, day)
    except ValueError:  # -9 (unknown) or zeros
        return None


def _time(hour_minute_second: np.ndarray) -> _dt.time | None:
    hour, minute, second = (int(v) for v in hour_minute_second)
    try:
        return _dt.time(hour, minute, second)
    except ValueError:
        return None


def read_header(path: Path, magic: bytes = ISHNE_MAGIC) -> tuple[np.void, bytes]:
    """The fixed header of an ISHNE (or, with ``ANN_MAGIC``, annotation) file and the
    10-byte preamble before it; RecordError if the file is too short or not one."""
    with open(path, "rb") as fh:
        head = fh.read(HEADER_BYTES)
    if not head.startswith(magic):
        raise RecordError(f"{path}: not an ISHNE 1.0 file (it does not start with "
                          f"{magic.decode()!r})")
    if len(head) < HEADER_BYTES:
        raise RecordError(f"{path}: truncated ISHNE header ({len(head)} of "
                          f"{HEADER_BYTES} bytes)")
    return np.frombuffer(head, dtype=_FIXED_HEADER, offset=PREAMBLE_BYTES)[0], head


def _check_layout(path: Path, header: np.void, file_size: int, rate: int,
                  notes: list[str]) -> tuple[int, int, int]:
    """Leads, samples per lead on disk and the sample block's offset; RecordError for a
    header that contradicts itself or the file. A file shorter than its header says
    (a recorder that stopped, a copy cut short) is read as far as it goes, with a
    note, as a truncated WFDB signal file is, unless under a second is left."""
    n_leads = int(header["n_leads"])
    if not 1 <= n_leads <= MAX_LEADS:
        raise RecordError(f"{path}: the ISHNE header gives {n_leads} leads "
                          f"(expected 1-{MAX_LEADS})")
    var_size = int(header["var_block_size"])
    offset = int(header["ecg_block_offset"])
    if var_size < 0 or offset < HEADER_BYTES + var_size or offset > file_size:
        raise RecordError(f"{path}: the ISHNE header puts the samples at byte {offset}, "
                          f"outside the file ({file_size} bytes, header {HEADER_BYTES} + "
                          f"{var_size})")
    claimed = int(header["samples_per_lead"])
    on_disk = (file_size - offset) // (2 * n_leads)
    if claimed <= 0 or on_disk == 0:
        raise RecordError(f"{path}: the ISHNE file holds no samples")
    if claimed > on_disk and claimed != on_disk * n_leads:  # some writers give the total
        if on_disk < rate:
            raise RecordError(f"{path}: the ISHNE header claims {claimed} samples per lead "
                              f"but the file holds {on_disk} (under a second: truncated?)")
        held_s = on_disk / rate
        held = f"{held_s / 3600:.1f} h" if held_s >= 3600 else f"{held_s / 60:.1f} min"
        notes.append(f"truncated: the ISHNE header claims {claimed} samples per lead, the "
                     f"file holds {on_disk} ({held}); all of them read")
    elif claimed > on_disk:
        notes.append(f"ISHNE header gives the total sample count; {on_disk} per lead read")
    return n_leads, min(claimed, on_disk), offset


def read_ishne(path: Path, fs: float | None = None) -> Record:
    """Read an ISHNE 1.0 Holter file; ``fs`` is not needed (the header states it)."""
    header, head = read_header(path)
    file_size = path.stat().st_size
    notes: list[str] = []
    rate = int(header["sampling_rate"])
    if rate <= 0:
        raise RecordError(f"{path}: sampling rate {rate} Hz in the ISHNE header is not valid")
    n_leads, n_samples, offset = _check_layout(path, header, file_size, rate, notes)
    note_ignored_fs(notes, fs, rate)
    resolution = header["resolution_nv"][:n_leads].astype(np.float64)
    if (resolution <= 0).any():
        raise RecordError(f"{path}: lead resolution(s) {resolution.astype(int).tolist()} nV "
                          "in the ISHNE header are not valid")

    _check_crc(path, head, offset, notes)

    raw = np.memmap(path, dtype="<i2", mode="r", offset=offset, shape=(n_samples, n_leads))
    signals = np.empty((n_samples, n_leads), dtype=np.float32)
    np.multiply(raw, (resolution * 1e-6).astype(np.float32), out=signals)  # nV -> mV
    del raw

    specs = [int(s) for s in header["lead_spec"][:n_leads]]
    lead_names = [LEAD_NAMES.get(code, f"ECG{i + 1}") for i, code in enumerate(specs)]
    for i, quality in enumerate(header["lead_quality"][:n_leads]):
        if int(quality) in _POOR_QUALITY:
            notes.append(f"lead {lead_names[i]}: the recorder reports "
                         f"{_POOR_QUALITY[int(quality)]}")

    start = _start_datetime(header)
    annotations = read_ishne_annotations(path.with_suffix(".ann"), rate, notes)
    return Record(
        name=path.stem,
        signals=signals,
        fs=float(rate),
        lead_names=lead_names,
        units=["mV"] * n_leads,
        source_path=path,
        start_datetime=start,
        annotations=annotations,
        format_name="ISHNE 1.0",
        notes=notes,
        patient=_patient_fields(header, start),
    )


def _check_crc(path: Path, head: bytes, offset: int, notes: list[str]) -> None:
    if offset - PREAMBLE_BYTES > CRC_MAX_BYTES:
        notes.append(f"ISHNE header checksum not checked (header of {offset} bytes)")
        return
    with open(path, "rb") as fh:
        fh.seek(PREAMBLE_BYTES)
        checked = fh.read(offset - PREAMBLE_BYTES)
    if crc_ccitt(checked) != int.from_bytes(head[8:10], "little"):
        notes.append("ISHNE header checksum does not match (the header may be damaged)")


def _start_datetime(header: np.void) -> _dt.datetime | None:
    day, clock = _date(header["record_date"]), _time(header["start_time"])
    if day is None or clock is None:
        return None
    return _dt.datetime.combine(day, clock)


def _patient_fields(header: np.void, start: _dt.datetime | None) -> dict[str, str]:
    """What the header says of the patient, in the keys ``Record.patient`` uses."""
    name = " ".join(part for part in (_text(header["first_name"]),
                                      _text(header["last_name"])) if part)
    return patient_fields(start, name=name, pid=_text(header["patient_id"]),
                          sex=_SEX.get(int(header["sex"]), ""), born=_date(header["birth_date"]))


def read_ishne_annotations(ann: Path, fs: float, notes: list[str]) -> Annotations | None:
    """The beats of the ``.ann`` file beside a recording, or None; an unreadable file is
    noted, not fatal (the signals are still worth reviewing)."""
    if not ann.is_file():
        return None
    try:
        header, _ = read_header(ann, ANN_MAGIC)
        start = HEADER_BYTES + max(0, int(header["var_block_size"]))
        with open(ann, "rb") as fh:
            fh.seek(start)
            first = np.frombuffer(fh.read(4), dtype="<u4")
            entries = np.frombuffer(fh.read(), dtype=np.dtype(
                [("label", "S1"), ("internal", "S1"), ("since_previous", "<u2")]))
    except (RecordError, OSError, ValueError) as exc:
        notes.append(f"ISHNE annotations {ann.name} unreadable: {exc}")
        return None
    if len(first) == 0:
        notes.append(f"ISHNE annotations {ann.name} hold no beats")
        return None
    if int(header["sampling_rate"]) not in (0, int(fs)):
        notes.append(f"ISHNE annotations {ann.name} state another sampling rate "
                     f"({int(header['sampling_rate'])} Hz); used as {fs:g} Hz")
    samples = int(first[0]) + np.cumsum(entries["since_previous"], dtype=np.int64)
    labels = [raw.decode("latin-1") for raw in entries["label"]]
    keep = [i for i, label in enumerate(labels) if label in _BEAT_SYMBOLS]
    if any(label == _TIMEOUT for label in labels):
        notes.append(f"ISHNE annotations {ann.name} contain gaps (timeouts)")
    return Annotations(
        sample=samples[keep].astype(np.int64),
        symbol=tuple(_BEAT_SYMBOLS[labels[i]] for i in keep),
        aux_note=("",) * len(keep),
        extension="ann",
    )
